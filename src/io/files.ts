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

/**
 * Whether `path` exists (a file, directory or anything else).
 * @throws the underlying error other than `NotFound` (e.g. `PermissionDenied`).
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A checkpoint file of a {@linkcode CheckpointStore}. */
export interface CheckpointEntry {
  /** The training step it was saved at. */
  step: number;
  /** Its path: the store's directory joined with `ckpt-<step padded to 8 digits>.safetensors`. */
  path: string;
}

/** A checkpoint that {@linkcode CheckpointStore.loadLatest} loaded, with the loader's value. */
export interface LoadedEntry<T> {
  /** The checkpoint file. */
  entry: CheckpointEntry;
  /** What the loader returned for it. */
  value: T;
}

/** The index file of a {@linkcode CheckpointStore}, `checkpoint.json`. */
interface CheckpointIndex {
  /** Identity of the training run whose checkpoints these are (absent in older indexes). */
  run?: string;
  /** File name (relative to the store's directory) of the newest checkpoint. */
  latest: string;
  /** File names of the kept checkpoints in the order they were saved, oldest first. */
  all: string[];
}

const CKPT_RE = /^ckpt-(\d{8,})\.safetensors$/;

/** The index file name inside a checkpoint directory. */
export const CHECKPOINT_INDEX = "checkpoint.json";

/** Whether `name` is a checkpoint file name of a {@linkcode CheckpointStore}. */
export function isCheckpointName(name: string): boolean {
  return stepOf(name) !== null;
}

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

/** A fresh training-run identity: the UTC time and a random suffix, e.g. `20240506T070809Z-1a2b3c`. */
export function newRunId(now = new Date()): string {
  return `${utcStamp(now)}-${randomSuffix().slice(0, 6)}`;
}

