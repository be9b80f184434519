import assert from "node:assert/strict";
import {
  appendFileBytes,
  atomicWrite,
  CHECKPOINT_INDEX,
  CheckpointStore,
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
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/${CHECKPOINT_INDEX}`)), {
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

    // The index names a file that no longer exists.
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
