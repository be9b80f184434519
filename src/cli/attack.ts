/**
 * `deno task attack`: evaluation of a trained model (docs/spec.md §8–10).
 *
 *   deno task attack pgd          natural and PGD accuracy (NA, AA)
 *   deno task attack attribution  attribution robustness (IN, CO, Spearman)
 *   deno task attack explain      figures: image, IG map, attacked image, IG map
 *   deno task attack merge        combine shard result files
 * @module
 */

import { Command } from "commander";
import { init } from "../init.ts";
import { type Config, dataSeed, parseConfig } from "../config.ts";
import { type Dataset, inferDataset, loadDataset } from "../data/mod.ts";
import { atomicWrite, CheckpointStore, pathExists } from "../io/files.ts";
import {
  datasetOfWeights,
  isHttpUrl,
  loadLatestParams,
  readWeightsFile,
  WEIGHTS_FILE,
} from "../train/load.ts";
import { paramsFromSafeFile } from "../nn/params.ts";
import { parseSafetensors } from "../io/safetensors.ts";
import { dirname, join } from "node:path";
import type { Model, Params } from "../nn/model.ts";
import { modelForDataset } from "../nn/registry.ts";
import { type DatasetName, evalLossFunc } from "../vocabulary.ts";
import { naturalAndAdversarialAccuracy } from "../eval/accuracy.ts";
import {
  type AttributionRecord,
  mergedPath,
  mergeResults,
  parseResultFile,
  parseShard,
  type PgdRecord,
  type ResultFile,
  shardRange,
  summarizeAttribution,
  summarizePgd,
} from "../eval/results.ts";
import {
  attributionAttackBatch,
  attributionAttackConfig,
  type AttributionAttackResult,
  repeatSeed,
} from "../attacks/attribution.ts";
import { tensor } from "../tensor.ts";
import { panelsToPng } from "../io/figure.ts";
import { Progress, stdoutSink } from "../train/report.ts";
import { datasetOption, fail, PLAIN_OUTPUT, readConfigFile, readTargetMap } from "./common.ts";

interface CommonOptions {
  config?: string;
  modelDir?: string;
  model?: string;
  set: string[];
  dataset?: DatasetName;
  examples?: number;
  shard?: string;
  out?: string;
}

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  return n;
};

