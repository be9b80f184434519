/**
 * Experiment configuration (`config.json`, SPEC §12): parsing, validation, defaults, `--set`
 * overrides and canonical serialisation.
 *
 * Pure TypeScript with no Deno APIs: the caller reads the file and passes its text together
 * with a name for it (used in every message).
 *
 * ```ts
 * import { configToJson, parseConfig } from "./src/config.ts";
 * const text = await Deno.readTextFile("configs/mnist/nat.json");
 * const { config, warnings } = parseConfig(text, "configs/mnist/nat.json", {
 *   overrides: ["max_num_training_steps=100", "k=10"],
 *   require: "train",
 * });
 * for (const w of warnings) console.warn(w);
 * await Deno.writeTextFile(`${config.model_dir}/config.json`, configToJson(config));
 * ```
 *
 * Accepted keys are those of the reference format (SPEC §12) plus a few of ours: `dataset`,
 * `learning_rate`, `memory_budget_mb` and `init_from`. `k` and `a` are aliases of `num_steps` and `step_size`.
 * Keys named `_comment` are ignored (they repeat in the reference files); other unknown keys
 * produce a warning. Type errors, unknown enum values and missing required keys throw a
 * {@link ConfigError} that lists every problem, each naming the file (and line), the key, the
 * value found and what is allowed.
 * @module
 */

import {
  ATTRIBUTION_ATTACK_MEASURES,
  ATTRIBUTION_ATTACK_METHODS,
  type AttributionAttackMeasure,
  type AttributionAttackMethod,
  DATASET_NAMES,
  type DatasetName,
  LOSS_FUNCS,
  type LossFunc,
  SALIENCY_TYPES,
  type SaliencyType,
  TRAINING_OBJECTIVES,
  type TrainingObjective,
} from "./vocabulary.ts";
import { familyEntry, familyOfConfig, MODEL_FAMILIES, type ModelFamily } from "./nn/registry.ts";

export type {
  AttributionAttackMeasure,
  AttributionAttackMethod,
  DatasetName,
  LossFunc,
  SaliencyType,
  TrainingObjective,
};

/**
 * A validated experiment configuration. Every key of SPEC §12 under its canonical name
 * (`num_steps`, not `k`; `step_size`, not `a`), plus the optional keys of this engine.
 */
export interface Config {
  /** Directory for checkpoints, summaries and the copied configuration. */
  model_dir: string;
  /** Directory holding `train.npz`/`test.npz` (GTSRB, Flower). */
  data_path?: string;
  /**
   * Which dataset (and so which model family) the file is for. Our own key: the reference files
   * do not have it. When absent, a `step_size_schedule` marks the ResNet family (GTSRB/Flower).
   */
  dataset?: DatasetName;
  /**
   * The general seed: `random_seed` of the file, or `tf_random_seed` when only that is given.
   * See {@link initSeed} and {@link dataSeed} for which seed drives what.
   */
  random_seed: number;
  /** Seeds weight initialisation when given (GTSRB/Flower reference files). */
  tf_random_seed?: number;
  /** Seeds data shuffling and PGD random starts when given (GTSRB/Flower reference files). */
  np_random_seed?: number;
  /** Number of optimiser steps. */
  max_num_training_steps: number;
  /** Print progress every this many steps. */
  num_output_steps: number;
  /** Write summaries every this many steps. */
  num_summary_steps: number;
  /** Save a checkpoint every this many steps. */
  num_checkpoint_steps: number;
  /** Examples per training batch. */
  training_batch_size: number;
  /** Adam learning rate for the MNIST family (our key; default 1e-4, SPEC §6). */
  learning_rate?: number;
  /** Piecewise-constant learning rate `[[step, lr], …]` for the ResNet family (SPEC §6). */
  step_size_schedule?: [number, number][];
  /** Weight-decay factor on `Σ ½‖W‖²` (ResNet family). */
  weight_decay?: number;
  /** Momentum μ (ResNet family). */
  momentum?: number;
  /** IG path points `m` of the regulariser (SPEC §4). */
  m: number;
  /** Resume from the latest checkpoint in `model_dir`. */
  continue_train: boolean;
  /**
   * Start a fresh run (optimiser state new, step 0) from the parameters of this checkpoint file,
   * or of the latest checkpoint of this model directory (our key; fine-tuning).
   */
  init_from?: string;
  /** Weight λ of the IG term. */
  lambda: number;
  /** Use every `approx_factor`-th path point in `IG_term_approx`. */
  approx_factor: number;
  /** Training objective (SPEC §4). */
  training_objective: TrainingObjective;
  /** Test images used by evaluation. */
  num_eval_examples: number;
  /** Evaluation batch size. */
  eval_batch_size: number;
  /** L∞ radius of PGD and of the attribution attacks (pixel scale of the dataset). */
  epsilon: number;
  /** PGD steps (`k` in the MNIST reference files). */
  num_steps: number;
  /** PGD step size (`a` in the MNIST reference files). */
  step_size: number;
  /** Start PGD at a uniform random point of the ε-ball. */
  random_start: boolean;
  /** Loss PGD maximises. */
  loss_func: LossFunc;
  /** Steps `n` of the IG saliency map (SPEC §7). */
  num_IG_steps: number;
  /** Attribution-attack direction (SPEC §8). */
  attribution_attack_method: AttributionAttackMethod;
  /** Attribution-attack success measure (SPEC §8). */
  attribution_attack_measure: AttributionAttackMeasure;
  /** Saliency map attacked and measured. */
  saliency_type: SaliencyType;
  /** Size of the top-k mask/intersection used by the attack. */
  k_top: number;
  /** k of the reported top-k intersection (default: `k_top`). */
  eval_k_top: number;
  /** Attribution-attack step size α. */
  attribution_attack_step_size: number;
  /** Steps per attribution attack. */
  attribution_attack_steps: number;
  /** Repeats of the attribution attack per image (default 1). */
  attribution_attack_times: number;
  /** Memory budget in MiB for the IG path points held at once (our key; optional). */
  memory_budget_mb?: number;
}

