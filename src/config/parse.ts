/**
 * `parseConfig`: reads a configuration's JSON text, maps its keys and the `--set` overrides to
 * canonical keys, validates each value against the schema, chooses the model family (through
 * the model registry), checks requirements and cross-key rules, and fills in defaults.
 * @module
 */

import {
  familyEntry,
  familyOfConfig,
  MODEL_FAMILIES,
  type ModelFamily,
  type ModelFamilyEntry,
} from "../nn/registry.ts";
import { OBJECTIVE_PARTS } from "../vocabulary.ts";
import { ConfigError } from "./error.ts";
import { type JsonDoc, readJson } from "./json.ts";
import {
  allowed,
  ATTACK_REQUIRED,
  canonical,
  check,
  COMMENT,
  type Config,
  CONFIG_ALIASES,
  CONFIG_KEYS,
  type ConfigRequirement,
  DEFAULTS,
  type Defaults,
  type Key,
  RAR_REQUIRED,
  show,
  SPECS,
  TRAIN_REQUIRED,
  typeName,
} from "./schema.ts";
import { didYouMean } from "./suggest.ts";

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** `key=value` strings (from `--set key=value`), applied in order before validation. */
  overrides?: string[];
  /**
   * Which keys must be present: those training needs (`"train"`), those the evaluation and the
   * attribution attack need (`"attack"`), or none (`"none"`, the default). Keys not required
   * and not given take defaults (the dataset's reference values, docs/spec.md §12 / `docs/configs.md`).
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

interface Entry {
  value: unknown;
  /** The spelling used (`k`, `num_steps`, …). */
  spelling: string;
  /** Where it came from, for messages: `file:line` or `file (--set k=v)`. */
  where: string;
}

/** What the steps of {@link parseConfig} share: the keys found so far and the problems. */
interface State {
  /** The file's name, for messages. */
  source: string;
  /** Valid (so far) values by canonical key. */
  entries: Map<Key, Entry>;
  /** Conflicts between spellings of one key; an override of the key settles them. */
  conflicts: Map<Key, string>;
  /** Keys whose value was invalid (reported once, not again as missing). */
  invalid: Set<Key>;
  errors: string[];
  warnings: string[];
}

/** The model family chosen for a configuration and what follows from it. */
interface FamilyChoice {
  name: ModelFamily;
  entry: ModelFamilyEntry;
  dataset: Config["dataset"];
  /** The reference values that fill absent keys. */
  defaults: Defaults;
  /** Training keys of the other families: ignored here, with a warning. */
  foreign: Key[];
}

/** Every key and alias, the candidates of "did you mean". */
const KNOWN: readonly string[] = [...CONFIG_KEYS, ...Object.keys(CONFIG_ALIASES)];

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
  const doc = readJson(text, source);
  const s: State = {
    source,
    entries: new Map(),
    conflicts: new Map(),
    invalid: new Set(),
    errors: [],
    warnings: duplicateWarnings(doc, source),
  };
  readFileKeys(s, doc);
  for (const o of options.overrides ?? []) applyOverride(s, o);
  s.errors.push(...s.conflicts.values());
  checkSeeds(s);
  validateValues(s);
  const family = chooseFamily(s);
  checkRequired(s, mode, family);
  checkCrossKeys(s, family);
  if (s.errors.length > 0) throw new ConfigError(s.errors);
  return { config: assemble(s, family), warnings: s.warnings };
}

/** A warning for each top-level key repeated in the file (other than `_comment`). */
function duplicateWarnings(doc: JsonDoc, source: string): string[] {
  return doc.duplicates.filter((d) => d.key !== COMMENT).map((d) =>
    `${source}:${d.line}: key ${JSON.stringify(d.key)} is given more than once; the last value ` +
    `is used`
  );
}