/** `YYYYMMDDTHHMMSSZ` (no separators that some file systems reject). */
function utcStamp(t: Date): string {
  return t.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** Lists names for messages: all of them up to `max`, then a count of the rest. */
function nameList(names: string[], max = 6): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/**
 * A directory of checkpoints `ckpt-<step padded to 8 digits>.safetensors` with an index
 * `checkpoint.json` = `{"run": "<id>", "latest": "<file>", "all": ["<file>", ...]}` (names
 * relative to the directory, in the order they were saved, oldest first). The index is the
 * authority: "latest" is the checkpoint saved last, and a checkpoint file the index does
 * not list (a crash between the file's rename and the index update, a stray copy) is never
 * latest while a valid index exists, and is never deleted. Only a directory without a
 * valid index (missing or unreadable) is scanned, and its highest step taken as latest.
 *
 * {@linkcode CheckpointStore.save} writes the checkpoint atomically, then the index
 * atomically, and only then deletes the checkpoints that the previous index listed and
 * that are now beyond the newest `keep`, so a crash at any point leaves every checkpoint
 * that was to be kept plus a valid (old or new) index. A checkpoint counts as saved once
 * the index names it. Temporary files (`.<name>.tmp-*`) and other files are ignored.
 *
 * Each index carries the identity of the run that wrote it. A store opened with a `run`
 * only ever adds to and rotates the checkpoints of that run; one opened without continues
 * the run the index names. Saves through one instance are serialized; do not share a
 * directory between processes writing at the same time.
 */
export class CheckpointStore {
  /** The checkpoint directory (created on the first save). */
  readonly dir: string;
  /** How many checkpoints to keep (at least 1). */
  readonly keep: number;
  #run: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens (lazily: nothing is read or created yet) a checkpoint directory.
   *
   * @param dir the checkpoint directory; created on the first save when missing.
   * @param keep how many of the newest checkpoints to keep (an integer ≥ 1; default 3).
   * @param run the identity of the training run that saves here (e.g. from
   *   {@linkcode newRunId}); a save then refuses an index of another run. Without it the
   *   store continues the run the index names (or starts one when there is no index).
   */
  constructor(dir: string, keep = 3, run?: string) {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(`CheckpointStore: keep must be an integer >= 1, got ${keep}`);
    }
    this.dir = dir;
    this.keep = keep;
    this.#run = run;
  }

  /** The run this store saves for: given, adopted from the index on a save, or `undefined`. */
  get run(): string | undefined {
    return this.#run;
  }

  /**
   * Saves a checkpoint: writes `ckpt-<step>.safetensors` atomically (replacing one of the
   * same step), makes it the index's latest, then deletes the checkpoints of this run
   * that the index listed and that are older than the newest `keep`. The file just written
   * is never deleted, nor any file the index did not list.
   *
   * @param step the training step (a non-negative safe integer).
   * @param bytes the file content (a safetensors file).
   * @returns the path of the written checkpoint.
   * @throws Error naming the directory when its index belongs to another run (nothing is
   *   written then).
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
    const index = await this.readIndex();
    if (index && this.#run !== undefined && index.run !== this.#run) {
      throw new Error(
        `${this.dir} holds the checkpoints of another training run ` +
          `(${index.run ?? "of an earlier version"}: ${nameList(index.all)}), ` +
          `not of run ${this.#run}; refusing to save or delete checkpoints there`,
      );
    }
    const name = checkpointName(step);
    const path = join(this.dir, name);
    await atomicWrite(path, bytes);

    const run = this.#run ?? index?.run ?? newRunId();
    const listed = (index?.all ?? []).filter((n) => n !== name);
    listed.push(name);
    const kept = listed.slice(-this.keep);
    const next: CheckpointIndex = { run, latest: name, all: kept };
    await atomicWrite(join(this.dir, CHECKPOINT_INDEX), JSON.stringify(next, null, 2) + "\n");
    this.#run = run;

    for (const old of listed.slice(0, listed.length - kept.length)) {
      await Deno.remove(join(this.dir, old)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return path;
  }

  /**
   * The newest saved checkpoint: the newest one listed in `checkpoint.json` whose file
   * exists. Only when the index is missing or unreadable, the highest-step checkpoint found
   * by scanning the directory. The file is not opened; use
   * {@linkcode CheckpointStore.loadLatest} to fall back past a damaged one.
   *
   * @returns the checkpoint, or `null` when there is none (or the directory is missing).
   */
  async latest(): Promise<CheckpointEntry | null> {
    for (const entry of (await this.candidates()).reverse()) {
      try {
        if ((await Deno.stat(entry.path)).isFile) return entry;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    return null;
  }

  /**
   * Loads the newest checkpoint that loads: tries the checkpoints the index lists, newest
   * first (the scanned files, highest step first, when there is no valid index), reading
   * each and passing its bytes to `load`; when reading fails or `load` throws, calls `warn`
   * with a message naming the file and why, and tries the next older one. Nothing is
   * deleted or rewritten.
   *
   * @param load turns a checkpoint's bytes into a value; throws when they are unusable (it
   *   must release whatever it allocated before throwing).
   * @param warn receives one message per checkpoint skipped.
   * @param options.fatal picks the errors of `load` that are not the file's fault (e.g. the
   *   GPU failing while the parameters are uploaded): they are rethrown at once.
   * @returns the checkpoint loaded and the loader's value, or `null` when there is none.
   * @throws Error naming the directory and every file tried, with its reason, when none loads.
   */
  async loadLatest<T>(
    load: (bytes: Uint8Array, entry: CheckpointEntry) => T | Promise<T>,
    warn: (message: string) => void = () => {},
    options: { fatal?: (error: unknown) => boolean } = {},
  ): Promise<LoadedEntry<T> | null> {
    const order = (await this.candidates()).reverse();
    const failures: string[] = [];
    for (let i = 0; i < order.length; i++) {
      const entry = order[i];
      let reason: string;
      try {
        const bytes = await Deno.readFile(entry.path);
        return { entry, value: await load(bytes, entry) };
      } catch (e) {
        if (options.fatal?.(e)) throw e;
        reason = e instanceof Deno.errors.NotFound
          ? "the file is missing"
          : (e as Error)?.message ?? String(e);
        // loaders name the file themselves; it is named once here
        if (reason.startsWith(`${entry.path}: `)) reason = reason.slice(entry.path.length + 2);
      }
      failures.push(`${entry.path}: ${reason}`);
      const next = i + 1 < order.length
        ? `trying the older ${basename(order[i + 1].path)}`
        : "no older checkpoint is left";
      warn(`checkpoint ${entry.path} cannot be loaded (${reason}); ${next}`);
    }
    if (!failures.length) return null;
    throw new Error(
      `no checkpoint in ${this.dir} could be loaded; tried, newest first:\n  ` +
        failures.join("\n  "),
    );
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

  /**
   * The checkpoints the index lists, oldest first, whether or not their files exist; the
   * scanned files ({@linkcode CheckpointStore.list}) when there is no valid index.
   */
  async candidates(): Promise<CheckpointEntry[]> {
    const index = await this.readIndex();
    if (!index) return await this.list();
    return index.all.map((name) => ({ step: stepOf(name)!, path: join(this.dir, name) }));
  }

  /**
   * `checkpoint.json` as saved, or `null` when missing, unreadable or malformed. `latest`
   * must be a checkpoint name; `all` keeps only checkpoint names and ends with `latest`.
   */
  private async readIndex(): Promise<CheckpointIndex | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.dir, CHECKPOINT_INDEX));
    } catch {
      return null; // Missing or unreadable: the caller scans the directory instead.
    }
    let idx: Partial<CheckpointIndex> | null;
    try {
      idx = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof idx !== "object" || idx === null) return null;
    const latest = idx.latest;
    if (typeof latest !== "string" || stepOf(latest) === null) return null;
    const listed = Array.isArray(idx.all) ? idx.all : [];
    const all = [
      ...new Set(listed.filter((n): n is string => typeof n === "string" && stepOf(n) !== null)),
    ].filter((n) => n !== latest);
    all.push(latest);
    const run = typeof idx.run === "string" && idx.run ? idx.run : undefined;
    return { run, latest, all };
  }
}

/**
 * Moves the entries `names` of `dir` (those that exist) into a new folder
 * `dir/previous/<UTC timestamp>/` (with a `-2`, `-3`, … suffix when that folder exists),
 * by renaming, so nothing is copied or deleted. Used to set an earlier training run aside.
 *
 * @param dir the directory holding the entries.
 * @param names entry names inside `dir`; missing ones are skipped.
 * @param now the time the folder is named after.
 * @returns the folder the entries were moved to (created even when none existed).
 */
export async function moveAside(dir: string, names: string[], now = new Date()): Promise<string> {
  const parent = join(dir, "previous");
  await Deno.mkdir(parent, { recursive: true });
  const stamp = utcStamp(now);
  let target = join(parent, stamp);
  for (let k = 2;; k++) {
    try {
      await Deno.mkdir(target);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      target = join(parent, `${stamp}-${k}`);
    }
  }
  for (const name of names) {
    try {
      await Deno.rename(join(dir, name), join(target, name));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await syncDir(target);
  await syncDir(dir);
  return target;
}
