/**
 * The training loop of docs/spec.md §4–6 for `nat`, `adv`, `ar` and `adv_ar`: PGD inner loop, the
 * objective's (second-order) gradients, the optimiser, console output, metrics, TensorBoard
 * scalars, rotating checkpoints, exact resumption (falling back past a damaged checkpoint) and
 * an emergency checkpoint when the GPU fails.
 * @module
 */

import { dispose, type Tensor, tidy } from "../tensor.ts";
import { batchTensors, correctCount } from "../eval/batch.ts";
import type { Model, Params } from "../nn/model.ts";
import { familyOf, type ModelFamilyEntry, modelForDataset } from "../nn/registry.ts";
import { initParams, saveParams } from "../nn/params.ts";
import { lossAndGrads, type ObjectiveConfig } from "../rar/objectives.ts";
import { pgd } from "../attacks/pgd.ts";
import { hash01 } from "../io/hash.ts";
import { eventFileName, EventWriter } from "../io/tensorboard.ts";
import { appendFileBytes, atomicWrite, CheckpointStore, newRunId } from "../io/files.ts";
import { GpuKernelError, GpuLimitError, runtime } from "../gpu/runtime.ts";
import { Batcher, type BatcherState, type Dataset, type Split } from "../data/mod.ts";
import { adamLearningRate, type Config, configToJson, dataSeed, initSeed } from "../config.ts";
import { adam, momentum, type Optimizer } from "./optimizers.ts";
import { formatDuration, Progress, type Sink, stdoutSink } from "./report.ts";
import { prepareModelDir } from "./model_dir.ts";
import { restoreTraining, trainingStateJson } from "./state.ts";
import { type InitialParams, loadInitialParams, saveWeights, WEIGHTS_FILE } from "./load.ts";
import { objectiveRunsPgd } from "../vocabulary.ts";

/** The objective settings of a configuration. */
export function objectiveConfig(c: Config): ObjectiveConfig {
  return {
    lambda: c.lambda,
    m: c.m,
    approxFactor: c.approx_factor,
    weightDecay: c.weight_decay,
    memoryBudgetBytes: c.memory_budget_mb ? c.memory_budget_mb * 2 ** 20 : undefined,
  };
}

/** Where a training step stands, as reported to {@linkcode TrainOptions.onPhase}. */
export type TrainPhase = "gradients" | "update";

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** The validated configuration. */
  config: Config;
  /** The loaded dataset. */
  dataset: Dataset;
  /** Console output (stdout by default). */
  sink?: Sink;
  /** Set `interrupted` to stop after the current step with a checkpoint (e.g. on SIGINT). */
  control?: { interrupted: boolean };
  /** Stop after this many steps of this run (tests; default: until max_num_training_steps). */
  stepLimit?: number;
  /**
   * For a fresh run (`continue_train` false) in a `model_dir` holding an earlier run's
   * checkpoints: move that run's files (checkpoints, index, config.json, metrics.jsonl,
   * eval_natural.json, TensorBoard event files) into `model_dir/previous/<UTC time>/`
   * instead of refusing to start (`deno task train --overwrite`). Nothing is deleted.
   */
  overwrite?: boolean;
  /**
   * The command that resumes this run, printed when training stops early (interrupted, or a
   * GPU fault); the CLI gives its exact command line. Default: a generic hint.
   */
  resumeCommand?: string;
  /**
   * Called in every step once its gradients are recorded (`gradients`, nothing of the step
   * applied yet) and once its update is recorded (`update`). A test hook: a GPU error thrown
   * here takes the same path as a real fault in that part of the step.
   */
  onPhase?: (step: number, phase: TrainPhase) => void | Promise<void>;
}

