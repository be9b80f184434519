/**
 * Batches on the GPU and counts of correct predictions.
 * @module
 */

import { type Tensor, tensor } from "../tensor.ts";
import { argMax, mul, oneHot, sum } from "../ops/mod.ts";
import { gather } from "../data/batches.ts";
import type { Split } from "../data/types.ts";

/** Uploads a batch of the training split. */
export function batchTensors(
  split: Split,
  idx: Int32Array,
  pixelMax: number,
): { x: Tensor; y: Tensor } {
  const { x, y } = gather(split, idx, pixelMax);
  return { x: tensor(x, [idx.length, ...split.shape]), y: tensor(y, [idx.length]) };
}

/** Number of correct predictions of `logits` for int32 labels `y` (a scalar on the GPU). */
export function correctCount(logits: Tensor, y: Tensor): Tensor {
  const k = logits.shape[1];
  return sum(mul(oneHot(argMax(logits), k), oneHot(y, k)));
}
