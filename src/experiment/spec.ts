/**
 * Experiment files: named training runs (each a `config.json` plus overrides, optionally
 * fine-tuned from an earlier run) and one evaluation protocol applied to every model.
 *
 * ```json
 * {
 *   "dir": "models/experiments/mnist_small",
 *   "runs": [
 *     { "name": "NATURAL", "config": "../mnist/nat.json", "set": { "max_num_training_steps": 600 } },
 *     { "name": "IG-NORM", "config": "../mnist/ig_norm.json", "init_from": "NATURAL" }
 *   ],
 *   "evaluation": {
 *     "images": 40,
 *     "attribution": { "attribution_attack_method": "topK", "k_top": 50, "num_IG_steps": 30 },
 *     "pgd": { "examples": 1000, "epsilon": 0.3, "num_steps": 40, "step_size": 0.01 },
 *     "figure_images": 4
 *   }
 * }
 * ```
 *
 * Pure TypeScript: the caller reads the file. `dir` is relative to the working directory, like
 * a configuration's `model_dir`; `config` and an `init_from` that is not a run name are relative
 * to the experiment file's directory.
 * @module
 */

import { join, normalize } from "node:path";

/** One training run of an experiment. */
export interface RunSpec {
  /** The run's name, unique in the experiment (shown in the report and the figure). */
  name: string;
  /** Its configuration file, resolved against the experiment file's directory. */
  config: string;
  /** Configuration keys to override (JSON values), applied after the file. */
  set: Record<string, unknown>;
  /** The earlier run it is fine-tuned from (its name), if any. */
  initFromRun?: string;
  /** A checkpoint file or model directory it is fine-tuned from, if not a run of this file. */
  initFromPath?: string;
  /** The run's model directory: `<dir>/<slug of name>`. */
  modelDir: string;
}

/** The attribution-attack settings of the evaluation (configuration keys). */
export const ATTRIBUTION_KEYS = [
  "attribution_attack_method",
  "attribution_attack_measure",
  "saliency_type",
  "num_IG_steps",
  "k_top",
  "eval_k_top",
  "attribution_attack_step_size",
  "attribution_attack_steps",
  "attribution_attack_times",
  "epsilon",
  "memory_budget_mb",
] as const;

/** The PGD settings of the evaluation (configuration keys, plus `examples`). */
export const PGD_KEYS = [
  "examples",
  "epsilon",
  "num_steps",
  "step_size",
  "random_start",
  "loss_func",
] as const;

/** The evaluation protocol: the same test images and settings for every model. */
export interface EvaluationSpec {
  /** Attack the first this many test images that every model classifies correctly. */
  images: number;
  /** Attribution-attack settings as configuration keys (see {@link ATTRIBUTION_KEYS}). */
  attribution: Record<string, unknown>;
  /** PGD settings as configuration keys, plus `examples` (see {@link PGD_KEYS}). */
  pgd: Record<string, unknown>;
  /** How many of the attacked images the comparison figure shows (default: up to 4). */
  figureImages: number;
  /** Test images of the natural accuracy (default: all). */
  naturalExamples?: number;
  /** Images attacked together (default: the configuration's `eval_batch_size`). */
  batchSize?: number;
  /** Seed of the evaluation's random draws (PGD starts, random directions). */
  seed: number;
}

/** A parsed experiment file. */
export interface ExperimentSpec {
  /** The file it came from. */
  source: string;
  /** Output directory: model directories, results, the report and the figure. */
  dir: string;
  /** The runs, in training order (a run's `init_from` run comes before it). */
  runs: RunSpec[];
  /** The evaluation protocol. */
  evaluation: EvaluationSpec;
}

/**
 * The `--set` overrides that make a run's configuration: its `set` keys, its `model_dir` and,
 * for a fine-tune, `init_from` (an earlier run's model directory, or the path given).
 */
