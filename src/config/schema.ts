/**
 * The configuration's schema: the {@link Config} type, the key table with each key's
 * validation rule, aliases, the defaults of each dataset and the keys each use requires.
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
} from "../vocabulary.ts";
import { nearest } from "./suggest.ts";

/**
 * A validated experiment configuration. Every key of docs/spec.md §12 under its canonical name
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
  /** Adam learning rate for the MNIST family (our key; default 1e-4, docs/spec.md §6). */
  learning_rate?: number;
  /** Piecewise-constant learning rate `[[step, lr], …]` for the ResNet family (docs/spec.md §6). */
  step_size_schedule?: [number, number][];
  /** Weight-decay factor on `Σ ½‖W‖²` (ResNet family). */
  weight_decay?: number;
  /** Momentum μ (ResNet family). */
  momentum?: number;
  /** IG path points `m` of the regulariser (docs/spec.md §4). */
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
  /** Training objective (docs/spec.md §4). */
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
  /** Steps `n` of the IG saliency map (docs/spec.md §7). */
  num_IG_steps: number;
  /** Attribution-attack direction (docs/spec.md §8). */
  attribution_attack_method: AttributionAttackMethod;
  /** Attribution-attack success measure (docs/spec.md §8). */
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

// ---------------------------------------------------------------------------------------------
// Key table

/** The validation rule of one key. */
export type Spec =
  | { kind: "int"; min: number }
  | { kind: "num"; min: number; exclusive?: boolean }
  | { kind: "bool" }
  | { kind: "str"; nonEmpty?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "schedule" };

const SEED: Spec = { kind: "int", min: 0 };

/**
 * The rule of each canonical key, in canonical order (that of docs/spec.md §12, ours inserted where
 * they belong).
 */
export const SPECS: Readonly<Record<keyof Config, Spec>> = {
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

/** A canonical configuration key. */
export type Key = keyof Config;

/** Every canonical configuration key, in the order {@link configToJson} writes them. */
export const CONFIG_KEYS: readonly (keyof Config)[] = Object.keys(SPECS) as Key[];

/** Alternative spellings accepted for a canonical key (the MNIST reference files use them). */
export const CONFIG_ALIASES: Readonly<Record<string, keyof Config>> = {
  k: "num_steps",
  a: "step_size",
};

/** The key ignored wherever it occurs (the reference files repeat it). */
export const COMMENT = "_comment";

/** The canonical key of a spelling (itself or an alias), or undefined for an unknown key. */
export function canonical(key: string): Key | undefined {
  if (Object.hasOwn(SPECS, key)) return key as Key;
  return Object.hasOwn(CONFIG_ALIASES, key) ? CONFIG_ALIASES[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Defaults and requirements

/** The keys with a default of the dataset's reference configuration. */
export type Defaults = Omit<
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

/** Defaults: the NATURAL reference configuration of each dataset (`docs/configs.md`). */
export const DEFAULTS: Readonly<Record<DatasetName, Defaults>> = {
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

/** Keys training needs. */
export const TRAIN_REQUIRED: readonly Key[] = [
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
/** Keys training needs for the objectives with an IG term (`ar`, `adv_ar`). */
export const RAR_REQUIRED: readonly Key[] = ["m", "lambda", "approx_factor"];
/** Keys the attack and the evaluation need. */
export const ATTACK_REQUIRED: readonly Key[] = [
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
// Per-key validation

/** A value as messages quote it (at most 80 characters). */
export function show(v: unknown): string {
  let s: string;
  if (v === undefined) s = "nothing";
  else if (typeof v === "number" && !Number.isFinite(v)) s = String(v);
  else s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/** What kind of JSON value `v` is, for messages ("a string", "an array", …). */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return "a number";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}

/** What a key's rule allows, for messages. */
export function allowed(spec: Spec): string {
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

/** Checks one value against its spec; returns the problem, or undefined when it is fine. */
export function check(spec: Spec, v: unknown): string | undefined {
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
