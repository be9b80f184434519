/**
 * Trained parameters from disk or the web: the newest checkpoint of a model directory that
 * loads (for `attack`, `explain` and experiments), the parameters a fine-tune starts from when
 * its configuration has `init_from` (a checkpoint file, or a model directory), and the
 * weights-only `model.safetensors` a finished run writes (`docs/weights.md`).
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Model, Params } from "../nn/model.ts";
import { loadParams, paramsFromSafeFile, saveParams } from "../nn/params.ts";
import { parseSafetensors, type SafeFile } from "../io/safetensors.ts";
import {
  atomicWrite,
  CHECKPOINT_INDEX,
  type CheckpointEntry,
  CheckpointStore,
  moveAside,
  pathExists,
} from "../io/files.ts";
import { GpuKernelError, GpuLimitError } from "../gpu/runtime.ts";
import { type Config, configToJson, parseConfig } from "../config.ts";
import type { DatasetName } from "../data/mod.ts";
import { modelForDataset } from "../nn/registry.ts";

/** Parameters loaded from a model directory's checkpoint. */
export interface LatestParams {
  /** The parameters (owned by the caller). */
  params: Params;
  /** The checkpoint read. */
  entry: CheckpointEntry;
  /** Its metadata (`rar_state`, `config`). */
  metadata: Record<string, string>;
}

/**
 * The parameters of the newest checkpoint of `dir` that loads for `model`; a damaged newer one
 * is skipped with a warning naming it (a GPU fault is not a damaged file, and stops the search).
 *
 * @returns `null` when the directory holds no checkpoint.
 * @throws Error listing every checkpoint tried when none loads.
 */
export async function loadLatestParams(
  model: Model,
  dir: string,
  warn: (message: string) => void,
): Promise<LatestParams | null> {
  const found = await new CheckpointStore(dir).loadLatest(
    (bytes, entry) => loadParams(model, bytes, entry.path),
    warn,
    { fatal: (e) => e instanceof GpuKernelError || e instanceof GpuLimitError },
  );
  if (!found) return null;
  return { params: found.value.params, entry: found.entry, metadata: found.value.metadata };
}

/** Parameters loaded for `init_from`, and where they came from. */
export interface InitialParams {
  /** The parameters (owned by the caller). */
  params: Params;
  /** The checkpoint file read. */
  path: string;
  /** The training step that checkpoint was saved at, when the file records it. */
  step?: number;
}

/**
 * Loads the parameters of `source` for `model`: a checkpoint file, or the latest checkpoint of a
 * model directory. Every parameter must be present with the model's shape; the optimiser state
 * and step of the checkpoint are not used.
 *
 * @throws Error naming `source` when it is missing or holds no checkpoint, and naming the tensor
 *   when a parameter is missing or has another shape.
 */
export async function loadInitialParams(model: Model, source: string): Promise<InitialParams> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch (e) {
    throw new Error(
      `init_from ${source}: ${
        e instanceof Deno.errors.NotFound ? "no such file or directory" : (e as Error).message
      } (expected a checkpoint file or a model directory)`,
    );
  }
  let loaded;
  let path = source;
  if (info.isDirectory) {
    const found = await loadLatestParams(model, source, (m) => console.error(`warning: ${m}`))
      .catch((e) => {
        throw new Error(`init_from ${source}: ${(e as Error).message}`);
      });
    if (!found) throw new Error(`init_from ${source}: the directory holds no checkpoint`);
    loaded = found;
    path = found.entry.path;
  } else loaded = loadParams(model, await Deno.readFile(path), `init_from ${path}`);
  let step: number | undefined;
  try {
    const s = JSON.parse(loaded.metadata.rar_state ?? "null")?.step;
    if (Number.isSafeInteger(s)) step = s;
  } catch {
    // A weights-only file has no training state; its step is unknown.
  }
  return { params: loaded.params, path, step };
}

/** The weights-only file a finished training run writes into its `model_dir`. */
export const WEIGHTS_FILE = "model.safetensors";

const DATASETS: readonly DatasetName[] = ["mnist", "fashion_mnist", "gtsrb", "flower"];

/** Whether `source` names an `http:` or `https:` resource. */
export function isHttpUrl(source: string | URL): boolean {
  const s = typeof source === "string" ? source : source.href;
  return /^https?:\/\//i.test(s);
}

/** A local path for `source` (a path, or a `file:` URL). */
function localPath(source: string | URL): string {
  if (source instanceof URL) {
    if (source.protocol !== "file:") {
      throw new Error(`${source.href}: expected a file path, a file: URL or an http(s) URL`);
    }
    return fileURLToPath(source);
  }
  return /^file:\/\//i.test(source) ? fileURLToPath(source) : source;
}

