/**
 * Fine-tuning: the parameters a run starts from when its configuration has `init_from` (a
 * checkpoint file, or a model directory whose latest checkpoint is taken).
 * @module
 */

import type { Model, Params } from "../nn/model.ts";
import { loadParams } from "../nn/params.ts";
import { CheckpointStore } from "../io/files.ts";

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
  let path = source;
  if (info.isDirectory) {
    const latest = await new CheckpointStore(source).latest();
    if (!latest) throw new Error(`init_from ${source}: the directory holds no checkpoint`);
    path = latest.path;
  }
  const loaded = loadParams(model, await Deno.readFile(path), `init_from ${path}`);
  let step: number | undefined;
  try {
    const s = JSON.parse(loaded.metadata.rar_state ?? "null")?.step;
    if (Number.isSafeInteger(s)) step = s;
  } catch {
    // A weights-only file has no training state; its step is unknown.
  }
  return { params: loaded.params, path, step };
}