function common(cmd: Command): Command {
  return cmd
    .option(
      "-c, --config <path>",
      "configuration (default: <model-dir>/config.json, else the MNIST quickstart)",
    )
    .option("-m, --model-dir <dir>", "trained model directory (default: the config's model_dir)")
    .option(
      "--model <path|url>",
      "trained model: a model directory, a checkpoint or model.safetensors file, or an " +
        "http(s) URL of one (instead of --model-dir)",
    )
    .option(
      "-s, --set <key=value>",
      "override a configuration key (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addOption(datasetOption())
    .option(
      "-n, --examples <n>",
      "test images (default: num_eval_examples)",
      positiveInt("--examples"),
    )
    .option(
      "--shard <i/n>",
      "evaluate only shard i of n (1-based), for job arrays; combine with merge",
    )
    .option("-o, --out <file>", "result JSON (default: <model_dir>/<command>[.shard-i-of-n].json)");
}

interface Loaded {
  config: Config;
  source: string;
  dataset: Dataset;
  model: Model;
  params: Params;
  checkpoint: string;
}

async function load(o: CommonOptions): Promise<Loaded> {
  if (o.model !== undefined && o.modelDir !== undefined) {
    throw new Error("give either --model or --model-dir, not both");
  }
  let modelDir = o.modelDir;
  if (o.model !== undefined) {
    const isDir = !isHttpUrl(o.model) &&
      (await Deno.stat(o.model).then((i) => i.isDirectory, () => false));
    if (!isDir) return await loadWeights(o, o.model);
    modelDir = o.model;
  }
  let source = o.config;
  if (!source && modelDir) {
    try {
      await Deno.stat(`${modelDir}/config.json`);
      source = `${modelDir}/config.json`;
    } catch { /* fall back to the quickstart */ }
  }
  source ??= "configs/mnist/quickstart.json";
  const overrides = [...o.set];
  if (modelDir) overrides.push(`model_dir=${JSON.stringify(modelDir)}`);
  const { config, warnings } = parseConfig(await readConfigFile(source), source, {
    overrides,
    require: "attack",
  });
  for (const w of warnings) console.error(`warning: ${w}`);
  // a directory holding only the weights-only file of a finished (e.g. downloaded) run
  const weights = join(config.model_dir, WEIGHTS_FILE);
  if (!(await new CheckpointStore(config.model_dir).latest()) && await pathExists(weights)) {
    return await loadWeights(o, weights);
  }
  const name = o.dataset ?? config.dataset ?? await inferDataset(config.data_path);
  const rt = await init();
  console.log(`adapter: ${rt.adapterName}`);
  const dataset = await loadDataset(name, config.data_path);
  const model = modelForDataset(name);
  const latest = await loadLatestParams(
    model,
    config.model_dir,
    (m) => console.error(`warning: ${m}`),
  );
  if (!latest) {
    throw new Error(
      `no checkpoint in ${config.model_dir}: train a model first (deno task train --config ${source})`,
    );
  }
  const { params, entry } = latest;
  console.log(`model: ${entry.path}; data: ${name} (${dataset.test.count} test images)`);
  return { config, source, dataset, model, params, checkpoint: entry.path };
}

/**
 * Loads the model of `--model FILE|URL` (a checkpoint or a `model.safetensors`). The
 * configuration is `--config`, else the one the file carries (`config` metadata), else
 * `config.json` next to a local file, else the quickstart; results go next to a local file (the
 * current directory for a URL) unless `--out` says otherwise. Mirrors `weightsPermissions`.
 */
async function loadWeights(o: CommonOptions, weights: string): Promise<Loaded> {
  const { bytes, path } = await readWeightsFile(weights);
  const file = parseSafetensors(bytes, path);
  const url = isHttpUrl(weights);
  const near = url ? "." : dirname(path);
  let source = o.config, text: string | undefined;
  if (source === undefined && file.metadata.config !== undefined) {
    source = `${path} (config metadata)`;
    text = file.metadata.config;
  }
  if (source === undefined && !url && await pathExists(join(near, "config.json"))) {
    source = join(near, "config.json");
  }
  source ??= "configs/mnist/quickstart.json";
  text ??= await readConfigFile(source);
  const { config, warnings } = parseConfig(text, source, {
    overrides: [...o.set, `model_dir=${JSON.stringify(near)}`],
    require: "attack",
  });
  for (const w of warnings) console.error(`warning: ${w}`);
  const name = o.dataset ??
    (file.metadata.dataset !== undefined ? datasetOfWeights(file, path) : undefined) ??
    config.dataset ?? await inferDataset(config.data_path);
  const rt = await init();
  console.log(`adapter: ${rt.adapterName}`);
  const model = modelForDataset(name);
  const { params } = paramsFromSafeFile(model, file, path);
  let dataset: Dataset;
  try {
    dataset = await loadDataset(name, config.data_path);
  } catch (e) {
    if (url && e instanceof Deno.errors.NotCapable) {
      throw new Error(
        `${(e as Error).message}: with --model URL the task may read only the data that ` +
          "--config or --set data_path=... names; give one of them",
      );
    }
    throw e;
  }
  console.log(`model: ${path}; data: ${name} (${dataset.test.count} test images)`);
  return { config, source, dataset, model, params, checkpoint: path };
}

function outPath(
  o: CommonOptions,
  c: Config,
  kind: string,
  shard?: { index: number; count: number },
): string {
  if (o.out) return o.out;
  const suffix = shard && shard.count > 1 ? `.shard-${shard.index + 1}-of-${shard.count}` : "";
  return `${c.model_dir}/${kind}${suffix}.json`;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function printTable(rows: [string, string][]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

async function runPgd(o: CommonOptions): Promise<void> {
  const shard = o.shard ? parseShard(o.shard) : { index: 0, count: 1 };
  const L = await load(o);
  const c = L.config;
  const lossFunc = evalLossFunc(c.loss_func);
  if (lossFunc !== c.loss_func) {
    console.error(
      `note: PGD evaluation uses ${lossFunc} (the config's loss_func is ${c.loss_func})`,
    );
  }
  const examples = Math.min(o.examples ?? c.num_eval_examples, L.dataset.test.count);
  const range = shardRange(examples, shard.index, shard.count, c.eval_batch_size);
  const bar = new Progress("pgd", range[1] - range[0], stdoutSink());
  const r = await naturalAndAdversarialAccuracy(
    L.model,
    L.params,
    L.dataset.test,
    L.dataset.pixelMax,
    {
      numExamples: examples,
      batchSize: c.eval_batch_size,
      epsilon: c.epsilon,
      numSteps: c.num_steps,
      stepSize: c.step_size,
      randomStart: c.random_start,
      lossFunc,
      seed: dataSeed(c),
      range,
    },
    (done) => bar.update(done),
  );
  bar.finish();
  const records: PgdRecord[] = r.perExample;
  const file: ResultFile<PgdRecord> = {
    kind: "pgd",
    version: 1,
    run: {
      checkpoint: L.checkpoint,
      epsilon: c.epsilon,
      num_steps: c.num_steps,
      step_size: c.step_size,
      random_start: c.random_start,
      loss_func: lossFunc,
      eval_batch_size: c.eval_batch_size,
      seed: dataSeed(c),
    },
    examples,
    shard: { ...shard, range },
    records,
    summary: summarizePgd(records),
  };
  const path = outPath(o, c, "pgd", shard);
  await atomicWrite(path, JSON.stringify(file, null, 1) + "\n");
  console.log(
    `\nPGD (${lossFunc}, ε = ${c.epsilon}, ${c.num_steps} steps of ${c.step_size}) on test images ${
      range[0]
    }…${range[1] - 1}:`,
  );
  printTable([
    ["natural accuracy (NA)", pct(file.summary.natural_accuracy)],
    ["adversarial accuracy (AA)", pct(file.summary.adversarial_accuracy)],
    ["images", String(records.length)],
  ]);
  console.log(`per-image results: ${path}`);
}

function readTarget(
  path: string | undefined,
  H: number,
  W: number,
): Promise<Float32Array | undefined> {
  return path ? readTargetMap(path, H, W) : Promise.resolve(undefined);
}

interface AttributionOptions extends CommonOptions {
  target?: string;
}

/**
 * Attacks the test images `indices` in batches of `eval_batch_size` (docs/spec.md §8): each batch's
 * images are attacked together, image i with the seed `repeatSeed(seed, i)` whatever its batch,
 * so results do not depend on the batch size. `onImage` gets every image's result in order;
 * `onStep` is told each attack step of a batch (its image indices, repeat and step).
 */
async function attackImages(
  L: Loaded,
  indices: number[],
  target: Float32Array | undefined,
  onImage: (i: number, r: AttributionAttackResult) => void | Promise<void>,
  onStep?: (batch: number[], repeat: number, step: number) => void,
): Promise<void> {
  const base = attributionAttackConfig(L.config, L.dataset.pixelMax, target);
  const split = L.dataset.test;
  const [H, W, C] = split.shape;
  const pix = H * W * C;
  const per = L.config.eval_batch_size;
  const budget = L.config.memory_budget_mb;
  for (let done = 0; done < indices.length; done += per) {
    const batch = indices.slice(done, done + per);
    const px = new Float32Array(batch.length * pix);
    for (const [j, i] of batch.entries()) {
      for (let t = 0; t < pix; t++) {
        px[j * pix + t] = split.images[i * pix + t] / 255 * L.dataset.pixelMax;
      }
    }
    const x = tensor(px, [batch.length, H, W, C]);
    let results: AttributionAttackResult[];
    try {
      results = await attributionAttackBatch(
        L.model,
        L.params,
        x,
        batch.map((i) => split.labels[i]),
        base,
        {
          seeds: batch.map((i) => repeatSeed(base.seed, i)),
          memoryBudgetBytes: budget ? budget * 2 ** 20 : undefined,
          onStep: (r, s) => onStep?.(batch, r, s),
        },
      );
    } finally {
      x.dispose();
    }
    for (const [j, i] of batch.entries()) await onImage(i, results[j]);
  }
}

async function runAttribution(o: AttributionOptions): Promise<void> {
  const shard = o.shard ? parseShard(o.shard) : { index: 0, count: 1 };
  const L = await load(o);
  const c = L.config;
  const [H, W] = L.dataset.test.shape;
  const target = await readTarget(o.target, H, W);
  if (c.attribution_attack_method === "target" && !target) {
    throw new Error("attribution_attack_method target needs --target FILE (a JSON H×W array)");
  }
  const examples = Math.min(o.examples ?? c.num_eval_examples, L.dataset.test.count);
  const range = shardRange(examples, shard.index, shard.count);
  const indices = Array.from({ length: range[1] - range[0] }, (_, k) => range[0] + k);
  const bar = new Progress("attribution", indices.length, stdoutSink());
  const records: AttributionRecord[] = [];
  const warned = new Set<string>();
  await attackImages(L, indices, target, (i, r) => {
    for (const w of r.warnings) {
      const key = w.replace(/\d+ non-zero/, "N non-zero");
      if (!warned.has(key)) bar.line(`warning (image ${i}): ${w}`);
      warned.add(key);
    }
    records.push(
      r.attacked
        ? {
          index: i,
          label: r.label,
          attacked: true,
          unchanged: r.unchanged,
          intersection: r.intersection,
          spearman: r.spearman,
          kendall: r.kendall,
          warnings: r.warnings.length ? r.warnings : undefined,
        }
        : { index: i, label: r.label, attacked: false },
    );
    bar.update(records.length);
  }, (batch, r, step) => {
    const repeat = c.attribution_attack_times > 1
      ? `repeat ${r + 1}/${c.attribution_attack_times}, `
      : "";
    const steps = c.attribution_attack_steps;
    bar.update(
      records.length,
      `images ${batch[0]}…${batch[batch.length - 1]}: ${repeat}step ${step + 1}/${steps}`,
    );
  });
  bar.finish();
  const file: ResultFile<AttributionRecord> = {
    kind: "attribution",
    version: 1,
    run: {
      checkpoint: L.checkpoint,
      ...attributionAttackConfig(c, L.dataset.pixelMax),
      target: o.target ?? null,
    },
    examples,
    shard: { ...shard, range },
    records,
    summary: summarizeAttribution(records),
  };
  const path = outPath(o, c, "attribution", shard);
  await atomicWrite(path, JSON.stringify(file, null, 1) + "\n");
  const s = file.summary;
  console.log(
    `\nattribution attack ${c.attribution_attack_method} (measure ${c.attribution_attack_measure}, ` +
      `${c.saliency_type} saliency, ε = ${c.epsilon}, ${c.attribution_attack_steps} steps of ` +
      `${c.attribution_attack_step_size}, ${c.attribution_attack_times}×) on test images ${
        range[0]
      }…${range[1] - 1}:`,
  );
  printTable([
    [`top-${c.eval_k_top} intersection (IN)`, s.intersection.toFixed(4)],
    ["Kendall's tau (CO)", s.kendall.toFixed(4)],
    ["Spearman's rho", s.spearman.toFixed(4)],
    ["attacked images (correctly classified)", `${s.attacked} of ${s.images}`],
    ["unchanged (no successful step)", String(s.unchanged)],
  ]);
  console.log(`per-image results: ${path}`);
}

interface ExplainOptions extends CommonOptions {
  images: string;
  outDir?: string;
  target?: string;
}

async function runExplain(o: ExplainOptions): Promise<void> {
  const L = await load(o);
  const c = L.config;
  const [H, W, C] = L.dataset.test.shape;
  const indices = o.images.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0 || n >= L.dataset.test.count) {
      throw new Error(
        `--images: ${JSON.stringify(s)} is not a test image index (0…${L.dataset.test.count - 1})`,
      );
    }
    return n;
  });
  const dir = o.outDir ?? `${c.model_dir}/figures`;
  await Deno.mkdir(dir, { recursive: true });
  const target = await readTarget(o.target, H, W);
  await attackImages(L, indices, target, async (i, r) => {
    if (!r.attacked) {
      console.log(
        `image ${i}: predicted ${r.predicted}, label ${r.label}: not attacked (misclassified)`,
      );
      return;
    }
    const off = i * H * W * C;
    const orig = Float32Array.from(
      L.dataset.test.images.subarray(off, off + H * W * C),
      (v) => v / 255 * L.dataset.pixelMax,
    );
    const img = (data: Float32Array) => ({
      kind: "image" as const,
      data,
      height: H,
      width: W,
      channels: C,
      pixelMax: L.dataset.pixelMax,
    });
    const map = (data: Float32Array) => ({ kind: "map" as const, data, height: H, width: W });
    const png = panelsToPng([
      img(orig),
      map(r.originalSaliency),
      img(r.perturbed),
      map(r.attackedSaliency),
    ]);
    await atomicWrite(`${dir}/image-${i}.png`, png);
    await atomicWrite(
      `${dir}/image-${i}.json`,
      JSON.stringify({
        index: i,
        label: r.label,
        method: c.attribution_attack_method,
        saliency_type: c.saliency_type,
        intersection: r.intersection,
        spearman: r.spearman,
        kendall: r.kendall,
        unchanged: r.unchanged,
        shape: [H, W],
        original_saliency: Array.from(r.originalSaliency),
        attacked_saliency: Array.from(r.attackedSaliency),
      }) + "\n",
    );
    console.log(
      `image ${i}: top-${c.eval_k_top} intersection ${r.intersection.toFixed(3)}, Kendall ${
        r.kendall.toFixed(3)
      }, ` +
        `Spearman ${r.spearman.toFixed(3)} → ${dir}/image-${i}.png`,
    );
  });
}