/** What {@link parseConfig} insists on finding in the file (or the overrides). */
export type ConfigRequirement = "train" | "attack" | "none";

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** `key=value` strings (from `--set key=value`), applied in order before validation. */
  overrides?: string[];
  /**
   * Which keys must be present: those training needs (`"train"`), those the evaluation and the
   * attribution attack need (`"attack"`), or none (`"none"`, the default). Keys not required
   * and not given take defaults (the dataset's reference values, SPEC §12 / `configs.md`).
   */
  require?: ConfigRequirement;
}

/** The result of {@link parseConfig}. */
export interface ParsedConfig {
  /** The validated configuration, defaults filled in. */
  config: Config;
  /** Non-fatal problems (unknown keys, duplicate keys, ignored keys), each naming the file. */
  warnings: string[];
}

/** A configuration that cannot be used; `problems` lists each one (also joined in `message`). */
export class ConfigError extends Error {
  /** Each problem on its own, every one naming the file and the key. */
  readonly problems: string[];
  /** Builds the error from its list of problems. */
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Key table

type Spec =
  | { kind: "int"; min: number }
  | { kind: "num"; min: number; exclusive?: boolean }
  | { kind: "bool" }
  | { kind: "str"; nonEmpty?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "schedule" };

const SEED: Spec = { kind: "int", min: 0 };

/** Canonical keys in canonical order (that of SPEC §12, ours inserted where they belong). */
const SPECS: Readonly<Record<keyof Config, Spec>> = {
  model_dir: { kind: "str", nonEmpty: true },
  dataset: { kind: "enum", values: DATASET_NAMES },
  data_path: { kind: "str", nonEmpty: true },
  random_seed: SEED,
  tf_random_seed: SEED,
  np_random_seed: SEED,
  max_num_training_steps: { kind: "int", min: 0 },
  num_output_steps: { kind: "int", min: 1 },
  num_summary_steps: { kind: "int", min: 1 },
  num_checkpoint_steps: { kind: "int", min: 1 },
  training_batch_size: { kind: "int", min: 1 },
  learning_rate: { kind: "num", min: 0, exclusive: true },
  step_size_schedule: { kind: "schedule" },
  weight_decay: { kind: "num", min: 0 },
  momentum: { kind: "num", min: 0 },
  m: { kind: "int", min: 1 },
  continue_train: { kind: "bool" },
  init_from: { kind: "str", nonEmpty: true },
  lambda: { kind: "num", min: 0 },
  approx_factor: { kind: "int", min: 1 },
  training_objective: { kind: "enum", values: TRAINING_OBJECTIVES },
  num_eval_examples: { kind: "int", min: 1 },
  eval_batch_size: { kind: "int", min: 1 },
  epsilon: { kind: "num", min: 0 },
  num_steps: { kind: "int", min: 0 },
  step_size: { kind: "num", min: 0 },
  random_start: { kind: "bool" },
  loss_func: { kind: "enum", values: LOSS_FUNCS },
  num_IG_steps: { kind: "int", min: 1 },
  attribution_attack_method: { kind: "enum", values: ATTRIBUTION_ATTACK_METHODS },
  attribution_attack_measure: { kind: "enum", values: ATTRIBUTION_ATTACK_MEASURES },
  saliency_type: { kind: "enum", values: SALIENCY_TYPES },
  k_top: { kind: "int", min: 1 },
  eval_k_top: { kind: "int", min: 1 },
  attribution_attack_step_size: { kind: "num", min: 0 },
  attribution_attack_steps: { kind: "int", min: 0 },
  attribution_attack_times: { kind: "int", min: 1 },
  memory_budget_mb: { kind: "num", min: 0, exclusive: true },
};

type Key = keyof Config;

/** Every canonical configuration key, in the order {@link configToJson} writes them. */
export const CONFIG_KEYS: readonly (keyof Config)[] = Object.keys(SPECS) as Key[];

/** Alternative spellings accepted for a canonical key (the MNIST reference files use them). */
export const CONFIG_ALIASES: Readonly<Record<string, keyof Config>> = {
  k: "num_steps",
  a: "step_size",
};

const COMMENT = "_comment";

function canonical(key: string): Key | undefined {
  if (Object.hasOwn(SPECS, key)) return key as Key;
  return Object.hasOwn(CONFIG_ALIASES, key) ? CONFIG_ALIASES[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Defaults: the NATURAL reference configuration of each dataset (`configs.md`).

type Defaults = Omit<
  Config,
  | "dataset"
  | "data_path"
  | "tf_random_seed"
  | "np_random_seed"
  | "learning_rate"
  | "memory_budget_mb"
  | "eval_k_top"
  | "init_from"
>;

const MNIST_DEFAULTS: Defaults = {
  model_dir: "models/mnist/default",
  random_seed: 4557077,
  max_num_training_steps: 25000,
  num_output_steps: 100,
  num_summary_steps: 100,
  num_checkpoint_steps: 300,
  training_batch_size: 50,
  m: 10,
  continue_train: false,
  lambda: 1,
  approx_factor: 1,
  training_objective: "nat",
  num_eval_examples: 10000,
  eval_batch_size: 100,
  epsilon: 0.3,
  num_steps: 40,
  step_size: 0.01,
  random_start: true,
  loss_func: "xent",
  num_IG_steps: 100,
  attribution_attack_method: "topK",
  attribution_attack_measure: "kendall",
  saliency_type: "ig",
  k_top: 200,
  attribution_attack_step_size: 0.01,
  attribution_attack_steps: 100,
  attribution_attack_times: 1,
};

const GTSRB_DEFAULTS: Defaults = {
  ...MNIST_DEFAULTS,
  model_dir: "models/gtsrb/default",
  random_seed: 451760341,
  max_num_training_steps: 70001,
  num_checkpoint_steps: 1000,
  training_batch_size: 64,
  step_size_schedule: [[0, 0.001], [500, 0.01], [60000, 0.001]],
  weight_decay: 0.0002,
  momentum: 0.9,
  num_eval_examples: 12630,
  epsilon: 8,
  num_steps: 7,
  step_size: 2,
  k_top: 100,
  attribution_attack_step_size: 1,
  attribution_attack_steps: 50,
};

const DEFAULTS: Readonly<Record<DatasetName, Defaults>> = {
  mnist: MNIST_DEFAULTS,
  fashion_mnist: {
    ...MNIST_DEFAULTS,
    model_dir: "models/fashion_mnist/default",
    epsilon: 0.1,
    num_steps: 20,
    k_top: 100,
  },
  gtsrb: GTSRB_DEFAULTS,
  flower: {
    ...GTSRB_DEFAULTS,
    model_dir: "models/flower/default",
    training_batch_size: 16,
    num_eval_examples: 136,
    k_top: 1000,
    attribution_attack_steps: 100,
  },
};

const TRAIN_REQUIRED: readonly Key[] = [
  "model_dir",
  "max_num_training_steps",
  "num_output_steps",
  "num_summary_steps",
  "num_checkpoint_steps",
  "training_batch_size",
  "training_objective",
  "epsilon",
  "num_steps",
  "step_size",
  "random_start",
  "loss_func",
];
const RAR_REQUIRED: readonly Key[] = ["m", "lambda", "approx_factor"];
const ATTACK_REQUIRED: readonly Key[] = [
  "model_dir",
  "num_eval_examples",
  "eval_batch_size",
  "epsilon",
  "num_steps",
  "step_size",
  "random_start",
  "num_IG_steps",
  "attribution_attack_method",
  "attribution_attack_measure",
  "saliency_type",
  "k_top",
  "attribution_attack_step_size",
  "attribution_attack_steps",
];

// ---------------------------------------------------------------------------------------------
// A small strict JSON reader that reports positions and duplicate top-level keys.

interface JsonDoc {
  value: unknown;
  /** 1-based line of each top-level key (the last occurrence). */
  lines: Map<string, number>;
  /** Top-level keys that occur more than once, with the line of each repeat. */
  duplicates: { key: string; line: number }[];
}

/** Deepest nesting of arrays and objects accepted (the top-level object is level 1). */
const MAX_DEPTH = 64;

/**
 * Parses `text` as strict JSON in one pass (no backtracking, nesting at most
 * {@link MAX_DEPTH}), recording the line of each top-level key. Line numbers are tracked while
 * skipping whitespace: raw newlines can only occur there, since strings must escape them.
 */
function readJson(text: string, source: string): JsonDoc {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  /** 1-based line of `pos`, and the index where that line starts. */
  let line = 1;
  let lineStart = 0;
  const lines = new Map<string, number>();
  const duplicates: { key: string; line: number }[] = [];

  const here = () => `${source}:${line}:${pos - lineStart + 1}`;
  const fail = (what: string): never => {
    const found = pos >= text.length
      ? "the end of the file"
      : JSON.stringify(text.slice(pos, pos + 12).split(/\r?\n/)[0]);
    throw new ConfigError([`${here()}: invalid JSON: expected ${what}, found ${found}`]);
  };
  const nest = (depth: number) => {
    if (depth >= MAX_DEPTH) {
      throw new ConfigError([
        `${here()}: invalid JSON: nesting deeper than ${MAX_DEPTH} levels of arrays and ` +
        `objects; a configuration needs at most 3`,
      ]);
    }
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 10) {
        pos++;
        line++;
        lineStart = pos;
      } else if (c === 32 || c === 9 || c === 13) pos++;
      else break;
    }
  };
  const str = (): string => {
    if (text[pos] !== '"') fail("a string");
    const start = pos++;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 34) {
        pos++;
        return JSON.parse(text.slice(start, pos));
      }
      if (c < 32) fail("a closing quote (control characters must be escaped)");
      if (c === 92) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
            pos++;
            fail("four hex digits after \\u");
          }
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) pos += 2;
        else {
          pos++;
          fail('an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      } else pos++;
    }
    return fail("a closing quote");
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const value = (depth: number): unknown => {
    ws();
    const c = text[pos];
    if (c === "{") {
      nest(depth);
      pos++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        const keyLine = line;
        const key = str();
        ws();
        if (text[pos] !== ":") fail(`":" after the key ${JSON.stringify(key)}`);
        pos++;
        const v = value(depth + 1);
        if (depth === 0) {
          if (Object.hasOwn(obj, key)) duplicates.push({ key, line: keyLine });
          lines.set(key, keyLine);
        }
        Object.defineProperty(obj, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return obj;
        }
        fail('"," or "}"');
      }
    }
    if (c === "[") {
      nest(depth);
      pos++;
      const arr: unknown[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return arr;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m) {
      pos += m[0].length;
      return Number(m[0]);
    }
    return fail("a value (object, array, string, number, true, false or null)");
  };

  const v = value(0);
  ws();
  if (pos < text.length) fail("the end of the file");
  return { value: v, lines, duplicates };
}

