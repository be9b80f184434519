/**
 * Helpers shared by the ops: kernel descriptors and one-dimensional launches.
 * @module
 */

import {
  type Kernel,
  Params,
  runtime,
  type Texels,
  type UniformWindow,
  WG,
  WINDOW_BYTES,
} from "../gpu/runtime.ts";
import { type DType, empty, type Tensor } from "../tensor.ts";

export { type Kernel, Params, type Texels, type UniformWindow, WINDOW_BYTES };

/** What {@linkcode kernel} needs to describe a kernel. */
export interface KernelSpec {
  /** Name used in labels and error messages, e.g. `conv2d_forward`. */
  name: string;
  /** WGSL source of the kernel family (the common prelude is prepended). */
  code: string;
  /** Entry point, default `main`. */
  entry?: string;
  /** Read-only storage bindings (bindings 1..inputs). */
  inputs: number;
  /** Read-write storage bindings following the inputs. */
  outputs: number;
  /** Pipeline-overridable constants. */
  constants?: Record<string, number>;
  /** Uniform windows after the storage bindings (see `Kernel.windows`), default none. */
  windows?: number;
  /** Texture bindings after the windows (see `Kernel.textures`), default none. */
  textures?: number;
}

/** Builds a kernel descriptor from its named parts. */
export function kernel(spec: KernelSpec): Kernel {
  return {
    name: spec.name,
    code: spec.code,
    entry: spec.entry ?? "main",
    nIn: spec.inputs,
    nOut: spec.outputs,
    constants: spec.constants,
    windows: spec.windows ?? 0,
    textures: spec.textures ?? 0,
  };
}

/** Launches `k` with one invocation per element (`n` of them), spread over dimensions. */
export function launch(
  k: Kernel,
  buffers: GPUBuffer[],
  params: Params | Uint32Array,
  n: number,
): void {
  const rt = runtime();
  rt.dispatch(k, buffers, wordsOf(params), rt.grid(Math.ceil(n / WG)));
}

/**
 * {@linkcode launch} for a kernel that reads some of its operands from texel copies
 * (`Runtime.texels`): one copy of the first `bytes` bytes of each buffer in `read`, bound after
 * `buffers` in that order; `params` gets the copies' shift (log2 of their width in texels).
 */
export function launchTexels(
  k: Kernel,
  buffers: GPUBuffer[],
  read: GPUBuffer[],
  bytes: number,
  params: (shift: number) => Params | Uint32Array,
  n: number,
): void {
  const rt = runtime();
  const texels = read.map((b) => rt.texels(b, bytes, `${k.name} (texels)`));
  rt.dispatch(
    k,
    buffers,
    wordsOf(params(texels[0].shift)),
    rt.grid(Math.ceil(n / WG)),
    [],
    texels.map((t) => t.view),
  );
  for (const t of texels) t.dispose();
}

/**
 * Whether a kernel over `size` elements reads its large inputs from texel copies: where the
 * device profile asks for them (`texelCopies`) and from its `texelMin` elements on.
 */
export function viaTexels(size: number): boolean {
  const p = runtime().profile;
  return p.texelCopies && size >= p.texelMin;
}

/** One dispatch for {@linkcode dispatch}. */
export interface Dispatch {
  /** The storage buffers, inputs then outputs. */
  buffers: GPUBuffer[];
  /** The parameter words. */
  params: Params | Uint32Array;
  /** Workgroups, spread over the grid's dimensions (`linear_group()` in common.wgsl). */
  groups: number;
  /** The uniform windows, as many as the kernel has. */
  windows?: UniformWindow[];
  /** The texture views, as many as the kernel has (see {@linkcode texelCopy}). */
  textures?: GPUTextureView[];
}

/** Launches `k` once with windows and textures bound, over `d.groups` workgroups. */
export function dispatch(k: Kernel, d: Dispatch): void {
  const rt = runtime();
  rt.dispatch(
    k,
    d.buffers,
    wordsOf(d.params),
    rt.grid(d.groups),
    d.windows ?? [],
    d.textures ?? [],
  );
}

/**
 * A texel copy of the first `bytes` bytes of `buf` (see `Runtime.texels`), ordered after the
 * work recorded so far; dispose it once the kernels that read it are recorded.
 */
export function texelCopy(buf: GPUBuffer, bytes: number, what: string): Texels {
  return runtime().texels(buf, bytes, what);
}

/** Launches `k` with one workgroup per unit of work (`groups` of them). */
export function launchGroups(
  k: Kernel,
  buffers: GPUBuffer[],
  params: Params | Uint32Array,
  groups: number,
): void {
  const rt = runtime();
  rt.dispatch(k, buffers, wordsOf(params), rt.grid(groups));
}

/** The words of parameters given as a builder or as packed words. */
function wordsOf(params: Params | Uint32Array): Uint32Array {
  return params instanceof Params ? params.build() : params;
}

/** Allocates an output tensor for op `origin`. */
export function output(shape: readonly number[], origin: string, dtype: DType = "f32"): Tensor {
  return empty(shape, dtype, origin);
}

/** Throws unless `t` has dtype `dt`. */
export function expectDType(t: Tensor, dt: DType, op: string, arg = "input"): void {
  if (t.dtype !== dt) {
    throw new Error(`${op}: ${arg} must have dtype ${dt}, got ${t.dtype} [${t.shape}]`);
  }
}

/** Throws unless `t` has rank `r`. */
export function expectRank(t: Tensor, r: number, op: string, arg = "input"): void {
  if (t.rank !== r) {
    throw new Error(`${op}: ${arg} must have rank ${r}, got shape [${t.shape}]`);
  }
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * How `s` broadcasts to `out` when it does so by blocks: `suffix` when its non-unit dimensions
 * are the trailing ones of `out` (it repeats with `period` = its size), `prefix` when they are the
 * leading ones (each element covers a block of `period` elements); null otherwise. A shape of
 * ones is a suffix of period 1.
 */
export function broadcastPattern(
  s: readonly number[],
  out: readonly number[],
): { mode: "suffix" | "prefix"; period: number } | null {
  const size = (t: readonly number[]) => t.reduce((p, d) => p * d, 1);
  const padded = [...new Array(out.length - s.length).fill(1), ...s];
  const first = padded.findIndex((d) => d !== 1);
  if (first < 0) return { mode: "suffix", period: 1 };
  if (padded.slice(first).every((d, i) => d === out[first + i])) {
    return { mode: "suffix", period: size(s) };
  }
  let last = padded.length - 1;
  while (last >= 0 && padded[last] === 1) last--;
  if (padded.slice(0, last + 1).every((d, i) => d === out[i])) {
    return { mode: "prefix", period: size(out) / size(s) };
  }
  return null;
}

/** Maximum rank handled by the strided kernels. */
export const MAX_RANK = 8;

/** Throws when a shape's rank exceeds {@linkcode MAX_RANK}. */
export function checkRank(shape: readonly number[], op: string): void {
  if (shape.length > MAX_RANK) {
    throw new Error(`${op}: rank ${shape.length} exceeds the supported maximum ${MAX_RANK}`);
  }
}
