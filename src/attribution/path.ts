/**
 * Straight-line paths for integrated gradients: all path points of a batch at once.
 * @module
 */

import { type Tensor, tensor } from "../tensor.ts";
import { add, broadcastTo, mul, reshape, sub } from "../ops/mod.ts";

/**
 * The points `from + α·(to − from)` for every α of `alphas` and every image of the batch,
 * as `[alphas.length · B, H, W, C]` (coefficient-major). `from` null means the zero reference.
 */
export function pathPoints(from: Tensor | null, to: Tensor, alphas: readonly number[]): Tensor {
  const [B, ...img] = to.shape;
  const ka = alphas.length;
  const al = tensor([...alphas], [ka, 1, 1, 1, 1]);
  const one = (t: Tensor) => reshape(t, [1, B, ...img]);
  const z = from ? add(one(from), mul(al, one(sub(to, from)))) : mul(al, one(to));
  return reshape(z, [ka * B, ...img]);
}

/** Repeats the rows of `[B, K]` one-hot labels `times` times, matching {@linkcode pathPoints}. */
export function repeatRows(onehot: Tensor, times: number): Tensor {
  const [B, K] = onehot.shape;
  return reshape(broadcastTo(reshape(onehot, [1, B, K]), [times, B, K]), [times * B, K]);
}
