/**
 * The training loop of SPEC §4–6 for `nat`, `adv`, `ar` and `adv_ar`: PGD inner loop, the
 * objective's (second-order) gradients, the optimiser, console output, metrics, TensorBoard
 * scalars, rotating checkpoints and exact resumption.
 * @module
 */

import { type Tensor, tidy } from "../tensor.ts";
import { batchTensors, correctCount } from "../eval/batch.ts";
import type { Model, Params } from "../nn/model.ts";
import { mnistCnn } from "../nn/mnist_cnn.ts";
import { resnet } from "../nn/resnet.ts";
import { initParams, loadParams, saveParams } from "../nn/params.ts";
import { lossAndGrads, type ObjectiveConfig } from "../rar/objectives.ts";
import { pgd } from "../attacks/pgd.ts";
import { hash01 } from "../io/hash.ts";
import { eventFileName, EventWriter } from "../io/tensorboard.ts";
import { appendFileBytes, atomicWrite, CheckpointStore } from "../io/files.ts";
import { Batcher, type Dataset, type DatasetName, type Split } from "../data/mod.ts";
import { adamLearningRate, type Config, configToJson, dataSeed, initSeed } from "../config.ts";
import { adam, momentum, type Optimizer } from "./optimizers.ts";
import { formatDuration, Progress, type Sink, stdoutSink } from "./report.ts";

/** The model of a dataset (SPEC §2). */
export function modelForDataset(name: DatasetName): Model {
  switch (name) {
    case "mnist":
    case "fashion_mnist":
      return mnistCnn();
    case "gtsrb":
      return resnet({ size: 32, numClasses: 43 });
    case "flower":
      return resnet({ size: 128, numClasses: 17 });
  }
}

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
}

/** How a training run ended. */
export interface TrainResult {
  /** Updates done in total (including those before a resume). */
  step: number;
  /** `completed`, `interrupted` (checkpoint saved) or `diverged` (NaN/∞ loss; nothing saved). */
  status: "completed" | "interrupted" | "diverged";
  /** The last loss seen. */
  loss: number;
  /** The parameters at the end (owned by the caller). */
  params: Params;
  /** Path of the last checkpoint written, if any. */
  checkpoint?: string;
}

interface CheckpointMeta {
  step: number;
  batcher: unknown;
}

/** Runs (or resumes) training as the configuration says. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const c = opts.config;
  const ds = opts.dataset;
  const sink = opts.sink ?? stdoutSink();
  const model = modelForDataset(ds.name);
  const seeds = { init: initSeed(c), data: dataSeed(c) };
  const objective = c.training_objective;
  const objCfg = objectiveConfig(c);
  const resnetFamily = model.kind === "resnet";
  await Deno.mkdir(c.model_dir, { recursive: true });
  const store = new CheckpointStore(c.model_dir, 3);

  // parameters, optimiser and data order: fresh or from the latest checkpoint
  let params: Params;
  let batcher: Batcher;
  let opt: Optimizer;
  let start = 0;
  const latest = c.continue_train ? await store.latest() : null;
  if (latest) {
    const loaded = loadParams(model, await Deno.readFile(latest.path), latest.path);
    params = loaded.params;
    const meta = JSON.parse(loaded.metadata.rar_state ?? "null") as CheckpointMeta | null;
    if (!meta) {
      throw new Error(`${latest.path}: no training state (rar_state metadata) to resume from`);
    }
    start = meta.step;
    batcher = Batcher.restore(ds.train.count, c.training_batch_size, meta.batcher as never);
    opt = makeOptimizer(c, resnetFamily, params);
    opt.restore(start, loaded.extra);
  } else {
    if (c.continue_train) sink.write(`no checkpoint in ${c.model_dir}: starting from scratch\n`);
    params = initParams(model, seeds.init);
    batcher = new Batcher(ds.train.count, c.training_batch_size, seeds.data);
    opt = makeOptimizer(c, resnetFamily, params);
  }
  await atomicWrite(`${c.model_dir}/config.json`, configToJson(c) + "\n");

  const events = new EventWriter();
  const eventPath = `${c.model_dir}/${eventFileName(hostname(), new Date())}`;
  await appendFileBytes(eventPath, events.header(Date.now() / 1000));
  const metricsPath = `${c.model_dir}/metrics.jsonl`;

  const save = async (step: number): Promise<string> => {
    const meta: CheckpointMeta = { step, batcher: batcher.state() };
    const bytes = await saveParams(params, {
      rar_state: JSON.stringify(meta),
      config: configToJson(c),
    }, opt.state());
    return await store.save(step, bytes);
  };

  const end = Math.min(c.max_num_training_steps, start + (opts.stepLimit ?? Infinity));
  const progress = new Progress("train", c.max_num_training_steps, sink, start);
  sink.write(
    `training ${objective} on ${ds.name} (${ds.train.count} images, batch ${c.training_batch_size}) ` +
      `from step ${start} to ${c.max_num_training_steps} in ${c.model_dir}\n`,
  );
  const B = c.training_batch_size;
  let windowStart = performance.now();
  let windowExamples = 0;
  let lastLoss = NaN;
  let checkpoint: string | undefined;
  for (let ii = start; ii < end; ii++) {
    const report = ii % c.num_output_steps === 0 || ii % c.num_summary_steps === 0;
    const lr = opt.learningRate();
    const stats = tidy(() => {
      const idx = batcher.next();
      const { x, y } = batchTensors(ds.train, idx, ds.pixelMax);
      const xadv = objective === "nat" ? undefined : pgd(model, params, x, y, {
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
      opt.update(params, r.grads);
      return { loss: r.loss, xent: r.xent, ig: r.igTerm, natCorrect, advCorrect };
    });
    const loss = await stats.loss.item();
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
      for (const t of Object.values(stats)) (t as Tensor | undefined)?.dispose();
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
    for (const t of Object.values(stats)) (t as Tensor | undefined)?.dispose();
    const done = ii + 1;
    progress.update(done, `loss ${loss.toFixed(4)}`);
    if (done % c.num_checkpoint_steps === 0 || done === c.max_num_training_steps) {
      checkpoint = await save(done);
    }
    if (opts.control?.interrupted && done < end) {
      checkpoint = await save(done);
      progress.finish();
      sink.write(
        `interrupted after step ${done}: checkpoint ${checkpoint} saved; ` +
          `run again with continue_train true (--set continue_train=true) to resume\n`,
      );
      return { step: done, status: "interrupted", loss: lastLoss, params, checkpoint };
    }
  }
  if (end < c.max_num_training_steps && (end % c.num_checkpoint_steps !== 0)) {
    checkpoint = await save(end);
  }
  progress.finish();
  sink.write(
    `trained to step ${end} in ${formatDuration(progress.elapsed)}; checkpoint ${
      checkpoint ?? "-"
    }\n`,
  );
  return { step: end, status: "completed", loss: lastLoss, params, checkpoint };
}

function makeOptimizer(c: Config, resnetFamily: boolean, params: Params): Optimizer {
  if (!resnetFamily) return adam(params, { learningRate: adamLearningRate(c) });
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
