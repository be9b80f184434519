import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "fflate";
import {
  IDX_FILES,
  inferDataset,
  loadDataset,
  parseIdx,
  parseIdxImages,
  parseIdxLabels,
  parseIdxPair,
  readIdxFile,
} from "../../src/data/mod.ts";
import { concatBytes, idxBytes, rejectsWith, throwsWith } from "./_helpers.ts";

function sample(count: number, rows: number, cols: number, salt: number) {
  const images = new Uint8Array(count * rows * cols).map((_, i) => (i * 31 + salt) & 255);
  const labels = new Uint8Array(count).map((_, i) => (i * 3 + salt) % 10);
  return {
    images,
    labels,
    imageFile: idxBytes([count, rows, cols], images),
    labelFile: idxBytes([count], labels),
  };
}

Deno.test("IDX: images and labels parse, plain and gzip", () => {
  const s = sample(3, 4, 5, 1);
  for (const gz of [false, true]) {
    const im = parseIdxImages(gz ? gzipSync(s.imageFile) : s.imageFile, "i");
    assert.equal(im.count, 3);
    assert.equal(im.rows, 4);
    assert.equal(im.cols, 5);
    assert.deepEqual([...im.data], [...s.images]);
    const lb = parseIdxLabels(gz ? gzipSync(s.labelFile) : s.labelFile, "l");
    assert.deepEqual([...lb], [...s.labels]);
  }
  assert.deepEqual(parseIdx(s.imageFile).dims, [3, 4, 5]);
});

Deno.test("IDX: corrupt files → errors naming the file and the problem", () => {
  const s = sample(3, 4, 5, 1);
  throwsWith(() => parseIdxImages(s.labelFile, "/x/imgs"), "/x/imgs", "bad magic 0x00000801");
  throwsWith(() => parseIdxLabels(s.imageFile, "/x/labs"), "/x/labs", "bad magic 0x00000803");
  const bad = s.imageFile.slice();
  bad[2] = 0x0d; // float32 type code
  throwsWith(() => parseIdx(bad, "/x/f"), "/x/f", "bad magic");
  throwsWith(() => parseIdxImages(s.imageFile.subarray(0, 30), "/x/t"), "/x/t", "truncated");
  throwsWith(() => parseIdxImages(s.imageFile.subarray(0, 9), "/x/h"), "/x/h", "truncated");
  throwsWith(() => parseIdxImages(s.imageFile.subarray(0, 2), "/x/m"), "/x/m", "truncated");
  const gz = gzipSync(s.imageFile);
  throwsWith(() => parseIdxImages(gz.subarray(0, gz.length - 12), "/x/g.gz"), "/x/g.gz", "gzip");
  throwsWith(
    () => parseIdxPair(s.imageFile, idxBytes([2], new Uint8Array(2)), "/x/i", "/x/l"),
    "/x/l",
    "count mismatch",
    "/x/i",
  );
});

async function writeFashion(dir: string, gz: boolean, train: number, test: number) {
  const tr = sample(train, 28, 28, 5);
  const te = sample(test, 28, 28, 9);
  const put = (name: string, bytes: Uint8Array) =>
    Deno.writeFile(join(dir, gz ? name + ".gz" : name), gz ? gzipSync(bytes) : bytes);
  await put(IDX_FILES.trainImages, tr.imageFile);
  await put(IDX_FILES.trainLabels, tr.labelFile);
  await put(IDX_FILES.testImages, te.imageFile);
  await put(IDX_FILES.testLabels, te.labelFile);
  return { tr, te };
}