/**
 * The bytes of a weights file (a `model.safetensors` or a checkpoint): a local path, a `file:`
 * URL, or an `http(s)` URL (fetched).
 *
 * @returns the bytes and the name to use in messages (the path or the URL).
 * @throws Error naming the file or URL when it cannot be read (missing, a directory, an HTTP
 *   error status, a network failure).
 */
export async function readWeightsFile(
  source: string | URL,
): Promise<{ bytes: Uint8Array; path: string }> {
  if (isHttpUrl(source)) {
    const url = typeof source === "string" ? source : source.href;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`${url}: cannot fetch the weights: ${(e as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(
        `${url}: HTTP ${res.status} ${res.statusText} (expected a model.safetensors or ` +
          "checkpoint file)",
      );
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()), path: url };
  }
  const path = localPath(source);
  try {
    return { bytes: await Deno.readFile(path), path };
  } catch (e) {
    throw new Error(
      `${path}: ${
        e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message
      } (expected a model.safetensors or checkpoint file)`,
    );
  }
}

/**
 * The dataset a weights file was trained on: its `dataset` metadata, else the configuration's
 * `dataset`, else what the tensors tell (the MNIST CNN's `W_conv1` means `mnist`; a ResNet's
 * `logit/DW` of 43 or 17 classes means `gtsrb` or `flower`).
 *
 * @throws Error naming `path` when the metadata names no known dataset and the tensors are of
 *   no model of the paper.
 */
export function datasetOfWeights(file: SafeFile, path: string, config?: Config): DatasetName {
  const named = file.metadata.dataset;
  if (named !== undefined) {
    if (!(DATASETS as readonly string[]).includes(named)) {
      throw new Error(
        `${path}: metadata dataset ${JSON.stringify(named)} is not one of ${DATASETS.join(", ")}`,
      );
    }
    return named as DatasetName;
  }
  if (config?.dataset) return config.dataset;
  if (file.tensors.has("W_conv1")) return "mnist";
  const logit = file.tensors.get("logit/DW");
  if (logit?.shape.length === 2 && logit.shape[1] === 43) return "gtsrb";
  if (logit?.shape.length === 2 && logit.shape[1] === 17) return "flower";
  throw new Error(
    `${path}: cannot tell the model: no dataset metadata, and neither W_conv1 (MNIST CNN) nor ` +
      "logit/DW with 43 (GTSRB) or 17 (Flower) classes",
  );
}

/** A trained model: its parameters, the configuration it was trained with, and where from. */
export interface Trained {
  /** The model (docs/spec.md §2) of `dataset`. */
  model: Model;
  /** The parameters, on the GPU (owned by the caller). */
  params: Params;
  /** The training configuration (with `options.overrides` applied). */
  config: Config;
  /** The dataset the model is for. */
  dataset: DatasetName;
  /** The file read: a checkpoint, a `model.safetensors`, or the URL fetched. */
  path: string;
  /** The file's `__metadata__`. */
  metadata: Record<string, string>;
}

/** Options of {@linkcode loadTrained}. */
export interface LoadTrainedOptions {
  /** `key=value` overrides applied to the configuration (as `--set`). */
  overrides?: string[];
  /** The dataset (and so the model), when it should not come from the file. */
  dataset?: DatasetName;
  /** The configuration to use instead of the one the file or directory holds. */
  config?: Config;
  /** Receives a warning for each damaged newer checkpoint skipped in a directory. */
  warn?: (message: string) => void;
}

/** Builds a {@linkcode Trained} from a parsed weights file; `dirConfig` is a `config.json`. */
function trainedFrom(
  file: SafeFile,
  path: string,
  opts: LoadTrainedOptions,
  dirConfig?: { text: string; source: string },
): Trained {
  let config = opts.config;
  if (!config) {
    const text = dirConfig ??
      (file.metadata.config !== undefined
        ? { text: file.metadata.config, source: `${path} (config metadata)` }
        : undefined);
    if (!text) {
      throw new Error(
        `${path}: the file holds no configuration (config metadata); pass one ` +
          "(LoadTrainedOptions.config, or --config)",
      );
    }
    config = parseConfig(text.text, text.source, { overrides: opts.overrides }).config;
  }
  const dataset = opts.dataset ?? datasetOfWeights(file, path, config);
  const model = modelForDataset(dataset);
  const { params, metadata } = paramsFromSafeFile(model, file, path);
  return { model, params, config, dataset, path, metadata };
}

/**
 * Loads a trained model from `source`: a model directory (its newest checkpoint that loads,
 * else its `model.safetensors`; the configuration from its `config.json`), a checkpoint or
 * `model.safetensors` file, or an `http(s)` URL of one (fetched; needs network access to its
 * host). The model is the one of the dataset the file names (see
 * {@linkcode datasetOfWeights}); a file's configuration is its `config` metadata.
 *
 * @throws Error naming the file or URL when it is missing or unreadable, holds no
 *   configuration, or its tensors do not match the model (a missing or extra name, another
 *   shape or dtype: the tensor is named).
 */
export async function loadTrained(
  source: string | URL,
  options: LoadTrainedOptions = {},
): Promise<Trained> {
  if (!isHttpUrl(source)) {
    const path = localPath(source);
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new Error(`${path}: ${(e as Error).message}`);
      throw new Error(
        `${path}: no such file or directory (expected a model directory, a checkpoint or a ` +
          `${WEIGHTS_FILE} file)`,
      );
    }
    if (info.isDirectory) return await loadTrainedDir(path, options);
  }
  const { bytes, path } = await readWeightsFile(source);
  return trainedFrom(parseSafetensors(bytes, path), path, options);
}

async function loadTrainedDir(dir: string, opts: LoadTrainedOptions): Promise<Trained> {
  const cfgPath = join(dir, "config.json");
  const dirConfig = await pathExists(cfgPath)
    ? { text: await Deno.readTextFile(cfgPath), source: cfgPath }
    : undefined;
  const found = await new CheckpointStore(dir).loadLatest(
    (bytes, entry) => trainedFrom(parseSafetensors(bytes, entry.path), entry.path, opts, dirConfig),
    opts.warn ?? ((m) => console.error(`warning: ${m}`)),
    { fatal: (e) => e instanceof GpuKernelError || e instanceof GpuLimitError },
  );
  if (found) return found.value;
  const weights = join(dir, WEIGHTS_FILE);
  if (!(await pathExists(weights))) {
    throw new Error(`${dir}: the directory holds no checkpoint and no ${WEIGHTS_FILE}`);
  }
  const { bytes, path } = await readWeightsFile(weights);
  return trainedFrom(parseSafetensors(bytes, path), path, opts, dirConfig);
}

/** What a finished run records in its `model.safetensors` besides the weights. */
export interface WeightsInfo {
  /** The dataset trained on. */
  dataset: DatasetName;
  /** The training configuration. */
  config: Config;
  /** The step the weights are of. */
  step: number;
  /** The training run's identity (its checkpoint index's `run`). */
  run?: string;
}

/** The run identity of a directory's checkpoint index, when it has one. */
async function indexRun(dir: string): Promise<string | undefined> {
  try {
    const run = JSON.parse(await Deno.readTextFile(join(dir, CHECKPOINT_INDEX)))?.run;
    return typeof run === "string" && run ? run : undefined;
  } catch {
    return undefined;
  }
}

/** The `rar_run` metadata of an existing weights file, or undefined when it has none or is
 * unreadable. */
async function weightsRun(path: string): Promise<string | undefined> {
  try {
    const run = parseSafetensors(await Deno.readFile(path), path).metadata.rar_run;
    return run || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `dir/model.safetensors` atomically (temporary file, then rename): only the model's
 * parameters (F32, named as in docs/spec.md §2) with `__metadata__` `format` (`rar-weights`), `model` (the
 * family), `dataset`, `config` (JSON, with `dataset` set), `step` and `rar_run`. An existing
 * `model.safetensors` of the same run is replaced; one of another run (or of none) is first
 * moved into `dir/previous/<UTC time>/`, so nothing is lost.
 *
 * @param run the run identity; default: the run of `dir`'s checkpoint index.
 * @returns the path written, and where an earlier file was moved (if one was).
 */
export async function saveWeights(
  dir: string,
  model: Model,
  params: Params,
  info: WeightsInfo,
): Promise<{ path: string; moved?: string }> {
  const path = join(dir, WEIGHTS_FILE);
  const run = info.run ?? await indexRun(dir);
  let moved: string | undefined;
  if (await pathExists(path)) {
    const previous = await weightsRun(path);
    if (previous === undefined || previous !== run) moved = await moveAside(dir, [WEIGHTS_FILE]);
  }
  const metadata: Record<string, string> = {
    format: "rar-weights",
    model: model.kind,
    dataset: info.dataset,
    config: configToJson({ ...info.config, dataset: info.dataset }),
    step: String(info.step),
  };
  if (run) metadata.rar_run = run;
  const own: Params = {};
  for (const s of model.specs) own[s.name] = params[s.name];
  await atomicWrite(path, await saveParams(own, metadata));
  return moved ? { path, moved: join(moved, WEIGHTS_FILE) } : { path };
}
