/**
 * Helpers shared by the commands.
 * @module
 */

import { Option } from "commander";
import { DATASET_NAMES } from "../vocabulary.ts";

/**
 * The `--dataset <name>` option, restricted to the dataset vocabulary (commander lists the
 * choices in the help and refuses any other value); `note` is appended to its help text.
 */
export function datasetOption(note = ""): Option {
  return new Option("--dataset <name>", `the dataset${note}`).choices(DATASET_NAMES);
}

/**
 * commander output settings for the commands: plain help and error text without commander's
 * colour detection, which on a terminal reads a dozen environment variables (TERM, CI, …) that
 * the tasks are not granted. Our help text has no colours either way.
 */
export const PLAIN_OUTPUT = {
  getOutHasColors: (): boolean => false,
  getErrHasColors: (): boolean => false,
};

/** Reads a configuration file, with a clear error when it is missing. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `configuration file ${path} not found (see configs/ for the reference files)`,
      );
    }
    throw new Error(`cannot read configuration file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Prints an error without a stack trace (unless RAR_DEBUG is set) and exits with status 1; a
 * permission refusal also points to the README's list of what each task may touch.
 */
export function fail(e: unknown): never {
  const err = e as Error;
  const debug = (() => {
    try {
      return Deno.env.get("RAR_DEBUG");
    } catch {
      return undefined;
    }
  })();
  const denied = e instanceof Deno.errors.NotCapable
    ? "\n(the deno tasks grant only the files their command line and configuration name: see " +
      '"What each task may read and write" in README.md)'
    : "";
  console.error(`error: ${debug ? err.stack : err.message}${denied}`);
  Deno.exit(1);
}

/** Largest magnitude of a target-map entry: only the map's direction matters to the attack, and
 * this keeps `Σ T ⊙ S` (saliency entries are at most H·W) far from float32 overflow. */
export const TARGET_MAP_MAX = 1e6;

/**
 * Parses a target map (docs/spec.md §8, `target` method): a JSON array of exactly `H` rows, each an
 * array of `W` finite numbers with magnitude at most {@link TARGET_MAP_MAX}, not all zero.
 * @returns the map, row-major
 * @throws Error naming `name`, the position and what was expected there
 */
export function parseTargetMap(text: string, name: string, H: number, W: number): Float32Array {
  const where = `target map ${name}`;
  const want = `${H} rows of ${W} numbers`;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message}); expected ${want}`);
  }
  const kind = (x: unknown) =>
    x === null
      ? "null"
      : Array.isArray(x)
      ? "an array"
      : typeof x === "object"
      ? "an object"
      : `a ${typeof x}`;
  if (!Array.isArray(v)) throw new Error(`${where}: expected ${want}, found ${kind(v)}`);
  if (v.length !== H) {
    throw new Error(
      `${where}: expected ${want}, found ${v.length} row${v.length === 1 ? "" : "s"}`,
    );
  }
  const out = new Float32Array(H * W);
  let nonZero = false;
  for (let r = 0; r < H; r++) {
    const row: unknown = v[r];
    if (!Array.isArray(row) || row.length !== W) {
      const found = Array.isArray(row) ? `${row.length} entries` : kind(row);
      throw new Error(`${where}: row ${r} has ${found}; expected ${want}`);
    }
    for (let c = 0; c < W; c++) {
      const x: unknown = row[c];
      if (typeof x !== "number" || !(Math.abs(x) <= TARGET_MAP_MAX)) {
        const shown = typeof x === "number"
          ? String(x)
          : typeof x === "string"
          ? JSON.stringify(x.slice(0, 40))
          : kind(x);
        throw new Error(
          `${where}: row ${r}, column ${c} is ${shown}; expected a finite number between ` +
            `${-TARGET_MAP_MAX} and ${TARGET_MAP_MAX}`,
        );
      }
      out[r * W + c] = x;
      nonZero ||= x !== 0;
    }
  }
  if (!nonZero) {
    throw new Error(
      `${where} is all zeros: the target attack's direction would be zero everywhere`,
    );
  }
  return out;
}

/**
 * Reads a target map file ({@link parseTargetMap}); a file far larger than `H·W` numbers can
 * take is refused before it is read.
 * @throws Error naming the file
 */
export async function readTargetMap(path: string, H: number, W: number): Promise<Float32Array> {
  const limit = H * W * 64 + 2 ** 20;
  let text: string;
  try {
    const size = (await Deno.stat(path)).size;
    if (size > limit) {
      throw new Error(`${size} bytes, far more than ${H}×${W} numbers take (at most ${limit})`);
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`target map ${path}: ${(e as Error).message}`);
  }
  return parseTargetMap(text, path, H, W);
}