/** How a training run ended. */
export interface TrainResult {
  /**
   * Updates done in total (including those before a resume); after a GPU fault, the step
   * of the newest checkpoint on disk (0 when there is none).
   */
  step: number;
  /**
   * `completed`, `interrupted` (checkpoint saved), `diverged` (NaN/∞ loss; nothing saved) or
   * `gpu_fault` (the GPU failed; an emergency checkpoint was saved when possible).
   */
  status: "completed" | "interrupted" | "diverged" | "gpu_fault";
  /** The last loss seen. */
  loss: number;
  /** The parameters at the end (owned by the caller; unusable after a lost device). */
  params: Params;
  /** Path of the newest checkpoint written, if any (after a GPU fault: the one to resume from). */
  checkpoint?: string;
  /** The GPU error that stopped a `gpu_fault` run. */
  error?: Error;
}

/** A consistent training state: the GPU holds the parameters after `step` updates. */
interface Safe {
  step: number;
  batcher: BatcherState;
}

/** Whether an error is a GPU fault (device lost, out of memory, a failed kernel or limit). */
function isGpuFault(e: unknown): e is Error {
  return e instanceof GpuKernelError || e instanceof GpuLimitError;
}

const RESUME_HINT = "run again with continue_train true (--set continue_train=true)";

