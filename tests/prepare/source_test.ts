import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync, zipSync } from "fflate";
import { listSource } from "../../src/prepare/source.ts";
import { tarBytes } from "./_build.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("source: folders, zip and tar.gz archives list their files by relative path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "a/b"), { recursive: true });
    await Deno.writeTextFile(join(dir, "a/b/plain.txt"), "plain");
    await Deno.writeFile(join(dir, "a/set.zip"), zipSync({ "x/in_zip.txt": enc("zipped") }));
    await Deno.writeFile(join(dir, "t.tgz"), gzipSync(tarBytes([["y/in_tar.txt", enc("tarred")]])));
    await Deno.writeFile(join(dir, "other.zip"), enc("not opened"));
    const files = await listSource(dir, (b) => b !== "other.zip");
    assert.deepEqual(files.map((f) => f.path), [
      "a/b/plain.txt",
      "a/set.zip/x/in_zip.txt",
      "other.zip",
      "t.tgz/y/in_tar.txt",
    ]);
    const text = await Promise.all(
      files.map(async (f) => new TextDecoder().decode(await f.read())),
    );
    assert.deepEqual(text, ["plain", "zipped", "not opened", "tarred"]);
    assert.equal(files[1].label, `${join(dir, "a/set.zip")}: x/in_zip.txt`);
    const one = await listSource(join(dir, "t.tgz"));
    assert.deepEqual(one.map((f) => f.path), ["t.tgz/y/in_tar.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("source: a missing path or a file that is no archive is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(listSource(join(dir, "nope")), /nope: not found/);
    await Deno.writeTextFile(join(dir, "train.p"), "x");
    await assert.rejects(
      listSource(join(dir, "train.p")),
      /train\.p: not a zip, tar or gzip-compressed tar archive: give --src .* the folder/,
    );
    await Deno.writeFile(join(dir, "bad.zip"), new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]));
    await assert.rejects(listSource(dir), /bad\.zip: corrupt or truncated zip archive/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
