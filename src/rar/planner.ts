/**
 * Memory planning for the batched IG path points (m·B of them per step).
 * @module
 */

import type { Model } from "../nn/model.ts";

/** Bytes kept per path point, as a multiple of its forward activations, when a gradient of a
 * gradient is taken (forward values, masks, backward values and the double-backward pass). */
export const SECOND_ORDER_FACTOR = 5;

/** Default memory budget for the path points of one chunk (bytes). */
export const DEFAULT_MEMORY_BUDGET = 2 * 1024 ** 3;

/** One chunk: the path points of alphas `alphaIndex` for images `b0 ≤ b < b1`. */
export interface Chunk {
  /** Indices into the list of path coefficients. */
  alphaIndex: number[];
  /** First image. */
  b0: number;
  /** One past the last image. */
  b1: number;
}

/** The result of {@linkcode planChunks}. */
export interface ChunkPlan {
  /** Total path points (coefficients × batch). */
  points: number;
  /** Largest number of path points processed at once. */
  chunkPoints: number;
  /** The chunks, covering every (coefficient, image) pair once. */
  chunks: Chunk[];
  /** Estimated bytes per path point (second order). */
  bytesPerPoint: number;
  /** Bytes of the largest single activation of one chunk. */
  largestTensorBytes: number;
  /** The device's per-buffer limit that was respected. */
  maxTensorBytes: number;
  /** The memory budget that was respected. */
  memoryBudgetBytes: number;
}

/** Options of {@linkcode planChunks}. */
export interface PlanOptions {
  /** Largest buffer the device allows (bytes). */
  maxTensorBytes: number;
  /** Memory budget for one chunk (bytes; default {@linkcode DEFAULT_MEMORY_BUDGET}). */
  memoryBudgetBytes?: number;
  /** Force at most this many path points per chunk (e.g. for tests). */
  maxChunkPoints?: number;
}

/**
 * Splits `numAlphas × batch` path points into chunks that fit the device's buffer limit and the
 * memory budget. Whole batches of one or more coefficients are preferred; when a single
 * coefficient's batch does not fit, the batch itself is split.
 * @throws when not even one path point fits
 */
export function planChunks(
  model: Model,
  batch: number,
  numAlphas: number,
  options: PlanOptions,
): ChunkPlan {
  const fp = model.footprint();
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
  const bytesPerPoint = fp.total * 4 * SECOND_ORDER_FACTOR;

  const byLimit = Math.floor(options.maxTensorBytes / (fp.largest * 4));
  const byBudget = Math.floor(budget / bytesPerPoint);
  let cap = Math.min(byLimit, byBudget, options.maxChunkPoints ?? Infinity);
  if (cap < 1) {
    throw new Error(
      `one IG path point of the ${model.kind} model [${model.inputShape}] needs about ` +
        `${bytesPerPoint} bytes (largest activation ${fp.largest * 4} bytes), more than the ` +
        `memory budget ${budget} bytes or the device's buffer limit ${options.maxTensorBytes} bytes`,
    );
  }
  cap = Math.min(cap, numAlphas * batch);
  const chunks: Chunk[] = [];
  if (cap >= batch) {
    const per = Math.floor(cap / batch);
    for (let a = 0; a < numAlphas; a += per) {
      const idx: number[] = [];
      for (let j = a; j < Math.min(a + per, numAlphas); j++) idx.push(j);
      chunks.push({ alphaIndex: idx, b0: 0, b1: batch });
    }
  } else {
    for (let a = 0; a < numAlphas; a++) {
      for (let b = 0; b < batch; b += cap) {
        chunks.push({ alphaIndex: [a], b0: b, b1: Math.min(b + cap, batch) });
      }
    }
  }
  const chunkPoints = Math.max(...chunks.map((c) => c.alphaIndex.length * (c.b1 - c.b0)));
  return {
    points: numAlphas * batch,
    chunkPoints,
    chunks,
    bytesPerPoint,
    largestTensorBytes: chunkPoints * fp.largest * 4,
    maxTensorBytes: options.maxTensorBytes,
    memoryBudgetBytes: budget,
  };
}
