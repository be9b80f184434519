/**
 * Natural and adversarial (PGD) accuracy over the first test images (docs/spec.md §10, NA/AA).
 * @module
 */

import { type Tensor, tidy } from "../tensor.ts";
import { argMax } from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import type { Split } from "../data/types.ts";
import { pgd } from "../attacks/pgd.ts";
import { batchTensors } from "./batch.ts";
import { hash01 } from "../io/hash.ts";
import { EVAL_LOSS_FUNCS, type EvalLossFunc, isOneOf } from "../vocabulary.ts";

/** Settings of {@linkcode naturalAndAdversarialAccuracy}. */
export interface AccuracyConfig {
  /** Test images used: the first `numExamples` of the split [`num_eval_examples`]. */
  numExamples: number;
  /** Images per batch [`eval_batch_size`]. */
  batchSize: number;
  /** PGD's L∞ radius ε on the dataset's pixel scale [`epsilon`]. */
  epsilon: number;
  /** PGD steps [`num_steps`]. */
  numSteps: number;
  /** PGD step size [`step_size`]. */
  stepSize: number;
  /** Start PGD at a random point of the ε-ball [`random_start`]. */
  randomStart: boolean;
  /** Loss PGD maximises [`loss_func`]. */
  lossFunc: EvalLossFunc;
  /** Seed of the random starts: batch `b` uses {@linkcode evalBatchSeed}`(seed, b)`. */
  seed: number;
  /**
   * Only images `range[0] ≤ i < range[1]` of the first `numExamples` (a shard). `range[0]` must
   * be a multiple of `batchSize`, so batches and their seeds are those of the whole run.
   */
  range?: [number, number];
}

/** Per-example outcome of {@linkcode naturalAndAdversarialAccuracy}. */
export interface ExampleAccuracy {
  /** Index of the image in the split. */
  index: number;
  /** Its label. */
  label: number;
  /** Classified correctly as it is. */
  natural: boolean;
  /** Classified correctly after the PGD attack. */
  adversarial: boolean;
}

/** Result of {@linkcode naturalAndAdversarialAccuracy}. */
export interface AccuracyResult {
  /** Natural accuracy NA, in [0, 1]. */
  natural: number;
  /** Adversarial accuracy AA under PGD, in [0, 1]. */
  adversarial: number;
  /** Every example's outcome, in split order. */
  perExample: ExampleAccuracy[];
}

/** Seed of PGD's random start for evaluation batch `batch` (a pure function of both). */
export function evalBatchSeed(seed: number, batch: number): number {
  return Math.floor(hash01(seed >>> 0, batch) * 2 ** 32) >>> 0;
}

/**
 * Natural accuracy and PGD accuracy (docs/spec.md §10) of the ReLU network over the first
 * `numExamples` images of `split`, in batches of `batchSize`. Deterministic: PGD's random start
 * of batch `b` is seeded by {@linkcode evalBatchSeed}`(seed, b)`. With ε = 0 the adversarial
 * images are the originals, so AA = NA.
 * @param onProgress called after each batch with the number of examples done and the total.
 * @throws Error for invalid settings.
 */
export async function naturalAndAdversarialAccuracy(
  model: Model,
  params: Params,
  split: Split,
  pixelMax: number,
  cfg: AccuracyConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<AccuracyResult> {
  const bad: string[] = [];
  if (!Number.isInteger(cfg.numExamples) || cfg.numExamples < 1) {
    bad.push(`num_eval_examples must be a positive integer, got ${cfg.numExamples}`);
  }
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) {
    bad.push(`eval_batch_size must be a positive integer, got ${cfg.batchSize}`);
  }
  if (!(Number.isFinite(cfg.epsilon) && cfg.epsilon >= 0)) {
    bad.push(`epsilon must be finite and ≥ 0, got ${cfg.epsilon}`);
  }
  if (!Number.isInteger(cfg.numSteps) || cfg.numSteps < 0) {
    bad.push(`num_steps must be a non-negative integer, got ${cfg.numSteps}`);
  }
  if (!isOneOf(EVAL_LOSS_FUNCS, cfg.lossFunc)) {
    bad.push(
      `loss_func must be ${EVAL_LOSS_FUNCS.join(" or ")} for evaluation, got ${
        JSON.stringify(cfg.lossFunc)
      }`,
    );
  }
  const all = Math.min(cfg.numExamples, split.count);
  const [from, to] = cfg.range ?? [0, all];
  if (from % cfg.batchSize !== 0 || from < 0 || to > all || from > to) {
    bad.push(
      `range [${from}, ${to}) must lie in [0, ${all}) and start at a multiple of ${cfg.batchSize}`,
    );
  }
  if (bad.length) throw new Error(`naturalAndAdversarialAccuracy: ${bad.join("; ")}`);
  const total = to - from;
  const perExample: ExampleAccuracy[] = [];
  let nat = 0, adv = 0;
  for (let start = from, b = from / cfg.batchSize; start < to; start += cfg.batchSize, b++) {
    const idx = Int32Array.from(
      { length: Math.min(cfg.batchSize, to - start) },
      (_, j) => start + j,
    );
    const preds: { natural: Tensor; adversarial: Tensor } = tidy(() => {
      const { x, y } = batchTensors(split, idx, pixelMax);
      const xadv = pgd(model, params, x, y, {
        epsilon: cfg.epsilon,
        numSteps: cfg.numSteps,
        stepSize: cfg.stepSize,
        randomStart: cfg.randomStart,
        lossFunc: cfg.lossFunc,
        pixelMax,
        seed: evalBatchSeed(cfg.seed, b),
      });
      return {
        natural: argMax(model.logits(params, x)),
        adversarial: argMax(model.logits(params, xadv)),
      };
    });
    try {
      const pn = await preds.natural.data(), pa = await preds.adversarial.data();
      for (let j = 0; j < idx.length; j++) {
        const label = split.labels[idx[j]];
        const e = {
          index: idx[j],
          label,
          natural: pn[j] === label,
          adversarial: pa[j] === label,
        };
        nat += e.natural ? 1 : 0;
        adv += e.adversarial ? 1 : 0;
        perExample.push(e);
      }
    } finally {
      preds.natural.dispose();
      preds.adversarial.dispose();
    }
    onProgress?.(start + idx.length - from, total);
  }
  return { natural: nat / total, adversarial: adv / total, perExample };
}
