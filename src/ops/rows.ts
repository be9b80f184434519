/**
 * Row-wise ops over the last axis (softmax, log-softmax, arg-max, one-hot) and tensor
 * creation on the GPU (fill, random).
 * Kernel: `shaders/rows.wgsl`.
 * @module
 */

import rowsWgsl from "../../shaders/rows.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, kernel, launch, output, Params } from "./launch.ts";
import { mul, sub } from "./elementwise.ts";
import { sum } from "./reduce.ts";

function rowsOf(x: Tensor, op: string): { rows: number; cols: number } {
  if (x.rank < 1) throw new Error(`${op}: needs rank >= 1, got a scalar`);
  const cols = x.shape[x.rank - 1];
  return { rows: cols === 0 ? 0 : x.size / cols, cols };
}

function rowKernel(x: Tensor, entry: "softmax" | "log_softmax"): Tensor {
  expectDType(x, "f32", entry);
  const { rows, cols } = rowsOf(x, entry);
  const y = output(x.shape, entry);
  launch(
    kernel({ name: entry, code: rowsWgsl, entry, inputs: 1, outputs: 1 }),
    [x.buffer, y.buffer],
    new Params().u32(x.size, rows, cols, 0).f32(0, 0),
    rows,
  );
  return y;
}

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  const y = rowKernel(x, "softmax");
  return record(y, "softmax", [x], (g) => [mul(y, sub(g, sum(mul(g, y), -1, true)))]);
}

/** Log-softmax over the last axis (stable). */
export function logSoftmax(x: Tensor): Tensor {
  const y = rowKernel(x, "log_softmax");
  return record(y, "logSoftmax", [x], (g) => [sub(g, mul(softmax(x), sum(g, -1, true)))]);
}

/** Index of the first maximum along the last axis (int32, no gradient). */
export function argMax(x: Tensor): Tensor {
  expectDType(x, "f32", "argMax");
  const { rows, cols } = rowsOf(x, "argMax");
  const y = output(x.shape.slice(0, -1), "argMax", "i32");
  launch(
    kernel({ name: "argmax", code: rowsWgsl, entry: "argmax", inputs: 1, outputs: 1 }),
    [x.buffer, y.buffer],
    new Params().u32(x.size, rows, cols, 0).f32(0, 0),
    rows,
  );
  return y;
}

/** One-hot encoding of int32 labels `[...]` → `[..., depth]` with `on`/`off` values. */
export function oneHot(labels: Tensor, depth: number, on = 1, off = 0): Tensor {
  expectDType(labels, "i32", "oneHot", "labels");
  const y = output([...labels.shape, depth], "oneHot");
  launch(
    kernel({ name: "one_hot", code: rowsWgsl, entry: "one_hot", inputs: 1, outputs: 1 }),
    [labels.buffer, y.buffer],
    new Params().u32(y.size, labels.size, depth, 0).f32(on, off),
    y.size,
  );
  return y;
}

/** A float32 tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number): Tensor {
  const y = output(shape, "full");
  launch(
    kernel({ name: "fill", code: rowsWgsl, entry: "fill", inputs: 0, outputs: 1 }),
    [y.buffer],
    new Params().u32(y.size, 0, 0, 0).f32(value, 0),
    y.size,
  );
  return y;
}

/** Zeros of `shape`. */
export function zeros(shape: readonly number[]): Tensor {
  return full(shape, 0);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

/** Zeros shaped like `x`. */
export function zerosLike(x: Tensor): Tensor {
  return full(x.shape, 0);
}

/** Ones shaped like `x`. */
export function onesLike(x: Tensor): Tensor {
  return full(x.shape, 1);
}

/**
 * Uniform random numbers in `[lo, hi)`, a pure function of `(seed, element index)`
 * (the integer hash `hash01`), so results are reproducible on any device.
 */
export function randomUniform(
  shape: readonly number[],
  lo: number,
  hi: number,
  seed: number,
): Tensor {
  const y = output(shape, "randomUniform");
  launch(
    kernel({
      name: "random_uniform",
      code: rowsWgsl,
      entry: "random_uniform",
      inputs: 0,
      outputs: 1,
    }),
    [y.buffer],
    new Params().u32(y.size, 0, 0, seed >>> 0).f32(lo, hi),
    y.size,
  );
  return y;
}

/**
 * Normal random numbers with mean `mean` and deviation `std`, a pure function of
 * `(seed, element index)`. With `truncated`, values beyond two deviations are redrawn.
 */
export function randomNormal(
  shape: readonly number[],
  mean: number,
  std: number,
  seed: number,
  truncated = false,
): Tensor {
  const y = output(shape, "randomNormal");
  launch(
    kernel({
      name: "random_normal",
      code: rowsWgsl,
      entry: "random_normal",
      inputs: 0,
      outputs: 1,
    }),
    [y.buffer],
    new Params().u32(y.size, 0, truncated ? 1 : 0, seed >>> 0).f32(mean, std),
    y.size,
  );
  return y;
}

/**
 * A 0/1 mask of the `k` largest entries along the last axis (ties go to the lower index);
 * no gradient.
 */
export function topKMask(x: Tensor, k: number): Tensor {
  expectDType(x, "f32", "topKMask");
  const { rows, cols } = rowsOf(x, "topKMask");
  if (!Number.isInteger(k) || k < 0) {
    throw new Error(`topKMask: k must be a non-negative integer, got ${k}`);
  }
  const y = output(x.shape, "topKMask");
  launch(
    kernel({ name: "topk_mask", code: rowsWgsl, entry: "topk_mask", inputs: 1, outputs: 1 }),
    [x.buffer, y.buffer],
    new Params().u32(x.size, rows, cols, k).f32(0, 0),
    x.size,
  );
  return y;
}
