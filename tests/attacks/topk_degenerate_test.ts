/**
 * docs/spec.md §8 degenerate case: when `k_top` is at least the number of non-zero entries of the
 * ReLU saliency, the `topK` mask covers every non-zero entry, the loss `Σ M ⊙ S_softplus` is
 * the constant H·W and the `topK` direction is exactly zero. MNIST digits have background
 * pixels equal to 0, where the zero-reference IG saliency is exactly 0.
 */

import assert from "node:assert/strict";
import { gpu, host, read } from "../helpers.ts";
import { goldenModel } from "../nn/model_goldens.ts";
import { slice, type Tensor, tensor } from "../../mod.ts";
import { saliencyMap } from "../../src/attribution/mod.ts";
import {
  attackDirection,
  countNonZeroSaliency,
  topKDegenerate,
} from "../../src/attacks/directions.ts";

const STEPS = 20;

const { f, model, params } = await goldenModel("mnist_cnn.safetensors");
const x = slice(gpu(f, "x"), [0, 0, 0, 0], [1, -1, -1, -1]).keep();
const labels = tensor(new Int32Array([host(f, "y").data[0]]), [1]).keep();
const [, H, W] = x.shape;

const saliency = saliencyMap(model, params, x, labels, "ig", { steps: STEPS }).keep();
const [n] = await countNonZeroSaliency(saliency);
const kTopConfig = (JSON.parse(f.metadata.config) as { k_top: number }).k_top;
console.log(
  `topK degenerate case: golden MNIST image 0 has ${n} non-zero IG saliency entries ` +
    `(of ${H * W}); k_top ≥ ${n} gives a zero topK direction ` +
    `(the golden k_top ${kTopConfig} is ${topKDegenerate(n, kTopConfig) ? "" : "not "}degenerate)`,
);

/** The `topK` direction at the original image, and its mask, for `kTop`. */
async function topKDirection(kTop: number): Promise<{ dir: Float32Array; mask: Float32Array }> {
  const d = attackDirection("topK", {
    model,
    params,
    x,
    labels,
    saliencyType: "ig",
    steps: STEPS,
    kTop,
  });
  let g: Tensor | null = null;
  try {
    g = d.direction(x, 0);
    assert.deepEqual([...g.shape], [...x.shape]);
    return { dir: await read(g), mask: await read(d.reference!) };
  } finally {
    g?.dispose();
    d.dispose();
  }
}

Deno.test(`countNonZeroSaliency agrees with a host count (golden MNIST image 0: ${n})`, async () => {
  const s = await read(saliency);
  const hostCount = s.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
  assert.equal(n, hostCount);
  // a digit: some pixels carry attribution, the zero background carries none
  assert.ok(n > 50 && n < H * W, `${n} non-zero entries of ${H * W}`);
  const xs = await read(x);
  for (let i = 0; i < s.length; i++) {
    if (xs[i] === 0) assert.equal(s[i], 0, `saliency at background pixel ${i}`);
  }
  // per image, on a hand-made batch
  const t = tensor([0, 1, -2, 0, 0, 0, 3e-30, 0, 5, 6, 7, 8], [3, 2, 2]);
  try {
    assert.deepEqual(await countNonZeroSaliency(t), [2, 1, 4]);
  } finally {
    t.dispose();
  }
  await assert.rejects(
    () => countNonZeroSaliency(labels),
    /expected a saliency map \[B, H, W\], got \[1\]/,
  );
});

Deno.test("topKDegenerate: k_top at least the non-zero count", () => {
  assert.equal(topKDegenerate(n, n), true);
  assert.equal(topKDegenerate(n, n + 50), true);
  assert.equal(topKDegenerate(n, n - 1), false);
  assert.equal(topKDegenerate(0, 0), true);
});

for (const kTop of [n, n + 50]) {
  Deno.test(`topK direction is exactly zero with k_top = ${kTop} ≥ ${n} non-zero entries`, async () => {
    const { dir, mask } = await topKDirection(kTop);
    const s = await read(saliency);
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== 0) assert.equal(mask[i], 1, `mask misses non-zero saliency entry ${i}`);
    }
    assert.equal(mask.reduce((a, b) => a + b, 0), Math.min(kTop, H * W));
    const nonZero = dir.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
    const worst = dir.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.equal(nonZero, 0, `${nonZero} non-zero direction entries (largest |d| ${worst})`);
  });
}

Deno.test(`topK direction is non-zero with k_top = ${Math.min(50, n - 1)} < ${n}`, async () => {
  const kTop = Math.min(50, n - 1);
  assert.equal(topKDegenerate(n, kTop), false);
  const { dir, mask } = await topKDirection(kTop);
  assert.equal(mask.reduce((a, b) => a + b, 0), kTop);
  assert.ok(dir.every(Number.isFinite), "non-finite direction entries");
  const nonZero = dir.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
  const worst = dir.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(nonZero > H * W / 2 && worst > 1e-3, `direction: ${nonZero} non-zero, max ${worst}`);
});
