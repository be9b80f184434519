import assert from "node:assert/strict";
import { equalizeHist, equalizeHistChannels, equalizeImages } from "../../src/data/equalize.ts";

Deno.test("equalizeHist: a single-level image stays at that level", () => {
  assert.deepEqual([...equalizeHist(new Uint8Array([37, 37, 37]))], [37, 37, 37]);
  assert.deepEqual([...equalizeHist(new Uint8Array([0, 0]))], [0, 0]);
});

Deno.test("equalizeHist: first level maps to 0, last to 255", () => {
  assert.deepEqual([...equalizeHist(new Uint8Array([10, 10, 200, 200]))], [0, 0, 255, 255]);
  assert.deepEqual([...equalizeHist(new Uint8Array([3, 9, 200]))], [0, 128, 255]);
});

Deno.test("equalizeHist: exact .5 ties round half to even (cvRound)", () => {
  // total - hist[first] = 102, so scale = 2.5 exactly: lut[v] = round(2.5 * cumulative).
  const one = (n: number, v: number) => new Array(n).fill(v);
  const src = new Uint8Array([0, 1, ...one(2, 2), ...one(2, 3), ...one(97, 4)]);
  const out = equalizeHist(src);
  assert.equal(out[1], 2); // 2.5 → 2 (half up would give 3)
  assert.equal(out[2], 8); // 7.5 → 8
  assert.equal(out[4], 12); // 12.5 → 12
  assert.equal(out[6], 255);
});

Deno.test("equalizeHistChannels / equalizeImages treat channels independently", () => {
  // 2×2 image with 2 channels: channel 0 = [5, 5, 5, 9], channel 1 constant 7.
  const img = new Uint8Array([5, 7, 5, 7, 5, 7, 9, 7]);
  const out = equalizeHistChannels(img, 2);
  assert.deepEqual([...out], [0, 7, 0, 7, 0, 7, 255, 7]);
  const batch = new Uint8Array([...img, ...img.map((v) => 255 - v)]);
  const eq = equalizeImages(batch, [2, 2, 2, 2]);
  assert.deepEqual([...eq.subarray(0, 8)], [...out]);
  assert.deepEqual([...eq.subarray(8)], [255, 248, 255, 248, 255, 248, 0, 248]);
  // in place
  equalizeImages(batch, [2, 2, 2, 2], batch);
  assert.deepEqual([...batch], [...eq]);
});
