import assert from "node:assert/strict";
import {
  augment,
  augmentMap,
  drawParams,
  homography,
  MAX_SHIFT,
  projectiveWarp,
  rotation,
  translation,
  warp,
} from "../../src/prepare/augment.ts";
import { crop, resize, type RgbImage } from "../../src/prepare/image.ts";
import { SeededRandom } from "../../src/prepare/random.ts";

/** A pattern with a distinct value in every pixel and channel. */
function pattern(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = (y * w + x) * 3;
      data[q] = x * 7, data[q + 1] = y * 7, data[q + 2] = (x * 13 + y * 29) % 256;
    }
  }
  return { width: w, height: h, data };
}

function px(img: RgbImage, x: number, y: number): number[] {
  const q = (y * img.width + x) * 3;
  return [...img.data.subarray(q, q + 3)];
}

Deno.test("translation moves content by whole pixels and repeats the edge", () => {
  const img = pattern(32, 32);
  const out = warp(img, translation(2, -1));
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const sx = Math.min(Math.max(x - 2, 0), 31), sy = Math.min(Math.max(y + 1, 0), 31);
      assert.deepEqual(px(out, x, y), px(img, sx, sy), `pixel (${x}, ${y})`);
    }
  }
});

Deno.test("a half-pixel translation averages neighbours (bilinear)", () => {
  const img = pattern(8, 8);
  const out = warp(img, translation(0.5, 0));
  // output x samples input x − 0.5: the mean of columns x − 1 and x
  assert.deepEqual(px(out, 4, 3), [Math.round((3 * 7 + 4 * 7) / 2), 21, px(out, 4, 3)[2]]);
  assert.equal(px(out, 4, 3)[2], Math.round((px(img, 3, 3)[2] + px(img, 4, 3)[2]) / 2));
});

Deno.test("a 90° rotation turns the content counter-clockwise about the centre", () => {
  const img = pattern(9, 9);
  const out = warp(img, rotation(90, 9, 9));
  for (let y = 0; y < 9; y++) {
    for (let x = 0; x < 9; x++) {
      // output (x, y) samples input (cx − (y − cy), cy + (x − cx)), centre (4, 4)
      assert.deepEqual(px(out, x, y), px(img, 8 - y, x), `pixel (${x}, ${y})`);
    }
  }
  // the right edge's middle pixel is now at the top middle
  assert.deepEqual(px(out, 4, 0), px(img, 8, 4));
  assert.deepEqual(warp(img, rotation(0, 9, 9)), img);
});

Deno.test("the projective warp maps the moved corners to the image corners; no move is the identity", () => {
  const offsets = [1.5, -2, 0.5, 3, -1, 2.5, 0, -0.75];
  const m = projectiveWarp(offsets, 32, 32);
  const apply = (x: number, y: number) => {
    const z = m[6] * x + m[7] * y + m[8];
    return [(m[0] * x + m[1] * y + m[2]) / z, (m[3] * x + m[4] * y + m[5]) / z];
  };
  const moved = [[-2, 1.5], [3, 32 - 0.5], [32 + 0.75, 32], [32 - 2.5, -1]];
  const corners = [[0, 0], [0, 32], [32, 32], [32, 0]];
  for (let k = 0; k < 4; k++) {
    const [u, v] = apply(moved[k][0], moved[k][1]);
    assert.ok(Math.abs(u - corners[k][0]) < 1e-9 && Math.abs(v - corners[k][1]) < 1e-9);
  }
  const id = projectiveWarp(new Array(8).fill(0), 32, 32);
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(id[i] - [1, 0, 0, 0, 1, 0, 0, 0, 1][i]) < 1e-12);
  assert.throws(() => homography([[0, 0], [1, 1], [2, 2], [3, 3]], corners), /degenerate/);
});

Deno.test("augmentation: same size, seeded, within the reference's ranges, constant images unchanged", () => {
  const img = pattern(32, 32);
  const a = augment(img, new SeededRandom(7, 1));
  const b = augment(img, new SeededRandom(7, 1));
  const c = augment(img, new SeededRandom(8, 1));
  assert.equal(a.width, 32);
  assert.equal(a.height, 32);
  assert.equal(a.data.length, img.data.length);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const rng = new SeededRandom(3, 0);
  for (let k = 0; k < 500; k++) {
    const p = drawParams(rng, 32);
    assert.ok(Math.abs(p.degrees) <= 15);
    assert.ok(Math.abs(p.shift[0]) <= MAX_SHIFT && Math.abs(p.shift[1]) <= MAX_SHIFT);
    for (const o of p.corners) assert.ok(Math.abs(o) <= 0.3 * 32 * 0.8);
  }
  const flat = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(77) };
  assert.ok(augment(flat, new SeededRandom(1, 1)).data.every((v) => v === 77));
});

Deno.test("augmentation with only a translation drawn moves a synthetic pattern by that shift", () => {
  const img = pattern(32, 32);
  const m = augmentMap({ degrees: 0, shift: [3, 2], corners: new Array(8).fill(0) }, 32, 32);
  const out = warp(img, m);
  for (let y = 2; y < 32; y++) {
    for (let x = 3; x < 32; x++) assert.deepEqual(px(out, x, y), px(img, x - 3, y - 2));
  }
});

Deno.test("resize: a 2× reduction is the 2×2 block mean; constants stay constant either way", () => {
  const img = pattern(8, 6);
  const half = resize(img, 3, 4);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 4; x++) {
      for (let c = 0; c < 3; c++) {
        const s = [0, 1].flatMap((dy) => [0, 1].map((dx) => px(img, 2 * x + dx, 2 * y + dy)[c]));
        assert.equal(px(half, x, y)[c], Math.round(s.reduce((a, b) => a + b) / 4));
      }
    }
  }
  const flat = { width: 5, height: 7, data: new Uint8Array(5 * 7 * 3).fill(200) };
  assert.ok(resize(flat, 32, 32).data.every((v) => v === 200));
  assert.ok(resize(flat, 3, 2).data.every((v) => v === 200));
  // a linear ramp enlarged stays a ramp between its ends
  const up = resize(pattern(4, 4), 8, 8);
  assert.equal(px(up, 0, 0)[0], 0);
  assert.equal(px(up, 7, 0)[0], 21);
});

Deno.test("crop takes the given rectangle and refuses one outside the image", () => {
  const img = pattern(10, 10);
  const c = crop(img, 2, 3, 5, 7);
  assert.equal(c.width, 3);
  assert.equal(c.height, 4);
  assert.deepEqual(px(c, 0, 0), px(img, 2, 3));
  assert.deepEqual(px(c, 2, 3), px(img, 4, 6));
  assert.throws(() => crop(img, 5, 5, 11, 8), /outside the 10×10 image/);
});
