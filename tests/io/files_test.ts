import assert from "node:assert/strict";
import {
  appendFileBytes,
  atomicWrite,
  CHECKPOINT_INDEX,
  CheckpointStore,
  moveAside,
} from "../../src/io/files.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "files_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("atomicWrite: creates and replaces content, leaves no temp files", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/state.json`;
    await atomicWrite(path, '{"a":1}');
    assert.equal(await Deno.readTextFile(path), '{"a":1}');
    await atomicWrite(path, Uint8Array.of(1, 2, 3));
    assert.deepEqual(await Deno.readFile(path), Uint8Array.of(1, 2, 3));
    const big = new Uint8Array(3 << 20).map((_, i) => i * 7);
    await atomicWrite(path, big);
    assert.deepEqual(await Deno.readFile(path), big);
    await atomicWrite(path, "");
    assert.equal(await Deno.readTextFile(path), "");
    assert.deepEqual(await names(dir), ["state.json"]);
  });
});

Deno.test("atomicWrite: concurrent writers each produce a whole file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/x.bin`;
    const contents = Array.from({ length: 8 }, (_, k) => new Uint8Array(100_000).fill(k));
    await Promise.all(contents.map((c) => atomicWrite(path, c)));
    const got = await Deno.readFile(path);
    assert.equal(got.length, 100_000);
    assert.ok(got.every((b) => b === got[0]));
    assert.deepEqual(await names(dir), ["x.bin"]);
  });
});

Deno.test("atomicWrite: missing directory throws NotFound and creates nothing", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/keep.txt`, "old");
    await assert.rejects(atomicWrite(`${dir}/missing/keep.txt`, "new"), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(`${dir}/keep.txt`), "old");
    assert.deepEqual(await names(dir), ["keep.txt"]);
  });
});

Deno.test("atomicWrite: failure after writing (sync) leaves the old file and no temp", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ckpt.bin`;
    await atomicWrite(path, "old content");
    const proto = Deno.FsFile.prototype;
    const original = proto.syncData;
    proto.syncData = () => Promise.reject(new Error("disk on fire"));
    try {
      await assert.rejects(atomicWrite(path, "new content"), /disk on fire/);
    } finally {
      proto.syncData = original;
    }
    assert.equal(await Deno.readTextFile(path), "old content");
    assert.deepEqual(await names(dir), ["ckpt.bin"]);
  });
});

Deno.test("atomicWrite: failed rename (target is a directory) cleans up its temp file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/inside.txt`, "x");
    await assert.rejects(atomicWrite(`${dir}/target`, "data"));
    assert.deepEqual(await names(dir), ["target"]);
    assert.equal(await Deno.readTextFile(`${dir}/target/inside.txt`), "x");
  });
});

