/**
 * Serialisation of a validated configuration and the values derived from it (seeds, model
 * family, Adam learning rate).
 * @module
 */

import { familyOfConfig, type ModelFamily } from "../nn/registry.ts";
import { type Config, CONFIG_KEYS } from "./schema.ts";

/**
 * Serialises a configuration canonically: canonical key names in the order of
 * {@link CONFIG_KEYS}, absent optional keys left out, two-space indentation, one key per line,
 * `step_size_schedule` pairs inline, trailing newline. The output parses back with
 * `parseConfig` to an equal configuration, with no warnings.
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

/** Adam learning rate of the MNIST family: `learning_rate`, default 1e-4 (docs/spec.md §6). */
export function adamLearningRate(c: Config): number {
  return c.learning_rate ?? 1e-4;
}