/**
 * Runs (or resumes) training as the configuration says.
 *
 * A fresh run refuses a `model_dir` holding an earlier run's checkpoints unless
 * {@linkcode TrainOptions.overwrite}. A resume starts from the newest checkpoint that loads
 * and whose training state fits the configuration, warning about each newer one skipped.
 * On a GPU fault the run saves an emergency checkpoint (read back from the GPU when the
 * device still answers and the step's state is known, else the host copy kept at the last
 * summary step) and returns with status `gpu_fault` and how to resume.
 *
 * @throws Error when the model_dir refuses a fresh run, or no listed checkpoint loads.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const c = opts.config;
  const ds = opts.dataset;
  const sink = opts.sink ?? stdoutSink();
  const resumeHint = opts.resumeCommand ? `run: ${opts.resumeCommand}` : RESUME_HINT;
  const model = modelForDataset(ds.name);
  const seeds = { init: initSeed(c), data: dataSeed(c) };
  const objective = c.training_objective;
  const objCfg = objectiveConfig(c);
  const family = familyOf(model);
  const moved = await prepareModelDir(c, opts.overwrite);
  if (moved) sink.write(`moved the earlier run's files in ${c.model_dir} to ${moved}\n`);
  // a fresh run gets its own identity; a resume continues the run the index names
  const store = new CheckpointStore(c.model_dir, 3, c.continue_train ? undefined : newRunId());
  const B = c.training_batch_size;

  // parameters, optimiser and data order: fresh or from the newest checkpoint that loads
  let params: Params;
  let batcher: Batcher;
  let opt: Optimizer;
  let start = 0;
  let lastSaved: { step: number; path: string } | undefined;
  const resumed = c.continue_train
    ? await store.loadLatest(
      (bytes, entry) =>
        restoreTraining(bytes, entry.path, {
          model,
          config: c,
          count: ds.train.count,
          makeOptimizer: (p) => makeOptimizer(c, family, p),
        }),
      (m) => sink.write(`warning: ${m}\n`),
      { fatal: isGpuFault },
    )
    : null;
  // seconds spent training before this process (a resume's) and when this process began
  let secondsBefore = 0;
  let initFrom: InitialParams | undefined;
  if (resumed) {
    ({ params, batcher, optimizer: opt, step: start } = resumed.value);
    secondsBefore = resumed.value.trainSeconds;
    lastSaved = { step: start, path: resumed.entry.path };
    sink.write(`resuming from ${resumed.entry.path}\n`);
  } else {
    if (c.continue_train) sink.write(`no checkpoint in ${c.model_dir}: starting from scratch\n`);
    if (c.init_from) {
      initFrom = await loadInitialParams(model, c.init_from);
      params = initFrom.params;
      sink.write(
        `fine-tuning from ${initFrom.path}` +
          (initFrom.step !== undefined ? ` (step ${initFrom.step})` : "") +
          ": fresh optimiser, step 0\n",
      );
    } else params = initParams(model, seeds.init);
    batcher = new Batcher(ds.train.count, B, seeds.data);
    opt = makeOptimizer(c, family, params);
  }
  const processStart = performance.now();
  const trainSeconds = () => secondsBefore + (performance.now() - processStart) / 1000;
  await atomicWrite(`${c.model_dir}/config.json`, configToJson(c) + "\n");

  const events = new EventWriter();
  const eventPath = `${c.model_dir}/${eventFileName(hostname(), new Date())}`;
  await appendFileBytes(eventPath, events.header(Date.now() / 1000));
  const metricsPath = `${c.model_dir}/metrics.jsonl`;
  if (initFrom) {
    const line = { step: 0, wall_time: Date.now() / 1000, init_from: initFrom.path };
    await appendFileBytes(
      metricsPath,
      JSON.stringify(
        initFrom.step === undefined ? line : { ...line, init_from_step: initFrom.step },
      ) +
        "\n",
    );
  }

  const checkpointBytes = (step: number, state: BatcherState): Promise<Uint8Array> =>
    saveParams(params, {
      rar_state: trainingStateJson(step, state, B, {
        trainSeconds: trainSeconds(),
        initFrom: initFrom?.path ?? c.init_from,
      }),
      config: configToJson(c),
    }, opt.state());
  const save = async (step: number): Promise<string> => {
    const path = await store.save(step, await checkpointBytes(step, batcher.state()));
    lastSaved = { step, path };
    return path;
  };
  // the host copy of the newest summary step, for an emergency checkpoint on a lost device
  let hostCopy: { step: number; bytes: Uint8Array } | undefined;

  const end = Math.min(c.max_num_training_steps, start + (opts.stepLimit ?? Infinity));
  const progress = new Progress("train", c.max_num_training_steps, sink, start);
  sink.write(
    `training ${objective} on ${ds.name} (${ds.train.count} images, batch ${B}) ` +
      `from step ${start} to ${c.max_num_training_steps} in ${c.model_dir}\n`,
  );
  let windowStart = performance.now();
  let windowExamples = 0;
  let lastLoss = NaN;
  let checkpoint: string | undefined;
  let safe: Safe | null = null;
  for (let ii = start; ii < end; ii++) {
    const report = ii % c.num_output_steps === 0 || ii % c.num_summary_steps === 0;
    const lr = opt.learningRate();
    safe = { step: ii, batcher: batcher.state() };
    let stats: StepStats | undefined;
    try {
      stats = tidy(() => {
        const idx = batcher.next();
        const { x, y } = batchTensors(ds.train, idx, ds.pixelMax);
        const xadv = !objectiveRunsPgd(objective) ? undefined : pgd(model, params, x, y, {
          epsilon: c.epsilon,
          numSteps: c.num_steps,
          stepSize: c.step_size,
          randomStart: c.random_start,
          lossFunc: c.loss_func,
          pixelMax: ds.pixelMax,
          seed: Math.floor(hash01(seeds.data >>> 0, ii) * 2 ** 32) >>> 0,
          objective: objCfg,
        });
        // accuracies are measured before the update, as the reference does
        const natCorrect = report ? correctCount(model.logits(params, x), y) : undefined;
        const advCorrect = report && xadv ? correctCount(model.logits(params, xadv), y) : undefined;
        const r = lossAndGrads(model, params, { x, xadv, y }, objective, objCfg);
        return {
          loss: r.loss,
          xent: r.xent,
          ig: r.igTerm,
          natCorrect,
          advCorrect,
          grads: r.grads,
        };
      });
      await opts.onPhase?.(ii, "gradients");
      // a fault so far leaves the parameters and slots as they were before this step
      runtime().flush();
      await runtime().checkErrors();
      safe = null;
      const grads = stats.grads;
      tidy(() => opt.update(params, grads));
      dispose(grads);
      await opts.onPhase?.(ii, "update");
      const loss = await stats.loss.item();
      safe = { step: ii + 1, batcher: batcher.state() };
      windowExamples += B;
      if (!Number.isFinite(loss)) {
        progress.finish();
        sink.write(
          `step ${ii}: the loss is ${loss}; training stopped. The last good checkpoint ` +
            `${
              checkpoint ?? (await store.latest())?.path ?? "(none)"
            } is kept; lower the learning rate ` +
            `or check the data.\n`,
        );
        dispose(stats);
        return { step: ii, status: "diverged", loss, params };
      }
      lastLoss = loss;
      if (report) {
        const xent = await stats.xent.item();
        const ig = stats.ig ? await stats.ig.item() : undefined;
        const nat = (await stats.natCorrect!.item()) / B;
        const adv = stats.advCorrect ? (await stats.advCorrect.item()) / B : undefined;
        const secs = (performance.now() - windowStart) / 1000;
        const rate = windowExamples / Math.max(secs, 1e-9);
        windowStart = performance.now();
        windowExamples = 0;
        if (ii % c.num_output_steps === 0) {
          progress.line(
            `step ${String(ii).padStart(6)}  nat acc ${(nat * 100).toFixed(1).padStart(5)}%` +
              (adv !== undefined ? `  adv acc ${(adv * 100).toFixed(1).padStart(5)}%` : "") +
              `  loss ${loss.toFixed(4)}  xent ${xent.toFixed(4)}` +
              (ig !== undefined ? `  IG ${ig.toFixed(4)}` : "") +
              `  ${rate.toFixed(1)} ex/s  lr ${lr}`,
          );
        }
        if (ii % c.num_summary_steps === 0) {
          const values: Record<string, number> = {
            "loss": loss,
            "xent": xent,
            "accuracy/natural": nat,
            "learning_rate": lr,
            "examples_per_second": rate,
          };
          if (adv !== undefined) values["accuracy/adversarial"] = adv;
          if (ig !== undefined) values["ig_term"] = ig;
          const wall = Date.now() / 1000;
          await appendFileBytes(
            metricsPath,
            JSON.stringify({ step: ii, wall_time: wall, ...values }) + "\n",
          );
          await appendFileBytes(eventPath, events.scalars(ii, values, wall));
        }
      }
      dispose(stats);
      const done = ii + 1;
      progress.update(done, `loss ${loss.toFixed(4)}`);
      if (done % c.num_checkpoint_steps === 0 || done === c.max_num_training_steps) {
        checkpoint = await save(done);
        hostCopy = undefined;
      } else if (done % c.num_summary_steps === 0) {
        hostCopy = { step: done, bytes: await checkpointBytes(done, batcher.state()) };
      }
      if (opts.control?.interrupted && done < end) {
        checkpoint = await save(done);
        progress.finish();
        sink.write(
          `interrupted after step ${done}: checkpoint ${checkpoint} saved; ` +
            `to resume, ${resumeHint}\n`,
        );
        return { step: done, status: "interrupted", loss: lastLoss, params, checkpoint };
      }
    } catch (e) {
      if (stats) dispose(stats);
      if (!isGpuFault(e)) throw e;
      progress.finish();
      return await afterFault(e, ii, safe);
    }
  }
  if (end < c.max_num_training_steps && (end % c.num_checkpoint_steps !== 0)) {
    checkpoint = await save(end);
  }
  progress.finish();
  // the finished run's weights-only file, for sharing (docs/weights.md)
  let weights = "";
  if (end === c.max_num_training_steps) {
    const w = await saveWeights(c.model_dir, model, params, {
      dataset: ds.name,
      config: c,
      step: end,
      run: store.run,
    });
    if (w.moved) sink.write(`moved an earlier run's ${WEIGHTS_FILE} to ${w.moved}\n`);
    weights = `; weights ${w.path}`;
  }
  sink.write(
    `trained to step ${end} in ${formatDuration(progress.elapsed)}; checkpoint ${
      checkpoint ?? "-"
    }${weights}\n`,
  );
  return { step: end, status: "completed", loss: lastLoss, params, checkpoint };

  /**
   * Saves what can be saved after a GPU fault in step `ii`: the state read back from the
   * GPU when it is known (`safe`) and the device still answers, else the host copy, either
   * only when newer than the last checkpoint; then says how to resume.
   */
  async function afterFault(error: Error, ii: number, safe: Safe | null): Promise<TrainResult> {
    const notes: string[] = [];
    let saved: { step: number; path: string; how: string } | undefined;
    // nothing newer than the last checkpoint (or, before any, than the start) needs saving
    const newest = lastSaved?.step ?? start;
    const usable = await runtime().recover().catch(() => false);
    if (safe && safe.step > newest) {
      if (!usable) notes.push("the device no longer answers");
      else {
        try {
          const bytes = await checkpointBytes(safe.step, safe.batcher);
          const path = await store.save(safe.step, bytes);
          saved = { step: safe.step, path, how: "read back from the GPU" };
        } catch (e) {
          notes.push(`reading the parameters back failed: ${(e as Error).message}`);
        }
      }
    } else if (!safe) {
      notes.push(`the GPU state during step ${ii}'s update is unknown`);
    }
    if (!saved && hostCopy && hostCopy.step > newest) {
      try {
        const path = await store.save(hostCopy.step, hostCopy.bytes);
        saved = { step: hostCopy.step, path, how: "from the copy kept at the last summary step" };
      } catch (e) {
        notes.push(`saving the copy of step ${hostCopy.step} failed: ${(e as Error).message}`);
      }
    }
    const lines = [`step ${ii}: GPU fault: ${error.message}`];
    if (saved) {
      lastSaved = saved;
      lines.push(
        `emergency checkpoint ${saved.path} saved (step ${saved.step}, ${saved.how})` +
          (notes.length ? `; ${notes.join("; ")}` : ""),
      );
    } else if (lastSaved) {
      lines.push(
        `no newer state could be saved${notes.length ? ` (${notes.join("; ")})` : ""}; ` +
          `the newest checkpoint is ${lastSaved.path} (step ${lastSaved.step})`,
      );
    } else {
      lines.push(
        `no checkpoint was saved${notes.length ? ` (${notes.join("; ")})` : ""}; ` +
          "running again starts from scratch",
      );
    }
    if (lastSaved) lines.push(`to resume from step ${lastSaved.step}, ${resumeHint}`);
    sink.write(lines.join("\n") + "\n");
    return {
      step: lastSaved?.step ?? 0,
      status: "gpu_fault",
      loss: lastLoss,
      params,
      checkpoint: lastSaved?.path,
      error,
    };
  }
}

