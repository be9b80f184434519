/**
 * A training run's `model_dir`: a fresh run never mixes with the checkpoints of an earlier
 * run there. It refuses to start, unless asked to overwrite, which moves the earlier run's
 * files into `model_dir/previous/<UTC time>/`; nothing is deleted.
 * @module
 */

import { CHECKPOINT_INDEX, isCheckpointName, moveAside } from "../io/files.ts";
import type { Config } from "../config.ts";

/** The files a training run writes into its `model_dir`, besides its checkpoints. */
const RUN_FILES = new Set([
  CHECKPOINT_INDEX,
  "config.json",
  "metrics.jsonl",
  "eval_natural.json",
  "model.safetensors",
]);

/** Whether `name` is a file of a training run (checkpoint, index, logs, or a temporary of one). */
function isRunFile(name: string): boolean {
  const tmp = /^\.(.+)\.tmp-[0-9a-f]+$/.exec(name);
  const base = tmp ? tmp[1] : name;
  return isCheckpointName(base) || RUN_FILES.has(base) || base.startsWith("events.out.tfevents.");
}

/** What an earlier run left in a `model_dir`. */
export interface EarlierRun {
  /** Its checkpoint files and its index, when present (names, sorted). */
  checkpoints: string[];
  /** Every file of it (checkpoints, index, config.json, metrics.jsonl, event files, …). */
  files: string[];
}

/**
 * The files of an earlier training run in `dir` (nothing when `dir` is missing).
 * Sub-directories (e.g. `previous/`) and unrelated files are not counted.
 */
export async function earlierRun(dir: string): Promise<EarlierRun> {
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && isRunFile(e.name)) files.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  files.sort();
  const checkpoints = files.filter((n) => isCheckpointName(n) || n === CHECKPOINT_INDEX);
  return { checkpoints, files };
}

/**
 * Checks that training may start in `config.model_dir`: a fresh run (`continue_train`
 * false) there must not meet an earlier run's checkpoints (or checkpoint index) unless
 * `overwrite` is set; `overwrite` with `continue_train` true is a contradiction.
 *
 * @throws Error naming the directory, the checkpoints found and the two ways out.
 */
export async function checkModelDir(config: Config, overwrite = false): Promise<void> {
  const dir = config.model_dir;
  if (config.continue_train) {
    if (overwrite) {
      throw new Error(
        `--overwrite starts a fresh run in ${dir}, but continue_train is true (resume); ` +
          "drop one of them",
      );
    }
    return;
  }
  const found = await earlierRun(dir);
  if (!found.checkpoints.length || overwrite) return;
  const shown = found.checkpoints.length > 6
    ? `${found.checkpoints.slice(0, 6).join(", ")} and ${found.checkpoints.length - 6} more`
    : found.checkpoints.join(", ");
  throw new Error(
    `${dir} holds the checkpoints of an earlier training run (${shown}); a fresh run ` +
      "(continue_train false) there would mix with them, so it does not start. Either resume " +
      "that run with --set continue_train=true, or start over with --overwrite " +
      "(TrainOptions.overwrite), which moves the earlier run's files into " +
      `${dir}/previous/<UTC time>/ (nothing is deleted).`,
  );
}

/**
 * Prepares `config.model_dir` for a run: checks it ({@linkcode checkModelDir}), creates it,
 * and for a fresh run with `overwrite` moves an earlier run's files into
 * `model_dir/previous/<UTC time>/`.
 *
 * @returns the folder the earlier run was moved to, or `null` when nothing was moved.
 */
export async function prepareModelDir(config: Config, overwrite = false): Promise<string | null> {
  await checkModelDir(config, overwrite);
  await Deno.mkdir(config.model_dir, { recursive: true });
  if (config.continue_train || !overwrite) return null;
  const found = await earlierRun(config.model_dir);
  if (!found.files.length) return null;
  // the index first: a crash part-way leaves no index naming files that have gone
  const order = [
    ...found.files.filter((n) => n === CHECKPOINT_INDEX),
    ...found.files.filter((n) => n !== CHECKPOINT_INDEX),
  ];
  return await moveAside(config.model_dir, order);
}