// ---------------------------------------------------------------------------------------------
// Helpers for messages

function show(v: unknown): string {
  let s: string;
  if (v === undefined) s = "nothing";
  else if (typeof v === "number" && !Number.isFinite(v)) s = String(v);
  else s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return "a number";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}

function allowed(spec: Spec): string {
  switch (spec.kind) {
    case "int":
      return spec.min === 0 ? "an integer ≥ 0" : `an integer ≥ ${spec.min}`;
    case "num":
      return `a number ${spec.exclusive ? ">" : "≥"} ${spec.min}`;
    case "bool":
      return "true or false";
    case "str":
      return spec.nonEmpty ? "a non-empty string" : "a string";
    case "enum":
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "schedule":
      return "a non-empty list of [step, learning_rate] pairs with integer steps ≥ 0 in " +
        "increasing order and learning rates > 0, e.g. [[0, 0.001], [500, 0.01]]";
  }
}

/** Edit distance between `a` and `b`, with one row of `b.length + 1` cells. */
function levenshtein(a: string, b: string): number {
  const prev: number[] = [];
  for (let j = 0; j <= b.length; j++) prev.push(j);
  for (let i = 1; i <= a.length; i++) {
    const ca = a.charCodeAt(i - 1);
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      const sub = diag + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      const del = up + 1, ins = prev[j - 1] + 1;
      prev[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      diag = up;
    }
  }
  return prev[b.length];
}

