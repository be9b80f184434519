import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { OPTIONS, taskPermissions } from "../../src/cli/permissions.ts";
import { writeGtsrbFolder } from "./_build.ts";
import { runTask } from "../cli/_task.ts";

const root = new URL("../../", import.meta.url);
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;

Deno.test("deno.json: prepare runs through the launcher with no unscoped permission", () => {
  const flags = tasks.prepare.split(/\s+/).filter((w) => w.startsWith("-"));
  assert.deepEqual(flags, ["--no-prompt", "--allow-read", "--allow-run=deno"]);
  assert.match(tasks.prepare, /^deno run .* src\/cli\/launch\.ts prepare$/);
});

Deno.test("prepare permissions: read --src, write --out (default data); fashion_mnist only reads", async () => {
  const p = await taskPermissions("prepare", [
    "gtsrb",
    "--src",
    "dl",
    "--out",
    "d/g",
    "--seed",
    "3",
  ]);
  assert.deepEqual(p.write, [resolve("d/g")]);
  assert.deepEqual(p.read, [resolve("dl"), resolve("d/g")]);
  assert.deepEqual(p.sys, []);
  const q = await taskPermissions("prepare", ["flower", "--src", "17flowers.tgz"]);
  assert.deepEqual(q.write, [resolve("data")]);
  const f = await taskPermissions("prepare", ["fashion_mnist", "--src", "fm"]);
  assert.deepEqual(f.write, []);
  assert.deepEqual(f.read, [resolve("fm")]);
  const none = await taskPermissions("prepare", ["gtsrb", "--bogus"]);
  assert.deepEqual([none.read, none.write], [[], []]);
});

async function help(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      new URL("src/cli/prepare.ts", root).pathname,
      "--help",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  return [...text.matchAll(/^\s+((?:-\w, )?--[\w-]+(?: <[^>]+>)?)/gm)].map((m) => m[1]).sort();
}

Deno.test("prepare --help lists exactly the options permissions.ts parses", async () => {
  assert.deepEqual(await help(), [...OPTIONS.prepare].sort());
});

Deno.test("deno task prepare: gtsrb through the launcher writes the archives and a summary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = join(dir, "src");
    await writeGtsrbFolder(src, () => 1, 43);
    const out = join(dir, "out");
    const run = await runTask("prepare", [
      "gtsrb",
      "--src",
      src,
      "--out",
      out,
      "--per-class",
      "2",
      "--seed",
      "4",
    ]);
    const { out: stdout, err: stderr } = run;
    assert.equal(run.code, 0, stderr);
    assert.match(stdout, /gtsrb from the official archives/);
    assert.match(stdout, /train: 86 images \(43 originals \+ 43 augmented\)/);
    assert.match(stdout, /per class 0:2 1:2 /);
    assert.match(stdout, /test: 43 images/);
    assert.match(stdout, /NumPy: np\.load\(".*train\.npz"\)\["images"\]/);
    assert.match(stderr, /write train: 86\/86/);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "test.npz",
      "train.npz",
    ]);
    const again = await runTask("prepare", ["gtsrb", "--src", src, "--out", out]);
    assert.equal(again.code, 1);
    assert.match(again.err, /train\.npz exists: .*--overwrite/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
