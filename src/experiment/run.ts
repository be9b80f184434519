/**
 * Runs an experiment: trains the runs that are not trained yet (resuming half-done ones),
 * evaluates every model on the same test images with the same settings, and writes the report
 * and the comparison figure. Each stage can run on its own, and the evaluation in shards.
 *
 * Layout of the experiment's directory:
 * - `<run>/`: each run's model directory (checkpoints, `config.json`, metrics);
 * - `results/selection.json`: the attacked test images;
 * - `results/<run>.natural.json`, `results/<run>.pgd[.shard-i-of-n].json`,
 *   `results/<run>.attribution[.shard-i-of-n].json`: per-model results as `deno task attack`
 *   writes them; `results/figure/<run>-<image>.json`: the maps the figure shows;
 * - `report.md`, `report.json`, `comparison.png`.
 * @module
 */

import { join } from "node:path";
import { type Config, parseConfig } from "../config.ts";
import { type Dataset, type DatasetName, inferDataset, loadDataset } from "../data/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { atomicWrite, CheckpointStore, pathExists } from "../io/files.ts";
import { evaluateAccuracy, train } from "../train/trainer.ts";
import { modelForDataset } from "../nn/registry.ts";
import { evalLossFunc } from "../vocabulary.ts";
import { loadLatestParams } from "../train/load.ts";
import { formatDuration, Progress, type Sink, stdoutSink } from "../train/report.ts";
import { naturalAndAdversarialAccuracy } from "../eval/accuracy.ts";
import { batchTensors } from "../eval/batch.ts";
import {
  type AttributionRecord,
  type PgdRecord,
  type ResultFile,
  shardRange,
  summarizeAttribution,
  summarizePgd,
} from "../eval/results.ts";
import {
  type AttributionAttackConfig,
  attributionAttackConfig,
  type AttributionAttackResult,
} from "../attacks/attribution.ts";
import { attributionAttackBatch, repeatSeed } from "../attacks/attribution_batch.ts";
import { argMax } from "../ops/mod.ts";
import { tensor, tidy } from "../tensor.ts";
import { parseSafetensors } from "../io/safetensors.ts";
import type { ExperimentSpec, RunSpec } from "./spec.ts";
import { runOverrides, runSlug } from "./spec.ts";
import { meanAndError, type ModelReport, writeReport } from "./report.ts";

/** Which stages {@linkcode runExperiment} runs. */
export type Stage = "train" | "evaluate" | "report";

/** Options of {@linkcode runExperiment}. */
export interface ExperimentOptions {
  /** Stages to run, in this order (default: all three). */
  stages?: readonly Stage[];
  /** Evaluate only shard `index` (0-based) of `count` (the report merges the shards). */
  shard?: { index: number; count: number };
  /** Console output (stdout by default). */
  sink?: Sink;
  /** Set `interrupted` to stop training after the current step with a checkpoint. */
  control?: { interrupted: boolean };
}

/** A run with its validated configuration. */
interface Prepared {
  run: RunSpec;
  config: Config;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** Parses every run's configuration with the experiment's overrides. */
async function prepareRuns(spec: ExperimentSpec): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const run of spec.runs) {
    const overrides = runOverrides(spec, run);
    const text = await readText(run.config, `run ${run.name}: configuration file`);
    let parsed;
    try {
      parsed = parseConfig(text, run.config, { overrides, require: "train" });
    } catch (e) {
      throw new Error(`${spec.source}: run ${run.name}: ${(e as Error).message}`);
    }
    out.push({ run, config: parsed.config });
  }
  return out;
}

/** The one dataset of all runs (an experiment compares models on the same test images). */
async function experimentDataset(spec: ExperimentSpec, runs: Prepared[]): Promise<DatasetName> {
  const names = await Promise.all(
    runs.map(async (p) => p.config.dataset ?? await inferDataset(p.config.data_path)),
  );
  const paths = runs.map((p) => p.config.data_path ?? "");
  for (let i = 1; i < runs.length; i++) {
    if (names[i] !== names[0] || paths[i] !== paths[0]) {
      throw new Error(
        `${spec.source}: runs ${runs[0].run.name} (${names[0]} ${paths[0]}) and ` +
          `${runs[i].run.name} (${names[i]} ${paths[i]}) use different data; an experiment ` +
          `compares models on the same test images`,
      );
    }
  }
  return names[0];
}

