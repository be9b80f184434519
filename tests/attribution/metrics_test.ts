/**
 * Host-side saliency statistics (docs/spec.md §9) against SciPy: the `metrics.<j>.*` goldens of
 * `ops.safetensors`, plus hand-checked values (SciPy 1.17) for ties on both sides, tiny
 * vectors and the NaN conventions.
 */

import assert from "node:assert/strict";
import { golden, host } from "../helpers.ts";
import {
  averageRanks,
  kendallTauB,
  massCenterMeasure,
  massCenterOf,
  spearman,
  topKIndices,
  topKIntersection,
} from "../../src/attribution/metrics.ts";

const f = await golden("ops.safetensors");
const cases: number[] = [];
for (let j = 0; f.tensors.has(`metrics.${j}.a`); j++) cases.push(j);

const near = (got: number, want: number, what: string, tol = 1e-5) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want}`);

Deno.test(`goldens: Kendall τ-b, Spearman ρ, top-k intersection (${cases.length} cases)`, () => {
  assert.ok(cases.length > 0, "no metrics.<j>.* goldens");
  for (const j of cases) {
    const g = (k: string) => host(f, `metrics.${j}.${k}`).data;
    const a = g("a"), b = g("b"), aTies = g("a_ties");
    const k = g("k")[0];
    near(kendallTauB(a, b), g("kendall")[0], `metrics.${j}.kendall`);
    near(spearman(a, b), g("spearman")[0], `metrics.${j}.spearman`);
    near(kendallTauB(aTies, b), g("kendall_ties")[0], `metrics.${j}.kendall_ties`);
    near(spearman(aTies, b), g("spearman_ties")[0], `metrics.${j}.spearman_ties`);
    near(topKIntersection(a, b, k), g("topk_intersection")[0], `metrics.${j}.topk_intersection`);
    // symmetric in the arguments
    near(kendallTauB(b, aTies), g("kendall_ties")[0], `metrics.${j}.kendall_ties swapped`);
    near(spearman(b, aTies), g("spearman_ties")[0], `metrics.${j}.spearman_ties swapped`);
    // identical vectors: exactly 1, even with ties
    assert.equal(kendallTauB(aTies, aTies), 1);
    assert.equal(spearman(aTies, aTies), 1);
    assert.equal(topKIntersection(a, a, k), 1);
  }
});

Deno.test("ties on both sides and tiny vectors agree with SciPy", () => {
  const both = [[1, 2, 2, 3, 3, 3, 0, 0, 5, 1], [2, 2, 1, 3, 3, 0, 0, 1, 4, 4]];
  near(kendallTauB(both[0], both[1]), 0.37977726265637496, "kendall both ties", 1e-12);
  near(spearman(both[0], both[1]), 0.4276814146126335, "spearman both ties", 1e-12);
  // sparse, saliency-like vectors (many zeros)
  const a = [0, 0, 0, 0, 0.5, 0, 0.2, 0, 0, 0.9, 0, 0.1];
  const b = [0, 0.3, 0, 0, 0.5, 0, 0, 0, 0, 0.7, 0.1, 0];
  near(kendallTauB(a, b), 0.4473684210526316, "kendall sparse", 1e-12);
  near(spearman(a, b), 0.5000000000000001, "spearman sparse", 1e-12);
  // n = 3 and n = 2
  near(kendallTauB([1, 2, 3], [1, 3, 2]), 1 / 3, "kendall n=3", 1e-12);
  near(spearman([1, 2, 3], [1, 3, 2]), 0.5, "spearman n=3", 1e-12);
  assert.equal(kendallTauB([1, 2], [3, 4]), 1);
  assert.equal(kendallTauB([1, 2], [4, 3]), -1);
  assert.equal(spearman([1, 2], [3, 4]), 1);
  assert.equal(spearman([1, 2], [4, 3]), -1);
  // Float32Array inputs behave like number[]
  assert.equal(kendallTauB(new Float32Array(both[0]), both[1]), kendallTauB(both[0], both[1]));
  // a large reversed vector: τ = ρ = −1 (exercises the merge-sort inversion count)
  const n = 16384;
  const up = Float32Array.from({ length: n }, (_, i) => i);
  const down = Float32Array.from({ length: n }, (_, i) => n - i);
  assert.equal(kendallTauB(up, down), -1);
  assert.equal(spearman(up, down), -1);
});

Deno.test("NaN conventions: constant vectors, n < 2 and NaN entries give NaN (like SciPy)", () => {
  assert.ok(Number.isNaN(kendallTauB([1, 1], [3, 4])));
  assert.ok(Number.isNaN(spearman([1, 1], [3, 4])));
  assert.ok(Number.isNaN(kendallTauB([1, 2, 3], [0, 0, 0])));
  assert.ok(Number.isNaN(spearman(new Float32Array(5), [1, 2, 3, 4, 5])));
  assert.ok(Number.isNaN(kendallTauB([1], [2])));
  assert.ok(Number.isNaN(spearman([], [])));
  assert.ok(Number.isNaN(kendallTauB([1, NaN, 3], [1, 2, 3])));
  assert.ok(Number.isNaN(spearman([1, 2, 3], [1, NaN, 3])));
  assert.throws(() => kendallTauB([1, 2], [1, 2, 3]), /different lengths \(2 and 3\)/);
  assert.throws(() => spearman([1, 2], [1]), /different lengths/);
});

Deno.test("average ranks match SciPy's rankdata", () => {
  assert.deepEqual(Array.from(averageRanks([3, 1, 2, 2, 5, 1])), [5, 1.5, 3.5, 3.5, 6, 1.5]);
});

Deno.test("top-k: ties go to the lower index (as topKMask); k is validated", () => {
  assert.deepEqual(Array.from(topKIndices([0, 5, 5, 1, 5], 2)), [1, 2]);
  assert.deepEqual(Array.from(topKIndices([0, 0, 0, 0], 3)), [0, 1, 2]);
  assert.deepEqual(Array.from(topKIndices([1, NaN, 2], 3)), [2, 0, 1]);
  // all-zero maps: both top-k sets are the first k indices
  assert.equal(topKIntersection(new Float32Array(10), new Float32Array(10), 4), 1);
  assert.equal(topKIntersection([0, 5, 5, 1], [5, 5, 0, 1], 2), 0.5);
  assert.equal(topKIntersection([1, 2, 3, 4], [4, 3, 2, 1], 2), 0);
  assert.throws(() => topKIntersection([1, 2], [1, 2], 0), /k must be an integer in \[1, 2\]/);
  assert.throws(() => topKIntersection([1, 2], [1, 2], 3), /got 3/);
  assert.throws(() => topKIntersection([1, 2], [1, 2], 1.5), /got 1.5/);
});

Deno.test("mass centre and the mass_center measure (integer-truncated centres)", () => {
  // a 3×4 map, all mass at (row 2, col 3): centre (2·12, 3·12)/12 = (2, 3)
  const H = 3, W = 4;
  const m = new Float32Array(H * W);
  m[2 * W + 3] = H * W;
  assert.deepEqual(massCenterOf(m, H, W), [2, 3]);
  // uniform map summing to H·W: centre = mean row/col = (1, 1.5)
  const u = new Float32Array(H * W).fill(1);
  assert.deepEqual(massCenterOf(u, H, W), [1, 1.5]);
  // truncated centres (1, 1) and (2, 3): −‖(1, 2)‖
  assert.equal(massCenterMeasure(u, m, H, W), -Math.sqrt(5));
  // truncation hides a small move: the measure is 0 (not −0)
  const v = u.slice();
  v[0] = 0.9;
  v[1] = 1.1;
  assert.ok(Object.is(massCenterMeasure(u, v, H, W), 0));
  assert.throws(() => massCenterOf(u, 4, 4), /12 entries, expected 4×4/);
});