export function runOverrides(spec: ExperimentSpec, run: RunSpec): string[] {
  const overrides = Object.entries(run.set).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  overrides.push(`model_dir=${JSON.stringify(run.modelDir)}`);
  const from = run.initFromRun
    ? spec.runs.find((r) => r.name === run.initFromRun)!.modelDir
    : run.initFromPath;
  if (from) overrides.push(`init_from=${JSON.stringify(from)}`);
  return overrides;
}

/** A directory name for a run: letters, digits, `-`, `_` and `.`, lower case. */
export function runSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "run";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates an experiment file.
 *
 * @param text the file's content.
 * @param source the file's path (messages name it; relative paths resolve against its directory).
 * @param dirOverride an output directory replacing the file's `dir`.
 * @throws Error naming the file, the key and what was expected, listing every problem found.
 */
export function parseExperiment(
  text: string,
  source: string,
  dirOverride?: string,
): ExperimentSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  const errors: string[] = [];
  const bad = (key: string, want: string, got: unknown) =>
    errors.push(`${key}: expected ${want}, got ${JSON.stringify(got) ?? String(got)}`);
  if (!isObject(raw)) throw new Error(`${source}: expected a JSON object at the top level`);
  const base = source.includes("/") ? source.slice(0, source.lastIndexOf("/")) : ".";
  const resolve = (p: string) => (p.startsWith("/") ? normalize(p) : normalize(join(base, p)));
  const known = new Set(["_comment", "dir", "runs", "evaluation"]);
  for (const k of Object.keys(raw)) {
    if (!known.has(k)) errors.push(`${k}: unknown key (expected dir, runs, evaluation)`);
  }

  let dir = "";
  if (dirOverride !== undefined) dir = dirOverride;
  else if (typeof raw.dir === "string" && raw.dir.length > 0) dir = normalize(raw.dir);
  else bad("dir", "the output directory (a non-empty string)", raw.dir);

  const runs: RunSpec[] = [];
  const rawRuns: unknown[] = Array.isArray(raw.runs) ? raw.runs : [];
  if (rawRuns.length === 0) {
    bad("runs", "a non-empty array of runs", raw.runs);
  } else {
    const names = new Set<string>();
    const slugs = new Map<string, string>();
    rawRuns.forEach((r: unknown, i: number) => {
      const at = `runs[${i}]`;
      if (!isObject(r)) return bad(at, "an object {name, config, set?, init_from?}", r);
      for (const k of Object.keys(r)) {
        if (!["_comment", "name", "config", "set", "init_from"].includes(k)) {
          errors.push(`${at}.${k}: unknown key (expected name, config, set, init_from)`);
        }
      }
      const name = r.name;
      if (typeof name !== "string" || !name.trim()) {
        return bad(`${at}.name`, "a non-empty string", name);
      }
      if (names.has(name)) return errors.push(`${at}.name: ${JSON.stringify(name)} is used twice`);
      const slug = runSlug(name);
      if (slugs.has(slug)) {
        return errors.push(
          `${at}.name: ${JSON.stringify(name)} and ${
            JSON.stringify(slugs.get(slug))
          } share the directory name ${slug}`,
        );
      }
      if (typeof r.config !== "string" || !r.config) {
        return bad(`${at}.config`, "the path of a config.json", r.config);
      }
      const set = r.set ?? {};
      if (!isObject(set)) return bad(`${at}.set`, "an object of configuration keys", set);
      for (const k of ["model_dir", "continue_train", "init_from"]) {
        if (Object.hasOwn(set, k)) {
          errors.push(`${at}.set.${k}: set by the experiment itself; remove it from "set"`);
        }
      }
      const run: RunSpec = {
        name,
        config: resolve(r.config),
        set,
        modelDir: join(dir, slug),
      };
      if (r.init_from !== undefined) {
        if (typeof r.init_from !== "string" || !r.init_from) {
          bad(
            `${at}.init_from`,
            "the name of an earlier run, a checkpoint or a model directory",
            r.init_from,
          );
        } else if (names.has(r.init_from)) run.initFromRun = r.init_from;
        else if (rawRuns.some((o: unknown) => isObject(o) && o.name === r.init_from)) {
          errors.push(
            `${at}.init_from: run ${JSON.stringify(r.init_from)} must come before ${name}`,
          );
        } else run.initFromPath = resolve(r.init_from);
      }
      names.add(name);
      slugs.set(slug, name);
      runs.push(run);
    });
  }

  const ev = raw.evaluation;
  const evaluation: EvaluationSpec = {
    images: 0,
    attribution: {},
    pgd: {},
    figureImages: 4,
    seed: 0,
  };
  if (!isObject(ev)) {
    bad(
      "evaluation",
      "an object {images, attribution, pgd, figure_images?, batch_size?, seed?}",
      ev,
    );
  } else {
    const evKeys = [
      "_comment",
      "images",
      "attribution",
      "pgd",
      "figure_images",
      "natural_examples",
      "batch_size",
      "seed",
    ];
    for (const k of Object.keys(ev)) {
      if (!evKeys.includes(k)) {
        errors.push(`evaluation.${k}: unknown key (expected ${evKeys.slice(1).join(", ")})`);
      }
    }
    const posInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
    if (posInt(ev.images)) evaluation.images = ev.images as number;
    else bad("evaluation.images", "a positive integer (test images to attack)", ev.images);
    if (ev.figure_images !== undefined) {
      if (Number.isSafeInteger(ev.figure_images) && (ev.figure_images as number) >= 0) {
        evaluation.figureImages = ev.figure_images as number;
      } else bad("evaluation.figure_images", "an integer ≥ 0", ev.figure_images);
    }
    if (ev.natural_examples !== undefined) {
      if (posInt(ev.natural_examples)) evaluation.naturalExamples = ev.natural_examples as number;
      else bad("evaluation.natural_examples", "a positive integer", ev.natural_examples);
    }
    if (ev.batch_size !== undefined) {
      if (posInt(ev.batch_size)) evaluation.batchSize = ev.batch_size as number;
      else bad("evaluation.batch_size", "a positive integer", ev.batch_size);
    }
    if (ev.seed !== undefined) {
      if (Number.isSafeInteger(ev.seed) && (ev.seed as number) >= 0) {
        evaluation.seed = ev.seed as number;
      } else bad("evaluation.seed", "an integer ≥ 0", ev.seed);
    }
    const section = (key: "attribution" | "pgd", allowed: readonly string[]) => {
      const v = ev[key];
      if (!isObject(v)) return bad(`evaluation.${key}`, "an object of settings", v);
      for (const k of Object.keys(v)) {
        if (k !== "_comment" && !allowed.includes(k)) {
          errors.push(
            `evaluation.${key}.${k}: unknown key (expected one of ${allowed.join(", ")})`,
          );
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of allowed) if (Object.hasOwn(v, k)) out[k] = v[k];
      evaluation[key] = out;
    };
    section("attribution", ATTRIBUTION_KEYS);
    section("pgd", PGD_KEYS);
    const ex = evaluation.pgd.examples;
    if (ex !== undefined && !posInt(ex)) bad("evaluation.pgd.examples", "a positive integer", ex);
  }
  if (isObject(ev) && ev.figure_images === undefined) {
    evaluation.figureImages = Math.min(evaluation.figureImages, evaluation.images);
  } else if (evaluation.figureImages > evaluation.images) {
    errors.push(
      `evaluation.figure_images: ${evaluation.figureImages} is more than the ${evaluation.images} attacked images`,
    );
  }
  if (errors.length) {
    throw new Error(`${source}: invalid experiment file:\n  - ${errors.join("\n  - ")}`);
  }
  return { source, dir, runs, evaluation };
}