/** Longest word {@link nearest} looks at; longer ones are no typo of a key or value. */
const MAX_SUGGEST_LENGTH = 64;

/**
 * The closest candidate to `word`, if it is close enough to be a likely typo. Words longer
 * than {@link MAX_SUGGEST_LENGTH} get none, which bounds the edit-distance work per word.
 */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_SUGGEST_LENGTH) return undefined;
  const w = normalize(word);
  const limit = Math.max(2, Math.floor(w.length / 4));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const n = normalizedCandidate(c);
    // the edit distance is at least the difference in length: too far to be suggested
    if (Math.abs(n.length - w.length) > limit) continue;
    const d = n === w ? 0 : levenshtein(w, n) + 0.5;
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit + 0.5 ? best : undefined;
}

/** A word compared case-insensitively, ignoring `-`, `_` and spaces. */
function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_ ]/g, "");
}

/** Normalised candidates (keys and enum values of the fixed tables), computed once each. */
const NORMALIZED = new Map<string, string>();

function normalizedCandidate(c: string): string {
  let n = NORMALIZED.get(c);
  if (n === undefined) NORMALIZED.set(c, n = normalize(c));
  return n;
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const n = nearest(word, candidates);
  return n === undefined ? "" : ` (did you mean ${JSON.stringify(n)}?)`;
}

