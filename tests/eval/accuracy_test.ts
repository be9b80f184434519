/**
 * Natural and PGD accuracy (docs/spec.md §10) on the first MNIST test images with the MNIST CNN
 * whose parameters are rebuilt from the golden recipe (`hashed`; an untrained network, so
 * the accuracies themselves are arbitrary), its output bias shifted so that the first test
 * image is classified correctly (`paramsClassifying`): otherwise an untrained network may
 * classify none of the examples correctly, and AA ≤ NA would say nothing.
 */

import assert from "node:assert/strict";
import { goldenModel, paramsClassifying } from "../nn/model_goldens.ts";
import { tensor } from "../../mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import { gather, loadDataset } from "../../src/data/mod.ts";
import { evaluateAccuracy } from "../../src/train/trainer.ts";
import {
  type AccuracyConfig,
  type AccuracyResult,
  naturalAndAdversarialAccuracy,
} from "../../src/eval/mod.ts";

const golden = await goldenModel("mnist_cnn.safetensors");
const model = golden.model;
const mnist = await loadDataset("mnist");
const first = gather(mnist.test, new Int32Array([0]), mnist.pixelMax);
const firstImage = tensor(first.x, [1, ...mnist.test.shape]);
const params = await paramsClassifying(model, golden.values, firstImage, first.y[0], 1);
firstImage.dispose();

const base: AccuracyConfig = {
  numExamples: 8,
  batchSize: 3,
  epsilon: 0.3,
  numSteps: 5,
  stepSize: 0.1,
  randomStart: true,
  lossFunc: "xent",
  seed: 5,
};

async function evaluate(
  cfg: Partial<AccuracyConfig>,
  onProgress?: (done: number, total: number) => void,
): Promise<AccuracyResult> {
  const before = runtime().poolStats().inUse;
  try {
    return await naturalAndAdversarialAccuracy(
      model,
      params,
      mnist.test,
      mnist.pixelMax,
      { ...base, ...cfg },
      onProgress,
    );
  } finally {
    assert.equal(runtime().poolStats().inUse, before, "GPU buffers leaked");
  }
}

Deno.test("ε = 0: AA = NA, per example; NA agrees with evaluateAccuracy", async () => {
  const progress: [number, number][] = [];
  const r = await evaluate({ epsilon: 0 }, (d, t) => progress.push([d, t]));
  assert.deepEqual(progress, [[3, 8], [6, 8], [8, 8]]);
  assert.equal(r.perExample.length, 8);
  assert.equal(r.adversarial, r.natural);
  for (const [i, e] of r.perExample.entries()) {
    assert.equal(e.index, i);
    assert.equal(e.label, mnist.test.labels[i]);
    assert.equal(e.adversarial, e.natural, `example ${i}`);
  }
  assert.equal(r.natural, r.perExample.filter((e) => e.natural).length / 8);
  const na = await evaluateAccuracy(model, params, mnist.test, mnist.pixelMax, 8, 4);
  assert.equal(r.natural, na);
});

Deno.test("ε > 0: AA ≤ NA (xent and cw), deterministic across runs", async () => {
  const nat = (await evaluate({ epsilon: 0 })).natural;
  assert.ok(nat > 0, "no example is classified correctly: AA ≤ NA would say nothing");
  for (const lossFunc of ["xent", "cw"] as const) {
    const r = await evaluate({ lossFunc });
    assert.equal(r.natural, nat, lossFunc);
    assert.ok(r.adversarial <= r.natural, `${lossFunc}: AA ${r.adversarial} > NA ${r.natural}`);
    assert.deepEqual(await evaluate({ lossFunc }), r, `${lossFunc}: a second run differs`);
  }
  // a single batch larger than the examples
  const one = await evaluate({ numExamples: 2, batchSize: 16 });
  assert.equal(one.perExample.length, 2);
});

Deno.test("invalid settings throw naming each", async () => {
  await assert.rejects(
    () => evaluate({ numExamples: 0, batchSize: 1.5, lossFunc: "ar" as never }),
    (e: Error) =>
      /num_eval_examples must be a positive integer, got 0/.test(e.message) &&
      /eval_batch_size must be a positive integer, got 1.5/.test(e.message) &&
      /loss_func must be xent or cw for evaluation, got "ar"/.test(e.message),
  );
});