Deno.test("appendFileBytes: creates then appends strings and bytes", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/metrics.jsonl`;
    await appendFileBytes(path, '{"step":1}\n');
    await appendFileBytes(path, new TextEncoder().encode('{"step":2}\n'));
    await appendFileBytes(path, new Uint8Array(0));
    assert.equal(await Deno.readTextFile(path), '{"step":1}\n{"step":2}\n');
    await assert.rejects(appendFileBytes(`${dir}/nope/m.jsonl`, "x"), Deno.errors.NotFound);
  });
});

const ckptBytes = (step: number) => new TextEncoder().encode(`weights@${step}`);

Deno.test("CheckpointStore: keeps exactly the newest 3 after 5 saves", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/ckpts`; // created by the first save
    const store = new CheckpointStore(dir);
    assert.equal(await store.latest(), null);
    assert.deepEqual(await store.list(), []);
    for (const step of [100, 200, 300, 400, 500]) {
      const path = await store.save(step, ckptBytes(step));
      assert.equal(path, `${dir}/ckpt-${String(step).padStart(8, "0")}.safetensors`);
    }
    assert.deepEqual(await names(dir), [
      "checkpoint.json",
      "ckpt-00000300.safetensors",
      "ckpt-00000400.safetensors",
      "ckpt-00000500.safetensors",
    ]);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/${CHECKPOINT_INDEX}`));
    assert.equal(typeof index.run, "string");
    assert.deepEqual({ ...index, run: undefined }, {
      run: undefined,
      latest: "ckpt-00000500.safetensors",
      all: ["ckpt-00000300.safetensors", "ckpt-00000400.safetensors", "ckpt-00000500.safetensors"],
    });
    assert.deepEqual(await store.latest(), {
      step: 500,
      path: `${dir}/ckpt-00000500.safetensors`,
    });
    assert.deepEqual((await store.list()).map((c) => c.step), [300, 400, 500]);
    const latest = await store.latest();
    assert.equal(new TextDecoder().decode(await Deno.readFile(latest!.path)), "weights@500");
  });
});

Deno.test("CheckpointStore: concurrent saves are serialized", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, 2);
    await Promise.all([1, 2, 3, 4].map((s) => store.save(s, ckptBytes(s))));
    assert.deepEqual((await store.list()).map((c) => c.step), [3, 4]);
    assert.equal((await store.latest())?.step, 4);
  });
});

Deno.test("CheckpointStore: latest() falls back when the index is missing or corrupt", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir);
    for (const step of [1, 2, 3]) await store.save(step, ckptBytes(step));
    const index = `${dir}/${CHECKPOINT_INDEX}`;
    const want = { step: 3, path: `${dir}/ckpt-00000003.safetensors` };

    await Deno.remove(index);
    assert.deepEqual(await store.latest(), want);

    for (
      const corrupt of ["{not json", "null", '{"latest": 7}', '{"latest": "../../etc/passwd"}']
    ) {
      await Deno.writeTextFile(index, corrupt);
      assert.deepEqual(await store.latest(), want, corrupt);
    }

    // The index's latest file no longer exists: the newest listed one that does.
    await atomicWrite(
      index,
      JSON.stringify({
        run: store.run,
        latest: "ckpt-00000003.safetensors",
        all: ["ckpt-00000002.safetensors"],
      }),
    );
    await store.save(4, ckptBytes(4));
    await Deno.remove(`${dir}/ckpt-00000004.safetensors`);
    assert.deepEqual(await store.latest(), want);

    // A valid index is authoritative: it names step 3 although a step-9 file appears.
    await atomicWrite(index, JSON.stringify({ latest: "ckpt-00000003.safetensors", all: [] }));
    await Deno.writeFile(`${dir}/ckpt-00000009.safetensors`, ckptBytes(9));
    assert.deepEqual(await store.latest(), want);
  });
});

Deno.test("CheckpointStore: ignores temp files and unrelated names", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, 3);
    await Deno.writeFile(`${dir}/.ckpt-00000099.safetensors.tmp-abcdef`, ckptBytes(99));
    await Deno.writeFile(`${dir}/ckpt-00000098.safetensors.partial`, ckptBytes(98));
    await Deno.writeFile(`${dir}/ckpt-42.safetensors`, ckptBytes(42));
    await Deno.writeTextFile(`${dir}/notes.txt`, "hi");
    await Deno.mkdir(`${dir}/ckpt-00000097.safetensors`); // a directory, not a checkpoint
    assert.equal(await store.latest(), null);
    for (const step of [1, 2, 3, 4]) await store.save(step, ckptBytes(step));
    assert.deepEqual((await store.list()).map((c) => c.step), [2, 3, 4]);
    await Deno.remove(`${dir}/${CHECKPOINT_INDEX}`);
    assert.equal((await store.latest())?.step, 4);
    // Foreign files are left alone.
    assert.deepEqual(await names(dir), [
      ".ckpt-00000099.safetensors.tmp-abcdef",
      "ckpt-00000002.safetensors",
      "ckpt-00000003.safetensors",
      "ckpt-00000004.safetensors",
      "ckpt-00000097.safetensors",
      "ckpt-00000098.safetensors.partial",
      "ckpt-42.safetensors",
      "notes.txt",
    ]);
  });
});

Deno.test("CheckpointStore: steps beyond 8 digits, re-saving a step, invalid arguments", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, 2);
    await store.save(99_999_999, ckptBytes(1));
    const p = await store.save(123_456_789, ckptBytes(2));
    assert.equal(p, `${dir}/ckpt-123456789.safetensors`);
    assert.equal((await store.latest())?.step, 123_456_789);
    await store.save(123_456_789, ckptBytes(3));
    assert.equal(await Deno.readTextFile(p), "weights@3");
    assert.deepEqual((await store.list()).map((c) => c.step), [99_999_999, 123_456_789]);
    await assert.rejects(store.save(-1, ckptBytes(0)), RangeError);
    await assert.rejects(store.save(1.5, ckptBytes(0)), RangeError);
    assert.throws(() => new CheckpointStore(dir, 0), RangeError);
  });
});

Deno.test("CheckpointStore: a failed save deletes nothing already saved", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, 2);
    await store.save(1, ckptBytes(1));
    await store.save(2, ckptBytes(2));
    const proto = Deno.FsFile.prototype;
    const original = proto.syncData;
    proto.syncData = () => Promise.reject(new Error("no space left"));
    try {
      await assert.rejects(store.save(3, ckptBytes(3)), /no space left/);
    } finally {
      proto.syncData = original;
    }
    assert.deepEqual(await names(dir), [
      "checkpoint.json",
      "ckpt-00000001.safetensors",
      "ckpt-00000002.safetensors",
    ]);
    assert.equal((await store.latest())?.step, 2);
    // The store still works afterwards.
    await store.save(3, ckptBytes(3));
    assert.deepEqual((await store.list()).map((c) => c.step), [2, 3]);
  });
});

/** Writes an index and checkpoint files as an earlier run (another process) left them. */
async function earlierRun(dir: string, steps: number[], run = "earlier-run"): Promise<void> {
  const name = (s: number) => `ckpt-${String(s).padStart(8, "0")}.safetensors`;
  for (const s of steps) await Deno.writeFile(`${dir}/${name(s)}`, ckptBytes(s));
  await Deno.writeTextFile(
    `${dir}/${CHECKPOINT_INDEX}`,
    JSON.stringify({ run, latest: name(steps[steps.length - 1]), all: steps.map(name) }),
  );
}

Deno.test("CheckpointStore: a save below the listed steps keeps the file just written as latest", async () => {
  await withTempDir(async (dir) => {
    await earlierRun(dir, [24600, 24900, 25000]);
    const store = new CheckpointStore(dir);
    const path = await store.save(300, ckptBytes(300));
    assert.equal(path, `${dir}/ckpt-00000300.safetensors`);
    assert.equal(await Deno.readTextFile(path), "weights@300");
    assert.deepEqual(await store.latest(), { step: 300, path });
    const index = JSON.parse(await Deno.readTextFile(`${dir}/${CHECKPOINT_INDEX}`));
    assert.equal(index.latest, "ckpt-00000300.safetensors");
    assert.deepEqual(index.all, [
      "ckpt-00024900.safetensors",
      "ckpt-00025000.safetensors",
      "ckpt-00000300.safetensors",
    ]);
  });
});

Deno.test("CheckpointStore: a store of another run refuses to save and touches nothing", async () => {
  await withTempDir(async (dir) => {
    await earlierRun(dir, [24600, 24900, 25000], "run-a");
    const before = await names(dir);
    const store = new CheckpointStore(dir, 3, "run-b");
    await assert.rejects(store.save(300, ckptBytes(300)), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof TypeError), String(e));
      assert.ok(e.message.includes(dir), e.message);
      assert.match(e.message, /run-a/);
      assert.match(e.message, /ckpt-00025000\.safetensors/);
      return true;
    });
    assert.deepEqual(await names(dir), before);
    assert.equal((await store.latest())?.step, 25000);
  });
});

Deno.test("CheckpointStore: a file the index does not list never becomes latest and is never deleted", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, 2);
    await store.save(1, ckptBytes(1));
    await store.save(2, ckptBytes(2));
    // left by a crash between the checkpoint's rename and the index update, or a stray copy
    await Deno.writeFile(`${dir}/ckpt-00000900.safetensors`, ckptBytes(900));
    assert.equal((await store.latest())?.step, 2);
    for (const step of [3, 4, 5]) {
      await store.save(step, ckptBytes(step));
      assert.equal((await store.latest())?.step, step);
    }
    assert.deepEqual(await names(dir), [
      "checkpoint.json",
      "ckpt-00000004.safetensors",
      "ckpt-00000005.safetensors",
      "ckpt-00000900.safetensors",
    ]);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/${CHECKPOINT_INDEX}`));
    assert.deepEqual(index.all, ["ckpt-00000004.safetensors", "ckpt-00000005.safetensors"]);
    // a valid index whose files are all gone names no checkpoint; the stray is not promoted
    await Deno.remove(`${dir}/ckpt-00000004.safetensors`);
    await Deno.remove(`${dir}/ckpt-00000005.safetensors`);
    assert.equal(await store.latest(), null);
  });
});

