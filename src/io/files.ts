/**
 * File-system layer: atomic replacement of files, appends, and a checkpoint directory
 * that keeps the newest few checkpoints behind an index.
 *
 * Uses Deno APIs (needs `--allow-read` and `--allow-write` on the paths involved).
 * @module
 */

import { basename, dirname, join } from "node:path";

const utf8 = new TextEncoder();

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? utf8.encode(data) : data;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await file.write(data.subarray(o));
}

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Flushes a directory entry change (a rename) to disk; best effort, not all platforms allow it. */
async function syncDir(dir: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(dir, { read: true });
    await f.syncData();
  } catch {
    // Opening or syncing a directory is not supported everywhere (e.g. Windows).
  } finally {
    f?.close();
  }
}

/**
 * Replaces `path` with `data` atomically: the data is written to a temporary file in the
 * same directory (`.<name>.tmp-<random>`), flushed with `syncData`, then renamed over the
 * target, so a reader (or a crash) sees either the old content or the new one, never a
 * partial file. On failure the temporary file is removed, the target is left as it was,
 * and the error is rethrown.
 *
 * @param path the file to create or replace; its directory must exist.
 * @param data the new content; strings are written as UTF-8.
 * @throws the underlying `Deno.errors.*` error (e.g. `NotFound` when the directory is missing).
 */
export async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = toBytes(data);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomSuffix()}`);
  let file: Deno.FsFile | undefined;
  let created = false;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
    created = true;
    await writeAll(file, bytes);
    await file.syncData();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
    created = false;
  } catch (e) {
    try {
      file?.close();
    } catch {
      // Already closed.
    }
    if (created) await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/**
 * Appends `data` to `path`, creating the file when it is missing (used for
 * `metrics.jsonl` and TensorBoard event files). Not atomic: a crash may leave a partial
 * last line or record, which readers of those formats should tolerate.
 *
 * @param path the file to append to; its directory must exist.
 * @param data the bytes to append; strings are written as UTF-8.
 */
export async function appendFileBytes(path: string, data: Uint8Array | string): Promise<void> {
  const file = await Deno.open(path, { append: true, create: true });
  try {
    await writeAll(file, toBytes(data));
  } finally {
    file.close();
  }
}

/** A checkpoint file of a {@linkcode CheckpointStore}. */
export interface CheckpointEntry {
  /** The training step it was saved at. */
  step: number;
  /** Its path: the store's directory joined with `ckpt-<step padded to 8 digits>.safetensors`. */
  path: string;
}

/** The index file of a {@linkcode CheckpointStore}, `checkpoint.json`. */
interface CheckpointIndex {
  /** File name (relative to the store's directory) of the newest checkpoint. */
  latest: string;
  /** File names of the kept checkpoints, oldest first. */
  all: string[];
}

const CKPT_RE = /^ckpt-(\d{8,})\.safetensors$/;

/** The index file name inside a checkpoint directory. */
export const CHECKPOINT_INDEX = "checkpoint.json";

/** `ckpt-<step padded to 8 digits>.safetensors`. */
function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(8, "0")}.safetensors`;
}

function stepOf(name: string): number | null {
  const m = CKPT_RE.exec(name);
  if (!m) return null;
  const step = Number(m[1]);
  return Number.isSafeInteger(step) ? step : null;
}

/**
 * A directory of checkpoints `ckpt-<step padded to 8 digits>.safetensors` with an index
 * `checkpoint.json` = `{"latest": "<file>", "all": ["<file>", ...]}` (names relative to
 * the directory, oldest first). Checkpoints are ordered by step: "newest" means highest
 * step.
 *
 * {@linkcode CheckpointStore.save} writes the checkpoint atomically, then the index
 * atomically, and only then deletes checkpoints beyond the newest `keep`, so a crash at
 * any point leaves at least every previously saved checkpoint that was to be kept plus a
 * valid (old or new) index. A checkpoint counts as saved once the index names it.
 * Temporary files (`.<name>.tmp-*`) and other files in the directory are ignored.
 * Saves through one instance are serialized; do not share a directory between
 * processes writing at the same time.
 */
