/**
 * The batched attribution attack against the one-image attack, image by image: the MNIST CNN
 * with the golden parameters on the golden MNIST test images (and image 0 again under another
 * seed), labelled with the network's own predictions except the last golden image, given a
 * wrong label (not attacked). Every method (random, topK, mass_center, target) and measure (kendall,
 * intersection, spearman, mass_center) is run once batched, and per image alone with the
 * image's seed both by `attributionAttack` (the batched code with one image) and by the
 * one-image algorithm as it was before the batched attack (`_reference_attack.ts`), which is
 * the reference: `attributionAttack` must equal it exactly, the batch as below.
 *
 * Tolerance: the batch's products have more columns than one image's (12 IG points per image
 * here, so 12 columns alone and 48 together), which changes how the windowed products group
 * their sums: the softplus saliency behind the attack direction then differs in its last bits
 * (the direction's sign, which is all the attack uses, does not). On llvmpipe every result is
 * bitwise equal; the test requires identical discrete outcomes (attacked or not, predicted
 * label, label changes, unchanged, best step and repeat, warnings, non-zero counts) and allows
 * 1e-5 relative on the maps and 1e-6 on the metrics, so that an adapter whose ReLU saliency
 * also moved in its last bits still passes while a diverged trajectory (a pixel stepped the
 * other way moves by 2α) does not.
 */

import assert from "node:assert/strict";
import { assertClose, gpu, read } from "../helpers.ts";
import { goldenModel, paramsClassifying } from "../nn/model_goldens.ts";
import {
  argMax,
  concat,
  dispose,
  hashed,
  type Params,
  slice,
  type Tensor,
  tensor,
  tidy,
} from "../../mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import {
  attributionAttack,
  attributionAttackBatch,
  type AttributionAttackConfig,
  type AttributionAttackRepeat,
  type AttributionAttackResult,
  type AttributionBatchOptions,
} from "../../src/attacks/attribution.ts";
import { pow2Runs } from "../../src/attacks/attribution_batch.ts";
import { referenceAttack } from "./_reference_attack.ts";

const IG = 12;

const { f, model, params, values } = await goldenModel("mnist_cnn.safetensors");
const golden = gpu(f, "x").keep();
assert.ok(golden.shape[0] >= 2, `golden x has ${golden.shape[0]} images, expected at least 2`);
// the golden images and image 0 again (attacked under another seed)
const x = tidy(() => concat([golden, slice(golden, [0, 0, 0, 0], [1, -1, -1, -1])], 0)).keep();
const [B, H, W, C] = x.shape;
/** The network's predictions for `x`, and labels equal to them except the `WRONG` image's. */
async function labelsFor(p: Params): Promise<{ predicted: number[]; labels: number[] }> {
  const predicted = Array.from(await tidy(async () => await argMax(model.logits(p, x)).data()));
  const labels = predicted.map((q, b) => (b === WRONG ? (q + 1) % model.numClasses : q));
  return { predicted, labels };
}
const WRONG = B - 2;
const { predicted, labels } = await labelsFor(params);
const seeds = labels.map((_, b) => 1000 + 17 * b);
const pixels = await read(x);

const base: AttributionAttackConfig = {
  method: "topK",
  measure: "kendall",
  saliencyType: "ig",
  igSteps: IG,
  kTop: 50,
  evalKTop: 30,
  stepSize: 0.02,
  steps: 2,
  epsilon: 0.3,
  pixelMax: 1,
  times: 1,
  seed: 0,
};

/** Checks that no GPU buffer stays in use across `fn`. */
async function noLeak<T>(fn: () => Promise<T>): Promise<T> {
  const before = runtime().poolStats().inUse;
  try {
    return await fn();
  } finally {
    assert.equal(runtime().poolStats().inUse, before, "GPU buffers leaked by the attack");
  }
}

/** Image b alone, attacked with its seed by `attributionAttack` and by the reference. */
async function alone(
  b: number,
  cfg: AttributionAttackConfig,
  net: { params: Params; labels: number[] },
): Promise<{ single: AttributionAttackResult; reference: AttributionAttackResult }> {
  const xb = tensor(pixels.slice(b * H * W * C, (b + 1) * H * W * C), [1, H, W, C]);
  const c = { ...cfg, seed: seeds[b] };
  try {
    return {
      single: await attributionAttack(model, net.params, xb, net.labels[b], c),
      reference: await referenceAttack(model, net.params, xb, net.labels[b], c),
    };
  } finally {
    xb.dispose();
  }
}

