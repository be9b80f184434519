/**
 * Experiment configuration (`config.json`, docs/spec.md §12): parsing, validation, defaults, `--set`
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
 * Accepted keys are those of the reference format (docs/spec.md §12) plus a few of ours: `dataset`,
 * `learning_rate`, `memory_budget_mb` and `init_from`. `k` and `a` are aliases of `num_steps` and `step_size`.
 * Keys named `_comment` are ignored (they repeat in the reference files); other unknown keys
 * produce a warning. Type errors, unknown enum values and missing required keys throw a
 * {@link ConfigError} that lists every problem, each naming the file (and line), the key, the
 * value found and what is allowed.
 *
 * The parts live in `src/config/`: `schema.ts` (the {@link Config} type, key table, defaults,
 * per-key rules), `json.ts` (the JSON reader), `suggest.ts` ("did you mean"), `parse.ts`
 * ({@link parseConfig}) and `accessors.ts` (serialisation, seeds, model family).
 * @module
 */

export type {
  AttributionAttackMeasure,
  AttributionAttackMethod,
  DatasetName,
  LossFunc,
  SaliencyType,
  TrainingObjective,
} from "./vocabulary.ts";
export {
  type Config,
  CONFIG_ALIASES,
  CONFIG_KEYS,
  type ConfigRequirement,
} from "./config/schema.ts";
export { ConfigError } from "./config/error.ts";
export { parseConfig, type ParseConfigOptions, type ParsedConfig } from "./config/parse.ts";
export {
  adamLearningRate,
  configModelFamily,
  configToJson,
  dataSeed,
  initSeed,
  modelFamily,
} from "./config/accessors.ts";