/** 1. The file's keys, under canonical names; unknown keys warn. */
function readFileKeys(s: State, doc: JsonDoc): void {
  const raw = doc.value;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([
      `${s.source}: the configuration must be a JSON object ({"key": value, …}), found ${
        typeName(raw)
      }`,
    ]);
  }
  const at = (key: string) => {
    const line = doc.lines.get(key);
    return line === undefined ? s.source : `${s.source}:${line}`;
  };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === COMMENT) continue;
    const key = canonical(k);
    if (key === undefined) {
      s.warnings.push(
        `${at(k)}: unknown key ${JSON.stringify(k)} is ignored${didYouMean(k, KNOWN)}`,
      );
      continue;
    }
    putFileEntry(s, key, { value: v, spelling: k, where: at(k) });
  }
}

/** Records a key of the file; a second spelling of it with another value is a conflict. */
function putFileEntry(s: State, key: Key, e: Entry): void {
  const prev = s.entries.get(key);
  if (prev && !sameValue(prev.value, e.value)) {
    s.conflicts.set(
      key,
      `${e.where}: ${JSON.stringify(prev.spelling)} (${show(prev.value)}) and ` +
        `${JSON.stringify(e.spelling)} (${show(e.value)}) are the same setting with different ` +
        `values; give only one`,
    );
  }
  if (!prev) s.entries.set(key, e);
}

/** 2. One `key=value` override: replaces every spelling of the key (and the seeds it implies). */
function applyOverride(s: State, o: string): void {
  const eq = o.indexOf("=");
  const where = `${s.source} (--set ${o})`;
  if (eq < 0) {
    s.errors.push(`${where}: malformed override ${JSON.stringify(o)}; expected key=value`);
    return;
  }
  const k = o.slice(0, eq).trim();
  const text = o.slice(eq + 1);
  const key = canonical(k);
  if (key === undefined) {
    s.errors.push(
      `${where}: unknown key ${JSON.stringify(k)} in override${didYouMean(k, KNOWN)}`,
    );
    return;
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
    s.entries.delete(d);
    s.conflicts.delete(d);
  }
  s.entries.set(key, { value, spelling: k, where });
}

/** random_seed and tf_random_seed both seed initialisation; they must agree when both given. */
function checkSeeds(s: State): void {
  const rs = s.entries.get("random_seed");
  const tf = s.entries.get("tf_random_seed");
  if (rs && tf && !sameValue(rs.value, tf.value)) {
    s.errors.push(
      `${tf.where}: "random_seed" (${show(rs.value)}) and "tf_random_seed" (${
        show(tf.value)
      }) differ; give one seed, or tf_random_seed with np_random_seed`,
    );
  }
}

/** 3. Types and ranges: an invalid value is reported and its key dropped. */
function validateValues(s: State): void {
  for (const [key, e] of s.entries) {
    const spec = SPECS[key];
    const problem = check(spec, e.value);
    if (problem !== undefined) {
      s.errors.push(
        `${e.where}: ${JSON.stringify(e.spelling)} must be ${allowed(spec)}; found ${
          show(e.value)
        } (${problem})`,
      );
      s.entries.delete(key);
      s.invalid.add(key);
    }
  }
}

function has(s: State, k: Key): boolean {
  return s.entries.has(k);
}

function get<K extends Key>(s: State, k: K): Config[K] | undefined {
  return s.entries.get(k)?.value as Config[K] | undefined;
}

/** 4. The model family (by the model registry) and the defaults that come with it. */
function chooseFamily(s: State): FamilyChoice {
  const dataset = get(s, "dataset");
  const name = familyOfConfig(dataset, (k) => has(s, k));
  const entry = familyEntry(name);
  const foreign = MODEL_FAMILIES.filter((f) => f !== name)
    .flatMap((f) => familyEntry(f).trainingKeys)
    .filter((k) => !entry.trainingKeys.includes(k));
  return { name, entry, dataset, defaults: DEFAULTS[dataset ?? entry.referenceDataset], foreign };
}

