import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DATASET_NAMES,
  equalizeImages,
  gather,
  IDX_FILES,
  IMAGE_SHAPE,
  inferDataset,
  loadDataset,
} from "../../src/data/mod.ts";
import { modelForDataset } from "../../src/nn/registry.ts";
import { parseNpz } from "../../src/data/npz.ts";
import { fixturePath, FIXTURES, idxBytes, npyBytes, npzBytes, rejectsWith } from "./_helpers.ts";

type Entry = { images_shape: number[]; labels: number[]; equalized_pixel_sum?: number };
const manifest: Record<string, Entry> = JSON.parse(
  await Deno.readTextFile(new URL("npz/manifest.json", FIXTURES)),
);

const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);

Deno.test("loadDataset('gtsrb') gives the manifest's counts, equalized images", async () => {
  const d = await loadDataset("gtsrb", fixturePath("npz/gtsrb"));
  assert.equal(d.name, "gtsrb");
  assert.equal(d.numClasses, 43);
  assert.equal(d.pixelMax, 255);
  for (const [split, file] of [[d.train, "gtsrb/train.npz"], [d.test, "gtsrb/test.npz"]] as const) {
    const want = manifest[file];
    assert.equal(split.count, want.images_shape[0]);
    assert.deepEqual(split.shape, want.images_shape.slice(1));
    assert.deepEqual([...split.labels], want.labels);
    assert.equal(sum(split.images), want.equalized_pixel_sum);
  }
  const { x, y } = gather(d.test, new Int32Array([4, 0]), d.pixelMax);
  assert.deepEqual([...y], [28, 0]);
  const per = 32 * 32 * 3;
  assert.deepEqual([...x.subarray(per, per + 8)], [...d.test.images.subarray(0, 8)]);
});

Deno.test("loadDataset('flower') gives the manifest's counts, raw images", async () => {
  const dir = fixturePath("npz/flower");
  const d = await loadDataset("flower", new URL("npz/flower/", FIXTURES));
  assert.equal(d.numClasses, 17);
  assert.equal(d.pixelMax, 255);
  for (const [split, name] of [[d.train, "train"], [d.test, "test"]] as const) {
    const want = manifest[`flower/${name}.npz`];
    assert.equal(split.count, want.images_shape[0]);
    assert.deepEqual(split.shape, want.images_shape.slice(1));
    assert.deepEqual([...split.labels], want.labels);
    const raw = parseNpz(await Deno.readFile(join(dir, `${name}.npz`))).get("images")!;
    assert.deepEqual(split.images, raw.data);
  }
});

Deno.test("inferDataset tells GTSRB from Flower by image size", async () => {
  assert.equal(await inferDataset(fixturePath("npz/gtsrb")), "gtsrb");
  assert.equal(await inferDataset(fixturePath("npz/flower")), "flower");
  await rejectsWith(() => inferDataset("/nonexistent/rar-data"), "/nonexistent/rar-data");
});

Deno.test("GTSRB equalization at load matches equalizeImages on the raw archive", async () => {
  const path = fixturePath("npz/gtsrb/train.npz");
  const raw = parseNpz(await Deno.readFile(path)).get("images")!;
  const d = await loadDataset("gtsrb", fixturePath("npz/gtsrb"));
  const [n, h, w, c] = raw.shape;
  assert.deepEqual(d.train.images, equalizeImages(raw.data as Uint8Array, [n, h, w, c]));
});