const close = (a: number, b: number, what: string, tol = 1e-6) =>
  assert.ok(
    Object.is(a, b) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)),
    `${what}: ${a} vs ${b}`,
  );

/** The batched result of an image against its result alone (see the module documentation). */
function assertSame(got: AttributionAttackResult, want: AttributionAttackResult, what: string) {
  assert.equal(got.attacked, want.attacked, `${what}: attacked`);
  assert.equal(got.label, want.label, `${what}: label`);
  assert.equal(got.predicted, want.predicted, `${what}: predicted`);
  assert.deepEqual(got.warnings, want.warnings, `${what}: warnings`);
  if (!got.attacked || !want.attacked) return;
  assert.equal(got.nonZeroSaliency, want.nonZeroSaliency, `${what}: non-zero saliency entries`);
  assert.equal(got.bestRepeat, want.bestRepeat, `${what}: best repeat`);
  assert.equal(got.repeats.length, want.repeats.length, `${what}: repeats`);
  const pairs: [AttributionAttackRepeat, AttributionAttackRepeat, string][] = got.repeats.map((
    g,
    r,
  ) => [g, want.repeats[r], `${what}, repeat ${r}`]);
  pairs.push([got, want, `${what}, counted repeat`]);
  for (const [g, w, at] of pairs) {
    assert.deepEqual(
      [g.unchanged, g.bestStep, g.labelChanges],
      [w.unchanged, w.bestStep, w.labelChanges],
      `${at}: unchanged, best step, label changes`,
    );
    for (const k of ["criterion", "intersection", "spearman", "kendall"] as const) {
      close(g[k], w[k], `${at}: ${k}`);
    }
  }
  assertClose(got.originalSaliency, want.originalSaliency, `${what}: original saliency`, 1e-5);
  assertClose(got.attackedSaliency, want.attackedSaliency, `${what}: attacked saliency`, 1e-5);
  assertClose(got.perturbed, want.perturbed, `${what}: perturbed image`, 1e-5);
}

/**
 * Runs the batch and each image alone, and compares them image by image (with the golden
 * parameters and labels unless `net` says otherwise).
 */
async function compare(
  cfg: Partial<AttributionAttackConfig>,
  opts: AttributionBatchOptions = {},
  net: { params: Params; labels: number[] } = { params, labels },
): Promise<AttributionAttackResult[]> {
  const c = { ...base, ...cfg };
  const batch = await noLeak(() =>
    attributionAttackBatch(model, net.params, x, net.labels, c, { seeds, ...opts })
  );
  assert.equal(batch.length, B);
  for (let b = 0; b < B; b++) {
    const what = `${c.method}/${c.measure}, image ${b}`;
    const { single, reference } = await noLeak(() => alone(b, c, net));
    assert.deepStrictEqual(single, reference, `${what}: attributionAttack and the reference`);
    assertSame(batch[b], reference, what);
  }
  assert.equal(batch[WRONG].attacked, false, "the image with a wrong label was attacked");
  assert.equal(batch.filter((r) => r.attacked).length, B - 1);
  return batch;
}

function attacked(r: AttributionAttackResult) {
  assert.ok(r.attacked, "the image was not attacked");
  return r;
}

Deno.test("random/kendall, two repeats: each image draws its own seed's directions", async () => {
  const r = await compare({ method: "random", measure: "kendall", times: 2 });
  // image 0 and its copy differ only by their seeds
  assert.notDeepEqual(
    Array.from(attacked(r[0]).perturbed),
    Array.from(attacked(r[B - 1]).perturbed),
  );
});

Deno.test("topK/intersection, in groups of two images and chunks of 5 IG points", async () => {
  await compare({ method: "topK", measure: "intersection", stepsPerChunk: 5 }, {
    maxChunkPoints: 2 * IG,
  });
});