/** Missing keys that the requirement (`train` or `attack`) needs. */
function checkRequired(s: State, mode: ConfigRequirement, family: FamilyChoice): void {
  const objective = get(s, "training_objective");
  const required = new Set<Key>();
  if (mode === "train") {
    for (const k of TRAIN_REQUIRED) required.add(k);
    if (objective !== undefined && OBJECTIVE_PARTS[objective].igTerm) {
      for (const k of RAR_REQUIRED) required.add(k);
    }
    for (const k of family.entry.requiredTrainingKeys) required.add(k);
  } else if (mode === "attack") {
    for (const k of ATTACK_REQUIRED) required.add(k);
  }
  const missing = (k: Key, what = JSON.stringify(k)) => {
    if (s.invalid.has(k)) return; // already reported as invalid
    const needs = mode === "train" ? "training" : "the attack and evaluation";
    const why = RAR_REQUIRED.includes(k) && mode === "train"
      ? ` (training_objective ${JSON.stringify(objective)})`
      : family.entry.requiredTrainingKeys.includes(k) && mode === "train"
      ? ` (${family.entry.title}: ${
        family.dataset
          ? `dataset ${JSON.stringify(family.dataset)}`
          : `${family.entry.marker} given`
      })`
      : "";
    s.errors.push(`${s.source}: missing key ${what}, which ${needs} needs${why}`);
  };
  for (const k of required) if (!has(s, k)) missing(k);
  if (mode === "train" && !has(s, "random_seed") && !has(s, "tf_random_seed")) {
    if (!s.invalid.has("random_seed") && !s.invalid.has("tf_random_seed")) {
      missing("random_seed", '"random_seed" (or "tf_random_seed")');
    }
  }
}

/** Rules between keys: `approx_factor` against `m`; other families' training keys warn. */
function checkCrossKeys(s: State, family: FamilyChoice): void {
  const m = get(s, "m") ?? family.defaults.m;
  const af = get(s, "approx_factor") ?? family.defaults.approx_factor;
  const afWhere = s.entries.get("approx_factor")?.where ?? s.source;
  if (s.invalid.has("m") || s.invalid.has("approx_factor")) {
    // already reported
  } else if (af > m) {
    s.errors.push(
      `${afWhere}: "approx_factor" (${af}) must not exceed "m" (${m}), or IG_term_approx has ` +
        `no path points`,
    );
  } else if (m % af !== 0) {
    s.warnings.push(
      `${afWhere}: "m" (${m}) is not a multiple of "approx_factor" (${af}); IG_term_approx ` +
        `uses ${Math.floor(m / af)} path points`,
    );
  }
  const chosenBy = family.dataset
    ? `dataset ${JSON.stringify(family.dataset)}`
    : ["no dataset key", ...foreignMarkers(family.name).map((k) => `no ${k}`)].join(", ");
  for (const k of family.foreign) {
    if (has(s, k)) {
      s.warnings.push(
        `${s.entries.get(k)!.where}: ${family.entry.ignoredKey(JSON.stringify(k), chosenBy)}`,
      );
    }
  }
}

/** 5. The configuration: the given keys, then defaults in canonical order. */
function assemble(s: State, family: FamilyChoice): Config {
  const { defaults } = family;
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (has(s, key)) out[key] = structuredClone(s.entries.get(key)!.value);
    else if (key === "eval_k_top") out[key] = get(s, "k_top") ?? defaults.k_top;
    else if (key === "random_seed") out[key] = get(s, "tf_random_seed") ?? defaults.random_seed;
    else if (Object.hasOwn(defaults, key)) {
      const d = (defaults as unknown as Record<string, unknown>)[key];
      if (d !== undefined && !family.foreign.includes(key)) out[key] = structuredClone(d);
    }
  }
  return out as unknown as Config;
}

/** The marker keys of the families other than `family` (their absence chose it). */
function foreignMarkers(family: ModelFamily): Key[] {
  return MODEL_FAMILIES.filter((f) => f !== family).flatMap((f) => {
    const m = familyEntry(f).marker;
    return m === undefined ? [] : [m];
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
