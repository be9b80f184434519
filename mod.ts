/**
 * RAR: Robust Attribution Regularization on WebGPU.
 *
 * A tensor engine whose ops run as hand-written WGSL compute shaders and whose reverse-mode
 * autodiff composes (`grad` of `grad`), plus the models, objectives and attacks of
 * "Robust Attribution Regularization" (Chen et al., NeurIPS 2019).
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

export { init } from "./src/init.ts";
export {
  type DispatchRecord,
  GpuKernelError,
  GpuLimitError,
  type Kernel,
  type PoolStats,
  Runtime,
  runtime,
  type UniformWindow,
  WINDOW_BYTES,
} from "./src/gpu/runtime.ts";
export { type DeviceOptions, WebGPUUnavailableError } from "./src/gpu/device.ts";
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
export * from "./src/ops/mod.ts";
export {
  parseSafetensors,
  type SafeDType,
  type SafeEntry,
  type SafeFile,
  type SafeTensorInput,
  serializeSafetensors,
} from "./src/io/safetensors.ts";
export { hash01, hashed } from "./src/io/hash.ts";
export * from "./src/nn/mod.ts";
export * from "./src/rar/mod.ts";
export * from "./src/attribution/mod.ts";
export * from "./src/attacks/mod.ts";
export * from "./src/eval/mod.ts";
export * as config from "./src/config.ts";
export type { Dataset, Split } from "./src/data/types.ts";
export * from "./src/vocabulary.ts";