/** A loader that accepts only `weights@<step>` files. */
function strictLoad(bytes: Uint8Array, entry: { step: number; path: string }): number {
  const text = new TextDecoder().decode(bytes);
  if (text !== `weights@${entry.step}`) throw new Error(`damaged content "${text}"`);
  return entry.step;
}

Deno.test("CheckpointStore.loadLatest: falls back past damaged and missing files with a warning each", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir);
    for (const step of [1, 2, 3, 4]) await store.save(step, ckptBytes(step));
    await Deno.writeFile(`${dir}/ckpt-00000004.safetensors`, ckptBytes(4).subarray(0, 5));
    await Deno.remove(`${dir}/ckpt-00000003.safetensors`);
    const warnings: string[] = [];
    const got = await store.loadLatest(strictLoad, (m) => warnings.push(m));
    assert.deepEqual(got, {
      entry: { step: 2, path: `${dir}/ckpt-00000002.safetensors` },
      value: 2,
    });
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.ok(warnings[0].includes(`${dir}/ckpt-00000004.safetensors`), warnings[0]);
    assert.match(warnings[0], /damaged content/);
    assert.ok(warnings[1].includes(`${dir}/ckpt-00000003.safetensors`), warnings[1]);
    assert.match(warnings[1], /missing|not found/i);
    // nothing was deleted or rewritten
    assert.equal((await store.latest())?.step, 4);
    // an error that is not the file's fault stops the search at once
    class Fault extends Error {}
    let calls = 0;
    await assert.rejects(
      store.loadLatest(
        () => {
          calls++;
          throw new Fault("device lost");
        },
        () => {},
        { fatal: (e) => e instanceof Fault },
      ),
      Fault,
    );
    assert.equal(calls, 1);
  });
});

