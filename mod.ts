/**
 * RAR: Robust Attribution Regularization on WebGPU.
 *
 * A tensor engine whose ops run as hand-written WGSL compute shaders and whose reverse-mode
 * autodiff composes (`grad` of `grad`), plus the models, objectives and attacks of
 * "Robust Attribution Regularization" (Chen et al., NeurIPS 2019).
 *
 * The API, by group: the device ({@link init}); tensors and autodiff ({@link Tensor},
 * {@link grad}, {@link valueAndGrad}); the ops a model is written with, flat (`add`, `conv2d`,
 * `maxPool`, …) and every op in the {@link ops} namespace; models and their parameters
 * ({@link mnistCnn}, {@link resnet}, {@link initParams}, {@link loadParams}); trained checkpoints
 * ({@link loadLatestParams}); datasets ({@link loadDataset}); attributions
 * ({@link integratedGradientsZero}, {@link saliencyMap}) and the measures comparing them;
 * the RAR objectives ({@link lossAndGrads}); attacks ({@link pgd}, {@link attributionAttack});
 * evaluation; configurations ({@link parseConfig}); training ({@link train}).
 *
 * ```ts
 * import { conv2d, grad, init, sum, tensor } from "./mod.ts";
 * await init();
 * const x = tensor(new Float32Array(2 * 5 * 5 * 1).fill(1), [2, 5, 5, 1]);
 * const w = tensor(new Float32Array(3 * 3 * 1 * 4).fill(0.5), [3, 3, 1, 4]);
 * const gw = grad((w) => sum(conv2d(x, w)))(w);
 * console.log(await gw.data());
 * ```
 * @module
 */

// Device
import { init as initRuntime } from "./src/init.ts";
import type { DeviceOptions } from "./src/gpu/device.ts";
export { type DeviceOptions, WebGPUUnavailableError } from "./src/gpu/device.ts";
export { type DeviceProfile, PROFILE_KINDS, type ProfileKind } from "./src/gpu/profile.ts";
/**
 * Acquires the WebGPU device; call once (awaited) before creating tensors.
 * @throws {WebGPUUnavailableError} naming what is missing when there is no adapter
 */
export async function init(options: DeviceOptions = {}): Promise<void> {
  await initRuntime(options);
}
export { GpuKernelError, GpuLimitError } from "./src/gpu/runtime.ts";

// Tensors and autodiff
export {
  dispose,
  type DType,
  type GradNode,
  type HostArray,
  scalar,
  shapeSize,
  Tensor,
  tensor,
  tidy,
} from "./src/tensor.ts";
export { isRecording, noGrad } from "./src/autograd/tape.ts";
export {
  grad,
  gradients,
  type GradientsOptions,
  type Tree,
  type ValueAndGrad,
  valueAndGrad,
} from "./src/autograd/grad.ts";

// Ops: every op (backward kernels and fused losses included) under `ops`, and flat the ones a
// model or an objective is written with
export * as ops from "./src/ops/mod.ts";
export {
  abs,
  add,
  affine,
  argMax,
  avgPool,
  broadcastTo,
  clip,
  concat,
  conv2d,
  type Conv2dOptions,
  type ConvOptions,
  dense,
  div,
  equal,
  exp,
  full,
  greater,
  leakyRelu,
  leakySoftplus,
  less,
  log,
  logSoftmax,
  matmul,
  type MatmulOptions,
  max,
  maximum,
  maxPool,
  mean,
  meanXent,
  min,
  minimum,
  mul,
  neg,
  oneHot,
  ones,
  pad,
  type Padding,
  type PoolOptions,
  randomNormal,
  randomUniform,
  relu,
  reshape,
  sigmoid,
  sign,
  slice,
  softmax,
  softmaxCrossEntropy,
  softplus,
  sqrt,
  square,
  standardize,
  sub,
  sum,
  transpose,
  where,
  xent,
  zeros,
} from "./src/ops/mod.ts";
export { hash01, hashed } from "./src/io/hash.ts";