async function runMerge(files: string[], o: { out?: string }): Promise<void> {
  const out = mergedPath(files, o.out);
  const loaded = [];
  for (const name of files) {
    let text;
    try {
      text = await Deno.readTextFile(name);
    } catch (e) {
      throw new Error(`merge: cannot read ${name}: ${(e as Error).message}`);
    }
    loaded.push({ name, data: parseResultFile(text, name) });
  }
  await refuseAlias(out, files);
  const merged = mergeResults(loaded);
  await atomicWrite(out, JSON.stringify(merged, null, 1) + "\n");
  console.log(`merged ${files.length} shards (${merged.records.length} images) into ${out}`);
  printTable(
    Object.entries(merged.summary).map((
      [k, v],
    ) => [k, Number.isInteger(v) ? String(v) : v.toFixed(4)]),
  );
}

/** Refuses an existing output that is one of the inputs under another name (a link). */
async function refuseAlias(out: string, files: string[]): Promise<void> {
  let real: string;
  try {
    real = await Deno.realPath(out);
  } catch {
    return; // no such file yet
  }
  for (const f of files) {
    if ((await Deno.realPath(f)) === real) {
      throw new Error(`merge: ${out} is the input ${f}; name another file with --out`);
    }
  }
}

const program = new Command().name("deno task attack").description(
  "Evaluate a trained model: natural/PGD accuracy and attribution robustness (docs/spec.md §8–10).",
).showHelpAfterError().configureOutput(PLAIN_OUTPUT);

common(
  program.command("pgd").description(
    "natural and PGD accuracy (NA, AA) over the first test images",
  ),
)
  .action((o: CommonOptions) => runPgd(o));
common(
  program.command("attribution").description(
    "attribution attack (Ghorbani et al.): top-k intersection (IN), Kendall's tau (CO), Spearman",
  ),
).option("--target <file>", "target map (JSON H×W array) for attribution_attack_method target")
  .action((o: AttributionOptions) => runAttribution(o));
common(program.command("explain").description("PNG figures and raw maps of attacked test images"))
  .requiredOption("--images <list>", "comma-separated test image indices, e.g. 0,1,2")
  .option("--out-dir <dir>", "where figures go (default: <model_dir>/figures)")
  .option("--target <file>", "target map for the target attack")
  .action((o: ExplainOptions) => runExplain(o));
program.command("merge").description("combine shard result files into the unsharded result")
  .argument("<files...>", "result files of one run's shards")
  .option("-o, --out <file>", "merged result (default: the shard name without .shard-i-of-n)")
  .action((files: string[], o: { out?: string }) => runMerge(files, o));

try {
  await program.parseAsync(["deno", "attack", ...Deno.args]);
} catch (e) {
  fail(e);
}
