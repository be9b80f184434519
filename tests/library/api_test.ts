/**
 * `mod.ts` is a curated API: each group a user builds on is there, the engine's internals are
 * not (they stay importable from their own modules).
 * @module
 */

import assert from "node:assert/strict";
import * as rar from "../../mod.ts";

/** Value exports a user of each API group needs. */
const GROUPS: Record<string, string[]> = {
  device: ["init", "WebGPUUnavailableError", "GpuKernelError", "GpuLimitError"],
  tensors: ["Tensor", "tensor", "scalar", "tidy", "dispose", "grad", "valueAndGrad", "noGrad"],
  ops: ["add", "mul", "matmul", "conv2d", "maxPool", "relu", "softplus", "sum", "xent", "ops"],
  models: ["mnistCnn", "resnet", "modelForDataset", "initParams", "loadParams", "saveParams"],
  checkpoints: ["loadLatestParams", "loadInitialParams", "parseSafetensors"],
  datasets: ["loadDataset", "inferDataset", "IMAGE_SHAPE", "NUM_CLASSES", "Batcher", "gather"],
  attributions: ["integratedGradientsZero", "saliencyMap", "kendallTauB", "topKIntersection"],
  objectives: ["lossAndGrads", "pgdGradient", "igTerm", "integratedGradients"],
  attacks: ["pgd", "attributionAttack", "attributionAttackBatch", "attributionAttackConfig"],
  evaluation: ["naturalAndAdversarialAccuracy", "batchTensors", "correctCount"],
  configurations: ["parseConfig", "configToJson", "ConfigError"],
  training: ["train"],
};

/** Engine internals that stay in their modules. */
const INTERNALS = [
  "WINDOW_BYTES",
  "Runtime",
  "runtime",
  "evalBatchSeed",
  "repeatSeed",
  "planChunks",
  "accumulate",
  "pathPoints",
  "repeatRows",
  "conv2dBackpropInput",
  "conv2dBackpropFilter",
  "maxPoolBackward",
  "maxPoolGather",
  "reluGrad",
  "broadcastStrides",
  "normAxes",
  "topKDegenerateWarning",
  "attackConfigProblems",
];

Deno.test("mod.ts exports every API group", () => {
  const exported = new Set(Object.keys(rar));
  for (const [group, names] of Object.entries(GROUPS)) {
    const missing = names.filter((n) => !exported.has(n));
    assert.deepEqual(missing, [], `${group}: mod.ts does not export ${missing.join(", ")}`);
  }
});

Deno.test("mod.ts keeps the engine's internals in their modules", () => {
  const leaked = INTERNALS.filter((n) => n in rar);
  assert.deepEqual(leaked, [], `mod.ts exports internals: ${leaked.join(", ")}`);
});

Deno.test("every op stays reachable under the ops namespace", async () => {
  const all = await import("../../src/ops/mod.ts");
  assert.deepEqual(Object.keys(rar.ops).sort(), Object.keys(all).sort());
  assert.equal(typeof rar.ops.conv2dBackpropInput, "function");
});
