import assert from "node:assert/strict";
import { join } from "node:path";
import { parseNpz } from "../../src/data/npz.ts";
import { npyHeader, NpzWriter } from "../../src/prepare/npz_writer.ts";

async function writeSample(path: string, zip64From?: number): Promise<void> {
  const w = await NpzWriter.create(path, { zip64From });
  await w.begin("images", "uint8", [3, 2, 2, 3]);
  for (let k = 0; k < 3; k++) {
    await w.write(Uint8Array.from({ length: 12 }, (_, i) => k * 12 + i));
  }
  await w.end();
  await w.begin("labels", "int64", [3]);
  await w.write(BigInt64Array.from([0n, 42n, 7n]));
  await w.end();
  await w.close();
}

Deno.test("npz writer: arrays written in chunks read back through the project's npz reader", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.npz");
    await writeSample(path);
    const arrays = parseNpz(await Deno.readFile(path), path);
    const images = arrays.get("images")!;
    assert.equal(images.dtype, "uint8");
    assert.deepEqual(images.shape, [3, 2, 2, 3]);
    assert.deepEqual([...images.data as Uint8Array], Array.from({ length: 36 }, (_, i) => i));
    const labels = arrays.get("labels")!;
    assert.equal(labels.dtype, "int64");
    assert.deepEqual([...labels.data as BigInt64Array], [0n, 42n, 7n]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.npz"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npz writer: zip64 records (forced from offset 0) read back the same arrays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSample(join(dir, "plain.npz"));
    await writeSample(join(dir, "z64.npz"), 0);
    const plain = parseNpz(await Deno.readFile(join(dir, "plain.npz")));
    const z64Bytes = await Deno.readFile(join(dir, "z64.npz"));
    const z64 = parseNpz(z64Bytes, "z64.npz");
    for (const k of ["images", "labels"]) assert.deepEqual(z64.get(k), plain.get(k));
    // the zip64 end record is there
    const view = new DataView(z64Bytes.buffer);
    let found = false;
    for (let i = 0; i + 4 <= z64Bytes.length; i++) {
      if (view.getUint32(i, true) === 0x06064b50) found = true;
    }
    assert.ok(found);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npz writer: the same data gives the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSample(join(dir, "a.npz"));
    await writeSample(join(dir, "b.npz"));
    assert.deepEqual(
      await Deno.readFile(join(dir, "a.npz")),
      await Deno.readFile(join(dir, "b.npz")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npz writer: abort removes the partial file and leaves an existing archive alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "train.npz");
    await Deno.writeTextFile(path, "earlier");
    const w = await NpzWriter.create(path);
    await w.begin("images", "uint8", [10]);
    await w.write(new Uint8Array(4));
    await w.abort();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["train.npz"]);
    assert.equal(await Deno.readTextFile(path), "earlier");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npz writer: too many or too few bytes for an array are refused by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = await NpzWriter.create(join(dir, "x.npz"));
    await w.begin("labels", "int64", [2]);
    await assert.rejects(
      w.write(new BigInt64Array(3)),
      /array `labels` given 24 bytes with 16 left/,
    );
    await w.write(new BigInt64Array(1));
    await assert.rejects(w.end(), /array `labels` ended 8 bytes short/);
    await w.abort();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npy header: NumPy's layout, padded to 64 bytes", () => {
  const h = npyHeader("uint8", [5, 32, 32, 3]);
  assert.equal(h.length % 64, 0);
  const text = new TextDecoder().decode(h.subarray(10));
  assert.match(
    text,
    /^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(5, 32, 32, 3\), \} *\n$/,
  );
  assert.match(new TextDecoder().decode(npyHeader("int64", [7])), /'shape': \(7,\)/);
});