export class CheckpointStore {
  /** The checkpoint directory (created on the first save). */
  readonly dir: string;
  /** How many checkpoints to keep (at least 1). */
  readonly keep: number;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens (lazily: nothing is read or created yet) a checkpoint directory.
   *
   * @param dir the checkpoint directory; created on the first save when missing.
   * @param keep how many of the newest checkpoints to keep (an integer ≥ 1; default 3).
   */
  constructor(dir: string, keep = 3) {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(`CheckpointStore: keep must be an integer >= 1, got ${keep}`);
    }
    this.dir = dir;
    this.keep = keep;
  }

  /**
   * Saves a checkpoint: writes `ckpt-<step>.safetensors` atomically (replacing one of the
   * same step), updates `checkpoint.json` atomically, then deletes the checkpoints beyond
   * the newest `keep`.
   *
   * @param step the training step (a non-negative safe integer).
   * @param bytes the file content (a safetensors file).
   * @returns the path of the written checkpoint.
   */
  save(step: number, bytes: Uint8Array): Promise<string> {
    if (!Number.isSafeInteger(step) || step < 0) {
      return Promise.reject(
        new RangeError(`CheckpointStore.save: step must be a non-negative integer, got ${step}`),
      );
    }
    const run = this.queue.then(() => this.saveNow(step, bytes));
    this.queue = run.catch(() => {});
    return run;
  }

  /** The body of {@linkcode CheckpointStore.save}, run one at a time. */
  private async saveNow(step: number, bytes: Uint8Array): Promise<string> {
    await Deno.mkdir(this.dir, { recursive: true });
    const name = checkpointName(step);
    const path = join(this.dir, name);
    await atomicWrite(path, bytes);

    const present = await this.list();
    const kept = present.slice(-this.keep);
    const index: CheckpointIndex = {
      latest: basename(kept[kept.length - 1].path),
      all: kept.map((c) => basename(c.path)),
    };
    await atomicWrite(join(this.dir, CHECKPOINT_INDEX), JSON.stringify(index, null, 2) + "\n");

    for (const old of present.slice(0, present.length - kept.length)) {
      await Deno.remove(old.path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return path;
  }

  /**
   * The newest saved checkpoint according to `checkpoint.json`; when the index is
   * missing, unreadable, or names a file that does not exist, the highest-step
   * checkpoint found by scanning the directory.
   *
   * @returns the checkpoint, or `null` when there is none (or the directory is missing).
   */
  async latest(): Promise<CheckpointEntry | null> {
    const fromIndex = await this.readIndex();
    if (fromIndex) {
      try {
        const info = await Deno.stat(fromIndex.path);
        if (info.isFile) return fromIndex;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const all = await this.list();
    return all.length ? all[all.length - 1] : null;
  }

  /**
   * The checkpoint files present in the directory (by scanning it, not from the index),
   * ascending by step. Temporary files and other names are ignored.
   *
   * @returns the checkpoints, oldest first; `[]` when the directory is missing.
   */
  async list(): Promise<CheckpointEntry[]> {
    const out: CheckpointEntry[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile) continue;
        const step = stepOf(e.name);
        if (step !== null) out.push({ step, path: join(this.dir, e.name) });
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /** The `latest` entry of `checkpoint.json`, or `null` when missing, unreadable or malformed. */
  private async readIndex(): Promise<CheckpointEntry | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.dir, CHECKPOINT_INDEX));
    } catch {
      return null; // Missing or unreadable: the caller scans the directory instead.
    }
    try {
      const idx = JSON.parse(text) as Partial<CheckpointIndex> | null;
      const latest = idx?.latest;
      if (typeof latest !== "string") return null;
      const step = stepOf(latest);
      return step === null ? null : { step, path: join(this.dir, latest) };
    } catch {
      return null;
    }
  }
}