/** Keys whose change does not make a run another run. */
const RUN_NEUTRAL = new Set(["continue_train", "num_output_steps", "num_summary_steps"]);

/** The differing keys of two configurations, ignoring those in {@link RUN_NEUTRAL}. */
function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) =>
    !RUN_NEUTRAL.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])
  );
}

/** Trains one run to its last step: skipped when done, resumed when half done. */
async function trainRun(
  spec: ExperimentSpec,
  p: Prepared,
  dataset: Dataset,
  sink: Sink,
  control?: { interrupted: boolean },
): Promise<void> {
  const store = new CheckpointStore(p.config.model_dir);
  const latest = await store.latest();
  if (latest) {
    const savedPath = join(p.config.model_dir, "config.json");
    const saved = await Deno.readTextFile(savedPath).catch(() => undefined);
    if (saved !== undefined) {
      const { config: old } = parseConfig(saved, savedPath);
      const diff = differingKeys(
        old as unknown as Record<string, unknown>,
        p.config as unknown as Record<string, unknown>,
      );
      if (diff.length) {
        throw new Error(
          `${spec.source}: run ${p.run.name}: ${p.config.model_dir} holds a run with other ` +
            `settings (${diff.join(", ")} differ); move that directory away or rename the run`,
        );
      }
    }
    if (latest.step >= p.config.max_num_training_steps) {
      sink.write(`run ${p.run.name}: trained (${latest.path})\n`);
      return;
    }
  }
  sink.write(
    latest
      ? `run ${p.run.name}: resuming from step ${latest.step}\n`
      : `run ${p.run.name}: training${p.config.init_from ? ` from ${p.config.init_from}` : ""}\n`,
  );
  const config = { ...p.config, continue_train: latest !== null };
  const r = await train({ config, dataset, sink, control });
  r.params && Object.values(r.params).forEach((t) => t.dispose());
  if (r.status !== "completed") {
    throw new Error(`run ${p.run.name}: training ${r.status} at step ${r.step}`);
  }
}

/** A trained model of a run. */
interface Trained {
  p: Prepared;
  slug: string;
  model: Model;
  params: Params;
  checkpoint: string;
}

async function loadTrained(p: Prepared, name: DatasetName, sink: Sink): Promise<Trained> {
  const model = modelForDataset(name);
  const found = await loadLatestParams(
    model,
    p.config.model_dir,
    (m) => sink.write(`warning: ${m}\n`),
  );
  if (!found || found.entry.step < p.config.max_num_training_steps) {
    if (found) { for (const t of Object.values(found.params)) t.dispose(); }
    throw new Error(
      `run ${p.run.name} is not trained to step ${p.config.max_num_training_steps} ` +
        `(${
          found ? `latest checkpoint ${found.entry.path}` : `no checkpoint in ${p.config.model_dir}`
        }); ` +
        `run the train stage first`,
    );
  }
  return {
    p,
    slug: runSlug(p.run.name),
    model,
    params: found.params,
    checkpoint: found.entry.path,
  };
}

/** The attacked test images: the first `count` that every model classifies correctly. */
export interface Selection {
  /** Test-set indices, ascending. */
  images: number[];
  /** How many test images were looked at to find them. */
  scanned: number;
}

async function selectImages(
  trained: Trained[],
  dataset: Dataset,
  count: number,
  batch: number,
): Promise<Selection> {
  const split = dataset.test;
  const images: number[] = [];
  let i = 0;
  for (; i < split.count && images.length < count; i += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, split.count - i) }, (_, j) => i + j);
    const ok = new Array<boolean>(idx.length).fill(true);
    for (const t of trained) {
      const pred = tidy(() => {
        const { x } = batchTensors(split, idx, dataset.pixelMax);
        return argMax(t.model.logits(t.params, x));
      });
      const p = await pred.data();
      pred.dispose();
      for (let j = 0; j < idx.length; j++) ok[j] &&= p[j] === split.labels[idx[j]];
    }
    for (let j = 0; j < idx.length && images.length < count; j++) {
      if (ok[j]) images.push(idx[j]);
    }
  }
  if (images.length < count) {
    throw new Error(
      `only ${images.length} of the ${split.count} test images are classified correctly by ` +
        `every model; the evaluation asks for ${count}`,
    );
  }
  return { images, scanned: Math.min(i, split.count) };
}

