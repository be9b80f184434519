/**
 * The training state saved in each checkpoint (its `rar_state` metadata: step, data order,
 * batch size) next to the parameters and optimiser slots, and its validated restoration
 * for a resume: a checkpoint whose state does not fit the configuration and the dataset is
 * an error naming the file, never a silently different run.
 * @module
 */

import type { Model, Params } from "../nn/model.ts";
import { loadParams } from "../nn/params.ts";
import { Batcher, type BatcherState } from "../data/batches.ts";
import type { Config } from "../config.ts";
import type { Optimizer, OptimizerState } from "./optimizers.ts";

/** The `rar_state` metadata of a checkpoint. */
export interface TrainingState {
  /** Updates done when it was saved. */
  step: number;
  /** Where the mini-batch sampler stands (see {@linkcode Batcher.state}). */
  batcher: BatcherState;
  /** The `training_batch_size` it was trained with (absent in older checkpoints). */
  batch_size?: number;
  /** Seconds spent training up to this step, over every resume (absent in older checkpoints). */
  train_seconds?: number;
  /** The checkpoint the run started from (`init_from`), if any. */
  init_from?: string;
}

/** A checkpoint restored for resuming. */
export interface RestoredTraining {
  /** Updates done. */
  step: number;
  /** The parameters, on the GPU (owned by the caller). */
  params: Params;
  /** The optimiser with its restored slots. */
  optimizer: Optimizer;
  /** The sampler, continuing the saved data order. */
  batcher: Batcher;
  /** Seconds spent training up to the saved step (0 when the checkpoint does not say). */
  trainSeconds: number;
}

/** What {@linkcode restoreTraining} checks a checkpoint against. */
export interface RestoreContext {
  /** The model the parameters belong to. */
  model: Model;
  /** The run's configuration (`max_num_training_steps`, `training_batch_size`). */
  config: Config;
  /** Number of training images. */
  count: number;
  /** Creates the run's optimiser (fresh slots) for `params`. */
  makeOptimizer: (params: Params) => Optimizer;
}

/** The training state as saved in a checkpoint's `rar_state` metadata. */
export function trainingStateJson(
  step: number,
  batcher: BatcherState,
  batchSize: number,
  extra: { trainSeconds?: number; initFrom?: string } = {},
): string {
  const state: TrainingState = { step, batcher, batch_size: batchSize };
  if (extra.trainSeconds !== undefined) state.train_seconds = extra.trainSeconds;
  if (extra.initFrom !== undefined) state.init_from = extra.initFrom;
  return JSON.stringify(state);
}

/**
 * Restores a checkpoint for resuming: the parameters (checked against the model), the
 * training state (step a safe integer in `0 … max_num_training_steps`; the same batch
 * size; the data order exactly `step × training_batch_size` indices into the sampler's
 * stream of this dataset size, with the generator state its seed reaches) and the
 * optimiser slots (each present, F32, of its parameter's shape, and no other).
 *
 * @param bytes the checkpoint file's content.
 * @param path the file, named in every error.
 * @throws Error naming `path` and what is wrong; nothing stays allocated then.
 */
export function restoreTraining(
  bytes: Uint8Array,
  path: string,
  ctx: RestoreContext,
): RestoredTraining {
  const loaded = loadParams(ctx.model, bytes, path);
  const release: OptimizerState[] = [loaded.params];
  try {
    const { step, batcher, trainSeconds } = checkState(loaded.metadata.rar_state, path, ctx);
    const optimizer = ctx.makeOptimizer(loaded.params);
    release.push(optimizer.state());
    checkSlots(optimizer.state(), loaded.extra, path);
    optimizer.restore(step, loaded.extra);
    return { step, params: loaded.params, optimizer, batcher, trainSeconds };
  } catch (e) {
    for (const group of release) for (const t of Object.values(group)) t.dispose();
    throw e;
  }
}

/** Parses and checks `rar_state`; returns the step and the restored sampler. */
function checkState(
  raw: string | undefined,
  path: string,
  ctx: RestoreContext,
): { step: number; batcher: Batcher; trainSeconds: number } {
  if (raw === undefined) {
    throw new Error(`${path}: no training state (rar_state metadata) to resume from`);
  }
  let state: Partial<TrainingState> | null;
  try {
    state = JSON.parse(raw);
  } catch (e) {
    throw new Error(
      `${path}: the training state (rar_state metadata) is not valid JSON: ${(e as Error).message}`,
    );
  }
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw new Error(`${path}: the training state (rar_state metadata) is not a JSON object`);
  }
  const c = ctx.config;
  const step = state.step;
  if (!Number.isSafeInteger(step) || step! < 0 || step! > c.max_num_training_steps) {
    throw new Error(
      `${path}: the saved step ${JSON.stringify(step)} is not an integer in ` +
        `0 … max_num_training_steps (${c.max_num_training_steps})`,
    );
  }
  const B = c.training_batch_size;
  if (state.batch_size !== undefined && state.batch_size !== B) {
    throw new Error(
      `${path}: trained with training_batch_size ${JSON.stringify(state.batch_size)}, but the ` +
        `configuration says ${B}; an exact resume needs the same batch size`,
    );
  }
  const seconds = state.train_seconds;
  if (
    seconds !== undefined && !(typeof seconds === "number" && seconds >= 0 && seconds < Infinity)
  ) {
    throw new Error(
      `${path}: the saved training time ${JSON.stringify(seconds)} is not a number of seconds ≥ 0`,
    );
  }
  if (typeof state.batcher !== "object" || state.batcher === null) {
    throw new Error(`${path}: the saved data order (batcher state) is missing`);
  }
  try {
    const batcher = Batcher.restore(ctx.count, B, state.batcher, { consumed: step! * B });
    return { step: step!, batcher, trainSeconds: seconds ?? 0 };
  } catch (e) {
    throw new Error(
      `${path}: the saved data order does not fit step ${step} with training_batch_size ` +
        `${B} on ${ctx.count} training images: ${(e as Error).message}`,
    );
  }
}

/** Checks that the saved optimiser slots are exactly the expected ones, F32, of their shapes. */
function checkSlots(
  expected: OptimizerState,
  saved: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
  path: string,
): void {
  for (const [name, t] of Object.entries(expected)) {
    const e = saved.get(name);
    if (!e) {
      throw new Error(`${path}: optimiser state ${name} is missing (expected F32 [${t.shape}])`);
    }
    if (!(e.data instanceof Float32Array)) {
      throw new Error(`${path}: optimiser state ${name} has dtype I32, expected F32`);
    }
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(
        `${path}: optimiser state ${name} has shape [${e.shape}], expected [${t.shape}]`,
      );
    }
  }
  for (const name of saved.keys()) {
    if (!(name in expected)) {
      const slots = [...new Set(Object.keys(expected).map((k) => k.split(":")[0]))];
      throw new Error(
        `${path}: tensor ${name} is not optimiser state of this run ` +
          `(its optimiser keeps ${slots.join(", ")} slots)`,
      );
    }
  }
}