Deno.test("npz datasets: missing, incomplete, corrupt and out-of-range files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const train = join(dir, "train.npz");
    const test = join(dir, "test.npz");
    await rejectsWith(
      () => loadDataset("gtsrb", dir),
      `${train} not found: GTSRB expects data_path to hold train.npz and test.npz with ` +
        "`images` (uint8 NHWC) and `labels`",
    );
    await rejectsWith(() => loadDataset("flower"), "Flower", "data_path");
    const images = npyBytes("|u1", [2, 32, 32, 3], new Uint8Array(6144).map((_, i) => i));
    const labels = (vals: number[]) =>
      npyBytes("<i8", [vals.length], BigInt64Array.from(vals.map(BigInt)));
    await Deno.writeFile(train, npzBytes({ images, labels: labels([1, 2]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "not found");
    await Deno.writeFile(test, npzBytes({ labels: labels([1, 2]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "`images` not found");
    const good = npzBytes({ images, labels: labels([1, 2]) }, false);
    await Deno.writeFile(test, good.subarray(0, good.length - 40));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "truncated");
    await Deno.writeFile(test, npzBytes({ images, labels: labels([1, 2, 3]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "count mismatch");
    await Deno.writeFile(test, npzBytes({ images, labels: labels([1, 43]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "label 43", "0 … 42");
    const fimages = npyBytes("<f4", [2, 32, 32, 3], new Float32Array(6144));
    await Deno.writeFile(test, npzBytes({ images: fimages, labels: labels([1, 2]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "`images` must be uint8 NHWC");
    const fortran = npyBytes("|u1", [2, 32, 32, 3], new Uint8Array(6144), { fortran: true });
    await Deno.writeFile(test, npzBytes({ images: fortran, labels: labels([1, 2]) }));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "`images`", "fortran_order");
    // uint8 and int32 labels are accepted too.
    const u8 = npyBytes("|u1", [2], new Uint8Array([42, 0]));
    await Deno.writeFile(test, npzBytes({ images, labels: u8 }));
    assert.deepEqual([...(await loadDataset("gtsrb", dir)).test.labels], [42, 0]);
    const i4 = npyBytes("<i4", [2], new Int32Array([16, 3]));
    await Deno.writeFile(test, npzBytes({ images, labels: i4 }));
    const g = await loadDataset("gtsrb", dir);
    assert.deepEqual([...g.test.labels], [16, 3]);
    assert.deepEqual(g.test.shape, [32, 32, 3]);
    const small = npyBytes("|u1", [2, 4, 4, 3], new Uint8Array(96));
    await Deno.writeFile(train, npzBytes({ images: small, labels: labels([1, 2]) }));
    await rejectsWith(() => inferDataset(dir), "train.npz", "cannot tell");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each dataset's image shape is its model's input shape", () => {
  for (const name of DATASET_NAMES) {
    assert.deepEqual([...IMAGE_SHAPE[name]], [...modelForDataset(name).inputShape], name);
  }
});

Deno.test("images of another size than the dataset's model takes are refused at load", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const train = join(dir, "train.npz");
    const test = join(dir, "test.npz");
    const npz = (h: number, w: number, c: number) =>
      npzBytes({
        images: npyBytes("|u1", [2, h, w, c], new Uint8Array(2 * h * w * c)),
        labels: npyBytes("|u1", [2], new Uint8Array([1, 2])),
      });
    // 128×128 data under dataset gtsrb (the ResNet would average over any size)
    await Deno.writeFile(train, npz(128, 128, 3));
    await Deno.writeFile(test, npz(128, 128, 3));
    await rejectsWith(
      () => loadDataset("gtsrb", dir),
      train,
      "[128, 128, 3]",
      "GTSRB model takes [32, 32, 3]",
    );
    assert.equal((await loadDataset("flower", dir)).test.count, 2);
    // the test split is checked too, and so are the channels
    await Deno.writeFile(train, npz(32, 32, 3));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "[128, 128, 3]", "[32, 32, 3]");
    await Deno.writeFile(test, npz(32, 32, 1));
    await rejectsWith(() => loadDataset("gtsrb", dir), test, "[32, 32, 1]", "[32, 32, 3]");
    await rejectsWith(() => loadDataset("flower", dir), train, "[32, 32, 3]", "[128, 128, 3]");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Fashion-MNIST IDX images of another size than 28×28 are refused at load", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const put = (base: string, dims: number[]) =>
      Deno.writeFile(join(dir, base), idxBytes(dims, new Uint8Array(dims.reduce((a, b) => a * b))));
    await put(IDX_FILES.trainImages, [3, 32, 32]);
    await put(IDX_FILES.trainLabels, [3]);
    await put(IDX_FILES.testImages, [2, 28, 28]);
    await put(IDX_FILES.testLabels, [2]);
    await rejectsWith(
      () => loadDataset("fashion_mnist", dir),
      join(dir, IDX_FILES.trainImages),
      "[32, 32, 1]",
      "[28, 28, 1]",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