/** One image of a split as a host array on the dataset's pixel scale. */
function hostImage(dataset: Dataset, i: number): Float32Array {
  const [H, W, C] = dataset.test.shape;
  const n = H * W * C;
  return Float32Array.from(
    dataset.test.images.subarray(i * n, (i + 1) * n),
    (v) => v / 255 * dataset.pixelMax,
  );
}

async function readJson<T>(path: string): Promise<T> {
  const text = await readText(path, "result file");
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`result file ${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/** A result file of this run and settings exists already (a resumed evaluation skips it). */
async function done(path: string, run: Record<string, unknown>): Promise<boolean> {
  if (!await pathExists(path)) return false;
  const old = await readJson<ResultFile<unknown>>(path);
  return JSON.stringify(old.run) === JSON.stringify(run);
}

function shardSuffix(shard: { index: number; count: number }): string {
  return shard.count > 1 ? `.shard-${shard.index + 1}-of-${shard.count}` : "";
}

/** The evaluation settings of one run: its configuration with the protocol's keys. */
function evalConfig(spec: ExperimentSpec, p: Prepared, section: "attribution" | "pgd"): Config {
  const keys = Object.entries(spec.evaluation[section]).filter(([k]) => k !== "examples");
  const overrides = keys.map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  try {
    return parseConfig(
      JSON.stringify(p.config),
      `${p.config.model_dir}/config.json`,
      { overrides, require: "attack" },
    ).config;
  } catch (e) {
    throw new Error(`${spec.source}: evaluation.${section}: ${(e as Error).message}`);
  }
}

/** The attack settings of the protocol (the seed is the experiment's, the same for every model). */
function attackSettings(
  spec: ExperimentSpec,
  c: Config,
  pixelMax: number,
): AttributionAttackConfig {
  return { ...attributionAttackConfig(c, pixelMax), seed: spec.evaluation.seed };
}

/** What the figure shows of one model and image. */
export interface FigureRecord {
  /** Test-set index. */
  index: number;
  /** True label. */
  label: number;
  /** Whether the image was attacked. */
  attacked: boolean;
  /** Prediction on the original image. */
  predicted: number;
  /** Prediction on the attacked image. */
  attackedPredicted?: number;
  /** Top-k intersection. */
  intersection?: number;
  /** Kendall's τ. */
  kendall?: number;
  /** IG map of the original, H×W. */
  originalSaliency?: number[];
  /** The attacked image, H×W×C. */
  perturbed?: number[];
  /** IG map of the attacked image, H×W. */
  attackedSaliency?: number[];
}

/** Writes what the figure shows of one model and image (`results/figure/<run>-<image>.json`). */
async function writeFigureRecord(
  t: Trained,
  r: AttributionAttackResult,
  index: number,
  label: number,
  [H, W, C]: number[],
  results: string,
): Promise<void> {
  const fig: FigureRecord = { index, label, attacked: r.attacked, predicted: r.predicted };
  if (r.attacked) {
    const pred = tidy(() => argMax(t.model.logits(t.params, tensor(r.perturbed, [1, H, W, C]))));
    fig.attackedPredicted = (await pred.data())[0];
    pred.dispose();
    fig.intersection = r.intersection;
    fig.kendall = r.kendall;
    fig.originalSaliency = Array.from(r.originalSaliency);
    fig.perturbed = Array.from(r.perturbed);
    fig.attackedSaliency = Array.from(r.attackedSaliency);
  }
  await atomicWrite(join(results, "figure", `${t.slug}-${index}.json`), JSON.stringify(fig) + "\n");
}

async function evaluateModel(
  spec: ExperimentSpec,
  t: Trained,
  dataset: Dataset,
  selection: Selection,
  shard: { index: number; count: number },
  sink: Sink,
): Promise<void> {
  const results = join(spec.dir, "results");
  const { p, slug } = t;
  const suffix = shardSuffix(shard);

  // Natural accuracy on every test image (the first shard's job).
  const naturalPath = join(results, `${slug}.natural.json`);
  const n = Math.min(spec.evaluation.naturalExamples ?? Infinity, dataset.test.count);
  if (shard.index === 0 && !await done(naturalPath, { checkpoint: t.checkpoint, examples: n })) {
    const bar = new Progress(`${p.run.name} accuracy`, n, sink);
    const acc = await evaluateAccuracy(
      t.model,
      t.params,
      dataset.test,
      dataset.pixelMax,
      n,
      Math.max(p.config.eval_batch_size, 100),
      (d) => bar.update(d),
    );
    bar.finish();
    await atomicWrite(
      naturalPath,
      JSON.stringify({
        run: { checkpoint: t.checkpoint, examples: n },
        natural_accuracy: acc,
        examples: n,
      }) +
        "\n",
    );
  }

  // PGD accuracy.
  const pc = evalConfig(spec, p, "pgd");
  const lossFunc = evalLossFunc(pc.loss_func);
  const pgdExamples = Math.min(
    (spec.evaluation.pgd.examples as number | undefined) ?? pc.num_eval_examples,
    dataset.test.count,
  );
  const pgdRun = {
    checkpoint: t.checkpoint,
    epsilon: pc.epsilon,
    num_steps: pc.num_steps,
    step_size: pc.step_size,
    random_start: pc.random_start,
    loss_func: lossFunc,
    eval_batch_size: pc.eval_batch_size,
    seed: spec.evaluation.seed,
  };
  const pgdPath = join(results, `${slug}.pgd${suffix}.json`);
  if (!await done(pgdPath, pgdRun)) {
    const range = shardRange(pgdExamples, shard.index, shard.count, pc.eval_batch_size);
    const bar = new Progress(`${p.run.name} PGD`, range[1] - range[0], sink);
    const r = await naturalAndAdversarialAccuracy(
      t.model,
      t.params,
      dataset.test,
      dataset.pixelMax,
      {
        numExamples: pgdExamples,
        batchSize: pc.eval_batch_size,
        epsilon: pc.epsilon,
        numSteps: pc.num_steps,
        stepSize: pc.step_size,
        randomStart: pc.random_start,
        lossFunc,
        seed: spec.evaluation.seed,
        range,
      },
      (d) => bar.update(d),
    );
    bar.finish();
    const records: PgdRecord[] = r.perExample;
    const file: ResultFile<PgdRecord> = {
      kind: "pgd",
      version: 1,
      run: pgdRun,
      examples: pgdExamples,
      shard: { ...shard, range },
      records,
      summary: summarizePgd(records),
    };
    await atomicWrite(pgdPath, JSON.stringify(file, null, 1) + "\n");
  }

  // Attribution attack on this shard's part of the selected images.
  const ac = evalConfig(spec, p, "attribution");
  const cfg = attackSettings(spec, ac, dataset.pixelMax);
  const attRun = { checkpoint: t.checkpoint, ...cfg, images: selection.images };
  const attPath = join(results, `${slug}.attribution${suffix}.json`);
  if (await done(attPath, attRun)) return;
  const range = shardRange(selection.images.length, shard.index, shard.count);
  const indices = selection.images.slice(range[0], range[1]);
  const figureSet = new Set(selection.images.slice(0, spec.evaluation.figureImages));
  const [H, W, C] = dataset.test.shape;
  const bar = new Progress(`${p.run.name} attribution`, indices.length, sink);
  const records: AttributionRecord[] = [];
  await Deno.mkdir(join(results, "figure"), { recursive: true });
  const per = spec.evaluation.batchSize ?? ac.eval_batch_size;
  const budget = ac.memory_budget_mb;
  for (let done = 0; done < indices.length; done += per) {
    const batch = indices.slice(done, done + per);
    const px = new Float32Array(batch.length * H * W * C);
    batch.forEach((i, j) => px.set(hostImage(dataset, i), j * H * W * C));
    const x = tensor(px, [batch.length, H, W, C]);
    let found;
    try {
      found = await attributionAttackBatch(
        t.model,
        t.params,
        x,
        batch.map((i) => dataset.test.labels[i]),
        cfg,
        {
          seeds: batch.map((i) => repeatSeed(cfg.seed, i)),
          memoryBudgetBytes: budget ? budget * 2 ** 20 : undefined,
        },
      );
    } finally {
      x.dispose();
    }
    for (const [j, i] of batch.entries()) {
      const r = found[j];
      const label = dataset.test.labels[i];
      records.push(
        r.attacked
          ? {
            index: i,
            label,
            attacked: true,
            unchanged: r.unchanged,
            intersection: r.intersection,
            spearman: r.spearman,
            kendall: r.kendall,
            warnings: r.warnings.length ? r.warnings : undefined,
          }
          : { index: i, label, attacked: false },
      );
      if (figureSet.has(i)) await writeFigureRecord(t, r, i, label, [H, W, C], results);
    }
    bar.update(records.length);
  }
  bar.finish();
  const file: ResultFile<AttributionRecord> = {
    kind: "attribution",
    version: 1,
    run: attRun,
    examples: selection.images.length,
    shard: { ...shard, range },
    records,
    summary: summarizeAttribution(records),
  };
  await atomicWrite(attPath, JSON.stringify(file, null, 1) + "\n");
}

/**
 * Reads a model's result files of one kind: the unsharded file, or a complete set of shard
 * files (`.shard-i-of-n`, every i once), merged by position.
 */
async function readMerged<R>(dir: string, slug: string, kind: string): Promise<ResultFile<R>> {
  const whole = join(dir, `${slug}.${kind}.json`);
  if (await pathExists(whole)) return await readJson<ResultFile<R>>(whole);
  const re = new RegExp(
    `^${slug.replace(/[.]/g, "\\.")}\\.${kind}\\.shard-(\\d+)-of-(\\d+)\\.json$`,
  );
  const shards: { i: number; n: number; path: string }[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = re.exec(e.name);
    if (m) shards.push({ i: Number(m[1]), n: Number(m[2]), path: join(dir, e.name) });
  }
  if (!shards.length) {
    throw new Error(`no ${kind} results for ${slug} in ${dir}: run the evaluate stage`);
  }
  const n = shards[0].n;
  const mine = shards.filter((s) => s.n === n).sort((a, b) => a.i - b.i);
  const missing = Array.from({ length: n }, (_, k) => k + 1).filter((k) =>
    !mine.some((s) => s.i === k)
  );
  if (missing.length || shards.some((s) => s.n !== n)) {
    throw new Error(
      `${kind} results of ${slug} in ${dir}: shards ${missing.join(", ") || "of several counts"} ` +
        `of ${n} are missing or mixed; run the evaluate stage for them`,
    );
  }
  const files = await Promise.all(mine.map((s) => readJson<ResultFile<R>>(s.path)));
  const runKey = JSON.stringify(files[0].run);
  let next = 0;
  for (let k = 0; k < files.length; k++) {
    const f = files[k];
    if (JSON.stringify(f.run) !== runKey || f.examples !== files[0].examples) {
      throw new Error(`${mine[k].path}: comes from other settings than ${mine[0].path}`);
    }
    if (f.shard.range[0] !== next) {
      throw new Error(`${mine[k].path}: covers [${f.shard.range}), expected to start at ${next}`);
    }
    next = f.shard.range[1];
  }
  if (next !== files[0].examples) {
    throw new Error(`${kind} results of ${slug}: the shards cover ${next} of ${files[0].examples}`);
  }
  const records = files.flatMap((f) => f.records);
  return {
    ...files[0],
    shard: { index: 0, count: 1, range: [0, files[0].examples] },
    records,
    summary: kind === "pgd"
      ? summarizePgd(records as PgdRecord[])
      : summarizeAttribution(records as AttributionRecord[]),
  };
}

/** Steps and cumulative training time (seconds) recorded in a run's latest checkpoint. */
async function trainingInfo(c: Config): Promise<{ steps: number; seconds?: number }> {
  const latest = await new CheckpointStore(c.model_dir).latest();
  if (!latest) return { steps: 0 };
  const { metadata } = parseSafetensors(await Deno.readFile(latest.path), latest.path);
  let seconds: number | undefined;
  try {
    seconds = JSON.parse(metadata.rar_state ?? "{}").train_seconds;
  } catch {
    throw new Error(`${latest.path}: the training state in its metadata is not valid JSON`);
  }
  return { steps: latest.step, seconds };
}

/**
 * Runs the stages of an experiment (see the module documentation for what each writes).
 * @throws Error naming the experiment file, the run and what is wrong.
 */
export async function runExperiment(
  spec: ExperimentSpec,
  opts: ExperimentOptions = {},
): Promise<void> {
  const sink = opts.sink ?? stdoutSink();
  const stages = opts.stages ?? ["train", "evaluate", "report"];
  const shard = opts.shard ?? { index: 0, count: 1 };
  const t0 = performance.now();
  const prepared = await prepareRuns(spec);
  const name = await experimentDataset(spec, prepared);
  const dataset = await loadDataset(name, prepared[0].config.data_path);
  await Deno.mkdir(join(spec.dir, "results"), { recursive: true });
  const times: Record<string, number> = {};

  if (stages.includes("train")) {
    const s = performance.now();
    for (const p of prepared) await trainRun(spec, p, dataset, sink, opts.control);
    times.train = (performance.now() - s) / 1000;
  }
  if (stages.includes("evaluate")) {
    const s = performance.now();
    const trained: Trained[] = [];
    try {
      for (const p of prepared) trained.push(await loadTrained(p, name, sink));
      const batch = Math.max(prepared[0].config.eval_batch_size, 100);
      const selection = await selectImages(trained, dataset, spec.evaluation.images, batch);
      await atomicWrite(
        join(spec.dir, "results", "selection.json"),
        JSON.stringify(selection) + "\n",
      );
      sink.write(
        `evaluating ${trained.length} models on the first ${selection.images.length} test ` +
          `images all classify correctly (of ${selection.scanned})\n`,
      );
      for (const t of trained) await evaluateModel(spec, t, dataset, selection, shard, sink);
    } finally {
      for (const t of trained) for (const v of Object.values(t.params)) v.dispose();
    }
    times.evaluate = (performance.now() - s) / 1000;
  }
  if (stages.includes("report")) {
    const results = join(spec.dir, "results");
    const selection = await readJson<Selection>(join(results, "selection.json"));
    const models: ModelReport[] = [];
    for (const p of prepared) {
      const slug = runSlug(p.run.name);
      const natural = await readJson<{ natural_accuracy: number; examples: number }>(
        join(results, `${slug}.natural.json`),
      );
      const pgd = await readMerged<PgdRecord>(results, slug, "pgd");
      const att = await readMerged<AttributionRecord>(results, slug, "attribution");
      const hit = att.records.filter((r) => r.attacked);
      const figure: FigureRecord[] = [];
      for (const i of selection.images.slice(0, spec.evaluation.figureImages)) {
        figure.push(await readJson<FigureRecord>(join(results, "figure", `${slug}-${i}.json`)));
      }
      models.push({
        name: p.run.name,
        objective: p.config.training_objective,
        initFrom: p.run.initFromRun ?? p.run.initFromPath,
        naturalAccuracy: natural.natural_accuracy,
        naturalExamples: natural.examples,
        pgdAccuracy: pgd.summary.adversarial_accuracy,
        pgdExamples: pgd.records.length,
        intersection: meanAndError(hit.map((r) => r.intersection!)),
        kendall: meanAndError(hit.map((r) => r.kendall!)),
        spearman: meanAndError(hit.map((r) => r.spearman!)),
        perImage: new Map(hit.map((r) => [r.index, r])),
        attacked: hit.length,
        images: att.records.length,
        training: await trainingInfo(p.config),
        config: p.config,
        pgdSettings: pgd.run,
        attackSettings: att.run,
        figure,
      });
    }
    await writeReport(spec, dataset, selection, models);
    sink.write(
      `report: ${join(spec.dir, "report.md")}, figure: ${join(spec.dir, "comparison.png")}\n`,
    );
  }
  const parts = Object.entries(times).map(([k, v]) => `${k} ${formatDuration(v)}`);
  sink.write(
    `experiment ${spec.source}: ${parts.join(", ") || "done"}; total ${
      formatDuration((performance.now() - t0) / 1000)
    }\n`,
  );
}