Deno.test("mass_center/mass_center", async () => {
  await compare({ method: "mass_center", measure: "mass_center" });
});

Deno.test("target/spearman", async () => {
  await compare({
    method: "target",
    measure: "spearman",
    target: hashed(99, [H, W], 1).map(Math.abs),
  });
});

Deno.test("label changes of some images leave the others' trajectories alone", async () => {
  // image 0 (and its copy) a small margin from a tie between its class and every other one,
  // so that random steps change its label while images further from a decision boundary keep
  // theirs (the untrained golden network may predict one class for every input); its class is
  // the least likely one at image 0, and larger steps are tried until both cases occur
  const x0 = slice(x, [0, 0, 0, 0], [1, -1, -1, -1]);
  const z = await tidy(async () => await read(model.logits(params, x0)));
  const c0 = Array.from(z.keys()).reduce((a, b) => (z[b] < z[a] ? b : a));
  const margin = 1e-2 * Math.max(1, ...Array.from(z, Math.abs));
  const near = await paramsClassifying(model, values, x0, c0, margin);
  x0.dispose();
  const seen: string[] = [];
  try {
    const net = { params: near, labels: (await labelsFor(near)).labels };
    assert.equal(net.labels[0], c0);
    for (const stepSize of [0.15, 0.05, 0.3, 0.02, 0.6]) {
      const r = await compare(
        { method: "random", measure: "spearman", stepSize, epsilon: 1, steps: 3 },
        {},
        net,
      );
      const changes = r.filter((q) => q.attacked).map((q) => attacked(q).labelChanges);
      if (changes.some((n) => n > 0) && changes.some((n) => n < 3)) return;
      seen.push(`step size ${stepSize}: ${changes}`);
    }
  } finally {
    dispose(near);
  }
  assert.fail(`no step size where some but not all labels change: ${seen.join("; ")}`);
});

Deno.test("progress per step; nothing attacked when every label is wrong; invalid input", async () => {
  const seen: string[] = [];
  await attributionAttackBatch(model, params, x, labels, { ...base, steps: 2, times: 2 }, {
    onStep: (r, s) => seen.push(`${r}.${s}`),
  });
  assert.deepEqual(seen, ["0.0", "0.1", "1.0", "1.1"]);
  const wrong = predicted.map((p) => (p + 1) % model.numClasses);
  const none = await noLeak(() => attributionAttackBatch(model, params, x, wrong, base));
  assert.deepEqual(
    none,
    wrong.map((label, b) => ({ attacked: false, label, predicted: predicted[b], warnings: [] })),
  );
  await assert.rejects(
    () => attributionAttackBatch(model, params, x, labels.slice(1), base, { seeds: [1] }),
    (e: Error) =>
      /attributionAttackBatch: /.test(e.message) &&
      new RegExp(`${B - 1} labels for ${B} images`).test(e.message) &&
      new RegExp(`1 seeds for ${B} images`).test(e.message),
  );
  await assert.rejects(
    () => attributionAttackBatch(model, params, x, labels, { ...base, method: "bogus" as never }),
    /attribution_attack_method must be one of random, topK, mass_center, target; got "bogus"/,
  );
  const flat: Tensor = tensor(new Float32Array(H * W), [H, W]);
  try {
    await assert.rejects(
      () => attributionAttackBatch(model, params, flat, [0], base),
      new RegExp(`x must be images \\[B, H, W, C\\], got \\[${H},${W}\\]`),
    );
  } finally {
    flat.dispose();
  }
});

Deno.test("the saliency runs of any number of kept images take few distinct lengths", () => {
  for (let size = 1; size <= 40; size++) {
    const allowed = new Set([size]);
    for (let p = 1; p < size; p *= 2) allowed.add(p);
    for (let n = 0; n <= 3 * size + 5; n++) {
      const runs = pow2Runs(n, size);
      let at = 0;
      for (const [a, b] of runs) {
        assert.equal(a, at, `size ${size}, n ${n}: runs ${JSON.stringify(runs)}`);
        assert.ok(allowed.has(b - a), `size ${size}, n ${n}: a run of ${b - a}`);
        at = b;
      }
      assert.equal(at, n, `size ${size}, n ${n}: runs end at ${at}`);
    }
  }
});
