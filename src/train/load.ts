/**
 * Trained parameters from disk: the newest checkpoint of a model directory that loads (for
 * `attack`, `explain` and experiments), and the parameters a fine-tune starts from when its
 * configuration has `init_from` (a checkpoint file, or a model directory).
 * @module
 */

import type { Model, Params } from "../nn/model.ts";
import { loadParams } from "../nn/params.ts";
import { type CheckpointEntry, CheckpointStore } from "../io/files.ts";
import { GpuKernelError, GpuLimitError } from "../gpu/runtime.ts";

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