// Models and parameters
export type { Activation, Footprint, Init, Model, Params, ParamSpec } from "./src/nn/model.ts";
export {
  familyOf,
  MODEL_FAMILIES,
  MODEL_REGISTRY,
  type ModelFamily,
  type ModelFamilyEntry,
  modelForDataset,
  type ModelInput,
} from "./src/nn/registry.ts";
export { mnistCnn, type MnistCnnOptions } from "./src/nn/mnist_cnn.ts";
export { resnet, type ResnetOptions } from "./src/nn/resnet.ts";
export {
  initParams,
  type LoadedCheckpoint,
  loadParams,
  paramsFromHost,
  saveParams,
} from "./src/nn/params.ts";
export {
  parseSafetensors,
  type SafeDType,
  type SafeEntry,
  type SafeFile,
  type SafeTensorInput,
  serializeSafetensors,
} from "./src/io/safetensors.ts";

// Trained models: weights-only files and checkpoints
export {
  type InitialParams,
  type LatestParams,
  loadInitialParams,
  loadLatestParams,
  loadTrained,
  type LoadTrainedOptions,
  saveWeights,
  type Trained,
  WEIGHTS_FILE,
  type WeightsInfo,
} from "./src/train/load.ts";
export type { CheckpointEntry } from "./src/io/files.ts";

// Datasets
export type { Dataset, Split } from "./src/data/types.ts";
export {
  IMAGE_SHAPE,
  inferDataset,
  loadDataset,
  MNIST_TRAIN_COUNT,
  NUM_CLASSES,
  PIXEL_MAX,
} from "./src/data/datasets.ts";
export { Batcher, type BatcherState, gather } from "./src/data/batches.ts";

// Attributions and the measures comparing them
export {
  integratedGradientsZero,
  saliencyMap,
  type SaliencyOptions,
  simpleGradient,
} from "./src/attribution/saliency.ts";
export {
  kendallTauB,
  massCenterMeasure,
  massCenterOf,
  spearman,
  topKIndices,
  topKIntersection,
} from "./src/attribution/metrics.ts";

// The RAR objectives and integrated gradients of the loss
export {
  type ChunkOptions,
  type IgResult,
  igTerm,
  type IgWrt,
  integratedGradients,
  type LogitsFn,
  type PathConfig,
} from "./src/rar/ig.ts";
export type { Chunk, ChunkPlan } from "./src/rar/planner.ts";
export {
  type Batch,
  type LossAndGrads,
  lossAndGrads,
  type ObjectiveConfig,
  pgdGradient,
} from "./src/rar/objectives.ts";

// Attacks
export { pgd, type PgdConfig } from "./src/attacks/pgd.ts";
export {
  type AttackedResult,
  type AttackOutcome,
  attributionAttack,
  type AttributionAttackConfig,
  attributionAttackConfig,
  type AttributionAttackRepeat,
  type AttributionAttackResult,
  type AttributionAttackSummary,
  type NotAttackedResult,
  summarizeAttributionAttacks,
} from "./src/attacks/attribution.ts";
export {
  attributionAttackBatch,
  type AttributionBatchOptions,
} from "./src/attacks/attribution_batch.ts";
export { attackDirection, type DirectionSetup } from "./src/attacks/directions.ts";

// Evaluation
export {
  type AccuracyConfig,
  type AccuracyResult,
  type ExampleAccuracy,
  naturalAndAdversarialAccuracy,
} from "./src/eval/accuracy.ts";
export { batchTensors, correctCount } from "./src/eval/batch.ts";

// Configurations
export {
  type Config,
  ConfigError,
  type ConfigRequirement,
  configToJson,
  parseConfig,
  type ParseConfigOptions,
  type ParsedConfig,
} from "./src/config.ts";

// Training
export {
  train,
  type TrainOptions,
  type TrainPhase,
  type TrainResult,
} from "./src/train/trainer.ts";
export type { Sink } from "./src/train/report.ts";

// The vocabulary of configurations, objectives and attacks: each enumeration and its type
export * from "./src/vocabulary.ts";