Deno.test("loadDataset('fashion_mnist') reads plain and .gz IDX files from data_path", async () => {
  for (const gz of [false, true]) {
    const dir = await Deno.makeTempDir();
    try {
      // Fewer than 55000 training images: all of them are used for training.
      const { tr, te } = await writeFashion(dir, gz, 7, 4);
      const d = await loadDataset("fashion_mnist", dir);
      assert.equal(d.name, "fashion_mnist");
      assert.equal(d.numClasses, 10);
      assert.equal(d.pixelMax, 1);
      assert.equal(d.train.count, 7);
      assert.equal(d.test.count, 4);
      assert.deepEqual(d.train.shape, [28, 28, 1]);
      assert.deepEqual([...d.train.images], [...tr.images]);
      assert.deepEqual([...d.train.labels], [...tr.labels]);
      assert.deepEqual([...d.test.images], [...te.images]);
      assert.deepEqual([...d.test.labels], [...te.labels]);
      assert.equal(await inferDataset(dir), "fashion_mnist");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("loadDataset('fashion_mnist'): missing and corrupt files are named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejectsWith(
      () => loadDataset("fashion_mnist", dir),
      join(dir, IDX_FILES.trainImages),
      "not found",
      "Fashion-MNIST expects data_path to hold",
    );
    await writeFashion(dir, false, 3, 2);
    const testImages = join(dir, IDX_FILES.testImages);
    const bytes = await Deno.readFile(testImages);
    await Deno.writeFile(testImages, bytes.subarray(0, bytes.length - 1));
    await rejectsWith(() => loadDataset("fashion_mnist", dir), testImages, "truncated");
    bytes[3] = 1;
    await Deno.writeFile(testImages, bytes);
    await rejectsWith(() => loadDataset("fashion_mnist", dir), testImages, "bad magic");
    await rejectsWith(() => readIdxFile(join(dir, "nope")), join(dir, "nope"), "not found");
    const labels = join(dir, IDX_FILES.trainLabels);
    await Deno.writeFile(labels, idxBytes([3], new Uint8Array([1, 10, 2])));
    await rejectsWith(() => loadDataset("fashion_mnist", dir), labels, "label 10");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Writes the gzip trailer's CRC-32 and ISIZE words of the member ending at `end`. */
function patchTrailer(gz: Uint8Array, fields: { crc?: number; size?: number }, end = gz.length) {
  const out = gz.slice();
  const view = new DataView(out.buffer);
  if (fields.crc !== undefined) view.setUint32(end - 8, fields.crc, true);
  if (fields.size !== undefined) view.setUint32(end - 4, fields.size, true);
  return out;
}

Deno.test("IDX gzip: a trailer declaring 4 GiB is an error, not a 4 GiB buffer", () => {
  const s = sample(8, 3, 2, 4);
  const bomb = patchTrailer(gzipSync(s.imageFile), { size: 0xffffffff });
  assert.ok(bomb.length < 100, `${bomb.length} bytes`);
  throwsWith(() => parseIdxImages(bomb, "/x/bomb.gz"), "/x/bomb.gz", "size");
});

Deno.test("IDX gzip: a wrong CRC-32 in the trailer is an error naming the file", () => {
  const s = sample(3, 4, 5, 2);
  const gz = gzipSync(s.imageFile);
  const crc = new DataView(gz.buffer).getUint32(gz.length - 8, true);
  const bad = patchTrailer(gz, { crc: (crc ^ 0x10) >>> 0 });
  throwsWith(() => parseIdxImages(bad, "/x/crc.gz"), "/x/crc.gz", "CRC-32");
  // A flipped data bit that still inflates is caught by the same check.
  const flipped = gz.slice();
  flipped[gz.length - 9] ^= 0x01;
  throwsWith(() => parseIdx(flipped, "/x/flip.gz"), "/x/flip.gz");
});

Deno.test("IDX gzip: concatenated members read as one stream, as gzip -d does", () => {
  const s = sample(6, 4, 5, 3);
  for (const cut of [1, 7, 16, 17, 60]) {
    const two = concatBytes(
      gzipSync(s.imageFile.subarray(0, cut)),
      gzipSync(s.imageFile.subarray(cut)),
    );
    const im = parseIdxImages(two, `two-${cut}.gz`);
    assert.deepEqual([im.count, im.rows, im.cols], [6, 4, 5]);
    assert.deepEqual([...im.data], [...s.images]);
  }
  const three = concatBytes(
    gzipSync(s.labelFile.subarray(0, 5)),
    gzipSync(new Uint8Array(0)),
    gzipSync(s.labelFile.subarray(5)),
  );
  assert.deepEqual([...parseIdxLabels(three, "three.gz")], [...s.labels]);
});

Deno.test("IDX gzip: a wrong size, a bad member or trailing bytes are errors naming the file", () => {
  const s = sample(3, 4, 5, 2);
  const gz = gzipSync(s.imageFile);
  const size = new DataView(gz.buffer).getUint32(gz.length - 4, true);
  throwsWith(() => parseIdx(patchTrailer(gz, { size: size + 1 }), "/x/s.gz"), "/x/s.gz", "size");
  throwsWith(
    () => parseIdx(concatBytes(gz, new Uint8Array([1, 2, 3])), "/x/t.gz"),
    "/x/t.gz",
    "after gzip member 1",
  );
  throwsWith(
    () => parseIdx(concatBytes(gz, gz.subarray(0, 12)), "/x/m.gz"),
    "/x/m.gz",
    "member 2",
  );
  throwsWith(() => parseIdx(gz.subarray(0, gz.length - 3), "/x/c.gz"), "/x/c.gz", "truncated");
  const method = gz.slice();
  method[2] = 7;
  throwsWith(() => parseIdx(method, "/x/cm.gz"), "/x/cm.gz", "compression method 7");
});

Deno.test("IDX gzip: dims the compressed data cannot hold are refused before any allocation", () => {
  // 2^32 - 1 images of 255 × 255 bytes from a 60-byte stream.
  const head = idxBytes([0xffffffff, 255, 255], new Uint8Array(0));
  const gz = gzipSync(head);
  throwsWith(() => parseIdxImages(gz, "/x/dims.gz"), "/x/dims.gz", "can hold at most");
  // 40000 zero bytes declared, and the stream holds them: a legitimate 1000:1 file loads.
  const zeros = idxBytes([40000], new Uint8Array(40000));
  const z = gzipSync(zeros, { level: 9 });
  assert.ok(z.length < 200);
  assert.equal(parseIdxLabels(z, "z.gz").length, 40000);
});