Deno.test("CheckpointStore.loadLatest: an error naming every file tried when none loads; null when none is listed", async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir);
    assert.equal(await store.loadLatest(strictLoad), null);
    for (const step of [1, 2]) await store.save(step, ckptBytes(step));
    for (const step of [1, 2]) {
      await Deno.writeTextFile(`${dir}/ckpt-0000000${step}.safetensors`, "garbage");
    }
    await assert.rejects(store.loadLatest(strictLoad, () => {}), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes(dir), e.message);
      assert.ok(e.message.includes(`${dir}/ckpt-00000001.safetensors`), e.message);
      assert.ok(e.message.includes(`${dir}/ckpt-00000002.safetensors`), e.message);
      assert.match(e.message, /damaged content/);
      return true;
    });
  });
});

Deno.test("moveAside: moves the named files into previous/<UTC timestamp>/ and deletes nothing", async () => {
  await withTempDir(async (dir) => {
    await earlierRun(dir, [24900, 25000]);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, '{"step":0}\n');
    await Deno.writeTextFile(`${dir}/keep.txt`, "mine");
    const moved = [CHECKPOINT_INDEX, "ckpt-00024900.safetensors", "ckpt-00025000.safetensors"];
    const when = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
    const to = await moveAside(dir, [...moved, "metrics.jsonl", "absent.json"], when);
    assert.equal(to, `${dir}/previous/20240506T070809Z`);
    assert.deepEqual(await names(dir), ["keep.txt", "previous"]);
    assert.deepEqual(await names(to), [...moved, "metrics.jsonl"].sort());
    assert.equal(await Deno.readTextFile(`${to}/ckpt-00025000.safetensors`), "weights@25000");
    // a second move in the same second gets its own folder
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, '{"step":1}\n');
    const again = await moveAside(dir, ["metrics.jsonl"], when);
    assert.notEqual(again, to);
    assert.equal(await Deno.readTextFile(`${again}/metrics.jsonl`), '{"step":1}\n');
    assert.equal(await Deno.readTextFile(`${to}/metrics.jsonl`), '{"step":0}\n');
  });
});
