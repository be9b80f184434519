/**
 * Attack directions of docs/spec.md §8 other than `topK`'s goldens: `random`, `target`,
 * `mass_center`, and the error for an unknown method. The MNIST CNN with the golden
 * parameters (`hashed` recipe) on golden image 0, with 10 IG steps to stay fast.
 */

import assert from "node:assert/strict";
import { assertClose, gpu, host, read } from "../helpers.ts";
import { goldenModel } from "../nn/model_goldens.ts";
import { grad, hashed, mul, reshape, slice, sum, type Tensor, tensor, tidy } from "../../mod.ts";
import { saliencyMap } from "../../src/attribution/mod.ts";
import { attackDirection, type DirectionSetup } from "../../src/attacks/directions.ts";
import type { AttributionAttackMethod } from "../../src/vocabulary.ts";

const STEPS = 10;

const { f, model, params } = await goldenModel("mnist_cnn.safetensors");
const x = slice(gpu(f, "x"), [0, 0, 0, 0], [1, -1, -1, -1]).keep();
const labels = tensor(new Int32Array([host(f, "y").data[0]]), [1]).keep();
const [, H, W] = x.shape;

const base: DirectionSetup = {
  model,
  params,
  x,
  labels,
  saliencyType: "ig",
  steps: STEPS,
  kTop: 50,
};

/** Direction of `method` at `xt` (default: the original image) for `step`, on the host. */
async function direction(
  method: AttributionAttackMethod,
  setupOverrides: Partial<DirectionSetup> = {},
  { seed = 0, step = 0, xt = x }: { seed?: number; step?: number; xt?: Tensor } = {},
): Promise<Float32Array> {
  const d = attackDirection(method, { ...base, ...setupOverrides }, seed);
  try {
    return await tidy(async () => {
      const g = d.direction(xt, step);
      assert.deepEqual([...g.shape], [...xt.shape], `${method} direction shape`);
      return await read(g);
    });
  } finally {
    d.dispose();
  }
}

const differing = (a: Float32Array, b: Float32Array) =>
  a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

Deno.test("random direction: ±1 everywhere, a function of (seed, step)", async () => {
  const a = await direction("random", {}, { seed: 3, step: 0 });
  const again = await direction("random", {}, { seed: 3, step: 0 });
  const nextStep = await direction("random", {}, { seed: 3, step: 1 });
  const otherSeed = await direction("random", {}, { seed: 4, step: 0 });
  for (const [what, d] of [["a", a], ["nextStep", nextStep], ["otherSeed", otherSeed]] as const) {
    const bad = d.findIndex((v) => v !== 1 && v !== -1);
    assert.equal(bad, -1, `${what}: entry ${bad} is ${d[bad]}, expected ±1`);
  }
  assert.deepEqual(Array.from(again), Array.from(a), "same (seed, step) differs");
  // independent patterns agree on about half of the entries
  for (const [what, d] of [["step", nextStep], ["seed", otherSeed]] as const) {
    const frac = differing(a, d) / a.length;
    assert.ok(frac > 0.4 && frac < 0.6, `another ${what} changes ${frac} of the entries`);
  }
  // balanced signs; the pattern does not depend on the current image, only on its shape
  const plus = a.filter((v) => v === 1).length / a.length;
  assert.ok(plus > 0.43 && plus < 0.57, `fraction of +1: ${plus}`);
  const x2 = tensor(new Float32Array(x.size).fill(0.5), x.shape).keep();
  try {
    assert.deepEqual(Array.from(await direction("random", {}, { seed: 3, xt: x2 })), Array.from(a));
  } finally {
    x2.dispose();
  }
});

Deno.test("random directions with one seed per image: image b draws seed b's one-image pattern", async () => {
  const two = tidy(() => tensor(new Float32Array(2 * x.size).fill(0.5), [2, ...x.shape.slice(1)]))
    .keep();
  const pair = tensor(new Int32Array([1, 2]), [2]).keep();
  const d = attackDirection("random", { ...base, x: two, labels: pair }, [3, 4]);
  try {
    const both = await tidy(async () => await read(d.direction(two, 1)));
    assert.deepEqual(
      Array.from(both),
      [
        ...await direction("random", {}, { seed: 3, step: 1 }),
        ...await direction("random", {}, { seed: 4, step: 1 }),
      ],
    );
    assert.throws(
      () => attackDirection("random", { ...base, x: two, labels: pair }, [3]),
      /random directions: 1 seeds for 2 images/,
    );
  } finally {
    d.dispose();
    two.dispose();
    pair.dispose();
  }
});

Deno.test("target direction: +∂(Σ T ⊙ S_softplus)/∂x, computed directly with grad", async () => {
  const T = tensor(hashed(1234, [H, W], 1), [H, W]).keep();
  try {
    const want = await tidy(async () => {
      const t3 = reshape(T, [1, H, W]);
      const g = grad((z: Tensor) =>
        sum(
          mul(
            t3,
            saliencyMap(model, params, z, labels, "ig", { activation: "softplus", steps: STEPS }),
          ),
        )
      )(x);
      return await read(g);
    });
    const got = await direction("target", { target: T });
    assert.ok(got.every(Number.isFinite), "non-finite entries");
    assert.ok(got.some((v) => Math.abs(v) > 1e-3), "direction is (nearly) zero");
    assertClose(got, want, "target direction", 1e-5);
    // a [1, H, W] map is the same map
    const t1 = reshape(T, [1, H, W]);
    try {
      assertClose(await direction("target", { target: t1 }), want, "target [1,H,W]", 1e-5);
    } finally {
      t1.dispose();
    }
    // the ReLU network's saliency would give another direction: the surrogate is used
    const relu = await tidy(async () =>
      await read(
        grad((z: Tensor) =>
          sum(
            mul(
              reshape(T, [1, H, W]),
              saliencyMap(model, params, z, labels, "ig", { steps: STEPS }),
            ),
          )
        )(x),
      )
    );
    assert.throws(() => assertClose(got, relu, "relu", 1e-3));
  } finally {
    T.dispose();
  }
});

Deno.test("target direction: a missing or wrong-shaped target map throws", () => {
  assert.throws(() => attackDirection("target", base), /target attack needs a target map/);
  const bad = tensor(new Float32Array((H - 1) * W), [H - 1, W]);
  try {
    assert.throws(
      () => attackDirection("target", { ...base, target: bad }),
      new RegExp(`target map has shape \\[${H - 1},${W}\\], expected \\[${H}, ${W}\\]`),
    );
  } finally {
    bad.dispose();
  }
});

Deno.test("mass_center direction: finite and non-zero; integer reference centre", async () => {
  const d = attackDirection("mass_center", base);
  try {
    const c0 = await read(d.reference!);
    assert.deepEqual([...d.reference!.shape], [1, 2]);
    for (const c of c0) {
      assert.ok(Number.isInteger(c) && c >= 0 && c < H, `reference centre ${Array.from(c0)}`);
    }
  } finally {
    d.dispose();
  }
  const dir = await direction("mass_center");
  const bad = dir.findIndex((v) => !Number.isFinite(v));
  assert.equal(bad, -1, `entry ${bad} is ${dir[bad]}`);
  const nonZero = dir.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  assert.ok(nonZero > H * W / 2, `only ${nonZero} non-zero entries`);
});

Deno.test("an unknown method throws naming the allowed ones", () => {
  assert.throws(
    () => attackDirection("bogus" as AttributionAttackMethod, base),
    /attribution_attack_method must be one of random, topK, mass_center, target; got "bogus"/,
  );
});