/** The tensors of one step that outlive its gradient computation. */
interface StepStats {
  loss: Tensor;
  xent: Tensor;
  ig?: Tensor;
  natCorrect?: Tensor;
  advCorrect?: Tensor;
  grads: Params;
}

function makeOptimizer(c: Config, family: ModelFamilyEntry, params: Params): Optimizer {
  if (family.optimizer === "adam") return adam(params, { learningRate: adamLearningRate(c) });
  if (!c.step_size_schedule || c.momentum === undefined) {
    throw new Error(
      "the ResNet family trains with momentum: step_size_schedule and momentum are required",
    );
  }
  return momentum(params, { schedule: c.step_size_schedule, momentum: c.momentum });
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** Natural accuracy over the first `n` images of a split, in batches (no gradients). */
export async function evaluateAccuracy(
  model: Model,
  params: Params,
  split: Split,
  pixelMax: number,
  n: number,
  batch: number,
  onBatch?: (done: number) => void,
): Promise<number> {
  let correct = 0;
  const count = Math.min(n, split.count);
  for (let i = 0; i < count; i += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, count - i) }, (_, j) => i + j);
    const c = tidy(() => {
      const { x, y } = batchTensors(split, idx, pixelMax);
      return correctCount(model.logits(params, x), y);
    });
    correct += await c.item();
    c.dispose();
    onBatch?.(i + idx.length);
  }
  return correct / count;
}