/** Checks one value against its spec; returns the problem, or undefined when it is fine. */
function check(spec: Spec, v: unknown): string | undefined {
  switch (spec.kind) {
    case "int":
      if (typeof v !== "number") return typeName(v);
      if (!Number.isInteger(v)) return "not an integer";
      if (!Number.isSafeInteger(v)) return "too large";
      return v < spec.min ? (spec.min === 0 ? "negative" : `below ${spec.min}`) : undefined;
    case "num":
      if (typeof v !== "number") return typeName(v);
      if (!Number.isFinite(v)) return "not finite";
      if (spec.exclusive ? v <= spec.min : v < spec.min) {
        return v < 0 ? "negative" : `not above ${spec.min}`;
      }
      return undefined;
    case "bool":
      return typeof v === "boolean" ? undefined : typeName(v);
    case "str":
      if (typeof v !== "string") return typeName(v);
      return spec.nonEmpty && v.length === 0 ? "empty" : undefined;
    case "enum":
      if (typeof v !== "string") return typeName(v);
      if (spec.values.includes(v)) return undefined;
      {
        const n = nearest(v, spec.values);
        return n === undefined
          ? "unknown value"
          : `unknown value; did you mean ${JSON.stringify(n)}?`;
      }
    case "schedule": {
      if (!Array.isArray(v)) return typeName(v);
      if (v.length === 0) return "empty";
      let last = -1;
      for (let i = 0; i < v.length; i++) {
        const p = v[i];
        if (!Array.isArray(p) || p.length !== 2) return `entry ${i} is not a [step, lr] pair`;
        const [s, lr] = p;
        if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0) {
          return `entry ${i} has a step that is not an integer ≥ 0`;
        }
        if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0) {
          return `entry ${i} has a learning rate that is not a number > 0`;
        }
        if (s <= last) return `entry ${i} has step ${s}, not after the previous step ${last}`;
        last = s;
      }
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// parseConfig

interface Entry {
  value: unknown;
  /** The spelling used (`k`, `num_steps`, …). */
  spelling: string;
  /** Where it came from, for messages: `file:line` or `file (--set k=v)`. */
  where: string;
}

/**
 * Parses and validates a configuration file's text.
 *
 * - `source` names the file in every message (`source:line: …`).
 * - JSON syntax errors throw a {@link ConfigError} naming the line and column; so does nesting
 *   of arrays and objects deeper than 64 levels. Reading is linear in the size of the text.
 * - `_comment` keys are ignored; other unknown keys produce a warning (with a "did you mean"
 *   suggestion for near misses of at most 64 characters); a key repeated in the file produces a
 *   warning (the last value is used, as `JSON.parse` does).
 * - An alias and its canonical key (`k`/`num_steps`, `a`/`step_size`), or `random_seed` and
 *   `tf_random_seed`, given with different values is an error.
 * - `options.overrides` (`"key=value"`, from `--set`) are applied before validation, in order:
 *   the value is parsed as JSON when it parses (numbers, booleans, arrays), otherwise taken as a
 *   string; aliases are accepted and replace every spelling of the key in the file. Setting
 *   `random_seed` also drops the file's `tf_random_seed` and `np_random_seed` (one seed for
 *   everything); setting `tf_random_seed` drops `random_seed`. An override without `=` or with an
 *   unknown key is an error.
 * - Wrong types, out-of-range values and unknown enum values are errors naming the key, the value
 *   found and what is allowed; so are keys that `options.require` needs and that are missing.
 * - Keys not given take defaults: `continue_train` false; `m` 10, `lambda` 1, `approx_factor` 1;
 *   `attribution_attack_times` 1; `eval_k_top` = `k_top`; any other key (when the requirement
 *   does not ask for it) the value of the dataset's NATURAL reference configuration, MNIST's when
 *   the dataset is unknown and there is no `step_size_schedule`, GTSRB's when there is one.
 *   `data_path`, `learning_rate`, `memory_budget_mb` and `init_from` stay undefined when absent.
 *
 * Every error found is reported at once in a single {@link ConfigError}.
 */
export function parseConfig(
  text: string,
  source: string,
  options: ParseConfigOptions = {},
): ParsedConfig {
  const mode = options.require ?? "none";
  const warnings: string[] = [];
  const errors: string[] = [];
  const doc = readJson(text, source);
  const raw = doc.value;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([
      `${source}: the configuration must be a JSON object ({"key": value, …}), found ${
        typeName(raw)
      }`,
    ]);
  }
  const at = (key: string) => {
    const line = doc.lines.get(key);
    return line === undefined ? source : `${source}:${line}`;
  };
  for (const d of doc.duplicates) {
    if (d.key === COMMENT) continue;
    warnings.push(
      `${source}:${d.line}: key ${JSON.stringify(d.key)} is given more than once; the last value ` +
        `is used`,
    );
  }

  // 1. The file's keys, under canonical names.
  const entries = new Map<Key, Entry>();
  const known = [...CONFIG_KEYS, ...Object.keys(CONFIG_ALIASES)];
  // Conflicts between spellings of one key; an override of the key settles them.
  const conflicts = new Map<Key, string>();
  const put = (key: Key, e: Entry) => {
    const prev = entries.get(key);
    if (prev && !sameValue(prev.value, e.value)) {
      conflicts.set(
        key,
        `${e.where}: ${JSON.stringify(prev.spelling)} (${show(prev.value)}) and ` +
          `${JSON.stringify(e.spelling)} (${show(e.value)}) are the same setting with different ` +
          `values; give only one`,
      );
    }
    if (!prev) entries.set(key, e);
  };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === COMMENT) continue;
    const key = canonical(k);
    if (key === undefined) {
      warnings.push(`${at(k)}: unknown key ${JSON.stringify(k)} is ignored${didYouMean(k, known)}`);
      continue;
    }
    put(key, { value: v, spelling: k, where: at(k) });
  }
  // 2. Overrides.
  for (const o of options.overrides ?? []) {
    const eq = o.indexOf("=");
    const where = `${source} (--set ${o})`;
    if (eq < 0) {
      errors.push(`${where}: malformed override ${JSON.stringify(o)}; expected key=value`);
      continue;
    }
    const k = o.slice(0, eq).trim();
    const text = o.slice(eq + 1);
    const key = canonical(k);
    if (key === undefined) {
      errors.push(
        `${where}: unknown key ${JSON.stringify(k)} in override${didYouMean(k, known)}`,
      );
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    const drop: Key[] = [key];
    if (key === "random_seed") drop.push("tf_random_seed", "np_random_seed");
    if (key === "tf_random_seed") drop.push("random_seed");
    for (const d of drop) {
      entries.delete(d);
      conflicts.delete(d);
    }
    entries.set(key, { value, spelling: k, where });
  }
  errors.push(...conflicts.values());
  // random_seed and tf_random_seed both seed initialisation; they must agree when both given.
  const rs = entries.get("random_seed");
  const tf = entries.get("tf_random_seed");
  if (rs && tf && !sameValue(rs.value, tf.value)) {
    errors.push(
      `${tf.where}: "random_seed" (${show(rs.value)}) and "tf_random_seed" (${
        show(tf.value)
      }) differ; give one seed, or tf_random_seed with np_random_seed`,
    );
  }

  // 3. Types and ranges.
  const invalid = new Set<Key>();
  for (const [key, e] of entries) {
    const spec = SPECS[key];
    const problem = check(spec, e.value);
    if (problem !== undefined) {
      errors.push(
        `${e.where}: ${JSON.stringify(e.spelling)} must be ${allowed(spec)}; found ${
          show(e.value)
        } (${problem})`,
      );
      entries.delete(key);
      invalid.add(key);
    }
  }

  // 4. Family, requirements, defaults.
  const has = (k: Key) => entries.has(k);
  const get = <K extends Key>(k: K): Config[K] | undefined =>
    entries.get(k)?.value as Config[K] | undefined;
  const dataset = get("dataset");
  const familyName = familyOfConfig(dataset, has);
  const family = familyEntry(familyName);
  const defaults = DEFAULTS[dataset ?? family.referenceDataset];
  // training keys of the other families: ignored here, with a warning
  const foreign = MODEL_FAMILIES.filter((f) => f !== familyName)
    .flatMap((f) => familyEntry(f).trainingKeys)
    .filter((k) => !family.trainingKeys.includes(k));
  const objective = get("training_objective");

  const required = new Set<Key>();
  if (mode === "train") {
    for (const k of TRAIN_REQUIRED) required.add(k);
    if (objective === "ar" || objective === "adv_ar") {
      for (const k of RAR_REQUIRED) required.add(k);
    }
    for (const k of family.requiredTrainingKeys) required.add(k);
  } else if (mode === "attack") {
    for (const k of ATTACK_REQUIRED) required.add(k);
  }
  const missing = (k: Key, what = JSON.stringify(k)) => {
    if (invalid.has(k)) return; // already reported as invalid
    const needs = mode === "train" ? "training" : "the attack and evaluation";
    const why = RAR_REQUIRED.includes(k) && mode === "train"
      ? ` (training_objective ${JSON.stringify(objective)})`
      : family.requiredTrainingKeys.includes(k) && mode === "train"
      ? ` (${family.title}: ${
        dataset ? `dataset ${JSON.stringify(dataset)}` : `${family.marker} given`
      })`
      : "";
    errors.push(`${source}: missing key ${what}, which ${needs} needs${why}`);
  };
  for (const k of required) if (!has(k)) missing(k);
  if (mode === "train" && !has("random_seed") && !has("tf_random_seed")) {
    if (!invalid.has("random_seed") && !invalid.has("tf_random_seed")) {
      missing("random_seed", '"random_seed" (or "tf_random_seed")');
    }
  }

  // Cross-key checks.
  const m = get("m") ?? defaults.m;
  const af = get("approx_factor") ?? defaults.approx_factor;
  if (invalid.has("m") || invalid.has("approx_factor")) {
    // already reported
  } else if (af > m) {
    errors.push(
      `${entries.get("approx_factor")?.where ?? source}: "approx_factor" (${af}) must not exceed ` +
        `"m" (${m}), or IG_term_approx has no path points`,
    );
  } else if (m % af !== 0) {
    warnings.push(
      `${entries.get("approx_factor")?.where ?? source}: "m" (${m}) is not a multiple of ` +
        `"approx_factor" (${af}); IG_term_approx uses ${Math.floor(m / af)} path points`,
    );
  }
  const chosenBy = dataset
    ? `dataset ${JSON.stringify(dataset)}`
    : ["no dataset key", ...foreignMarkers(familyName).map((m) => `no ${m}`)].join(", ");
  for (const k of foreign) {
    if (has(k)) {
      warnings.push(
        `${entries.get(k)!.where}: ${family.ignoredKey(JSON.stringify(k), chosenBy)}`,
      );
    }
  }

  if (errors.length > 0) throw new ConfigError(errors);

  // 5. Assemble.
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (has(key)) out[key] = structuredClone(entries.get(key)!.value);
    else if (key === "eval_k_top") out[key] = get("k_top") ?? defaults.k_top;
    else if (key === "random_seed") out[key] = get("tf_random_seed") ?? defaults.random_seed;
    else if (Object.hasOwn(defaults, key)) {
      const d = (defaults as unknown as Record<string, unknown>)[key];
      if (d !== undefined && !foreign.includes(key)) {
        out[key] = structuredClone(d);
      }
    }
  }
  return { config: out as unknown as Config, warnings };
}

/** The marker keys of the families other than `family` (their absence chose it). */
function foreignMarkers(family: ModelFamily): (keyof Config)[] {
  return MODEL_FAMILIES.filter((f) => f !== family).flatMap((f) => {
    const m = familyEntry(f).marker;
    return m === undefined ? [] : [m];
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------
// Serialisation and accessors

/**
 * Serialises a configuration canonically: canonical key names in the order of
 * {@link CONFIG_KEYS}, absent optional keys left out, two-space indentation, one key per line,
 * `step_size_schedule` pairs inline, trailing newline. The output parses back with
 * {@link parseConfig} to an equal configuration, with no warnings.
 */
export function configToJson(c: Config): string {
  const lines: string[] = [];
  for (const key of CONFIG_KEYS) {
    const v = c[key];
    if (v === undefined) continue;
    const s = Array.isArray(v)
      ? `[${v.map((p) => (Array.isArray(p) ? `[${p.join(", ")}]` : JSON.stringify(p))).join(", ")}]`
      : JSON.stringify(v);
    lines.push(`  ${JSON.stringify(key)}: ${s}`);
  }
  return `{\n${lines.join(",\n")}\n}\n`;
}

/** Seed of weight initialisation: `tf_random_seed` when given, else `random_seed`. */
export function initSeed(c: Config): number {
  return c.tf_random_seed ?? c.random_seed;
}

/** Seed of data shuffling and PGD random starts: `np_random_seed` when given, else `random_seed`. */
export function dataSeed(c: Config): number {
  return c.np_random_seed ?? c.random_seed;
}

/**
 * The model family of a validated configuration (the model registry's name, a model's
 * `kind`): its dataset's, or without a `dataset` key `resnet` when a `step_size_schedule` is
 * present and `mnist_cnn` otherwise.
 */
export function configModelFamily(c: Config): ModelFamily {
  return familyOfConfig(c.dataset, (k) => c[k] !== undefined);
}

/**
 * Model family under its short configuration name: `"resnet"` for GTSRB/Flower (or, without a
 * `dataset` key, when a `step_size_schedule` is present), `"mnist"` (the MNIST CNN) otherwise.
 * @deprecated Use {@link configModelFamily}, whose names are those of the model registry.
 */
export function modelFamily(c: Config): "mnist" | "resnet" {
  const family = configModelFamily(c);
  return family === "mnist_cnn" ? "mnist" : family;
}

/** Adam learning rate of the MNIST family: `learning_rate`, default 1e-4 (SPEC §6). */
export function adamLearningRate(c: Config): number {
  return c.learning_rate ?? 1e-4;
}
