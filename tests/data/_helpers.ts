/**
 * Helpers for the data tests: the shared fixtures directory, and writers for small
 * `.npy`/`.npz`/IDX files.
 * @module
 */

import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";

/** The shared fixtures directory (`../shared/fixtures` beside the repository). */
export const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

/** File-system path of a fixture, e.g. `npz/gtsrb`. */
export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(rel, FIXTURES));
}

/** Options of {@link npyBytes}. */
export interface NpyOptions {
  /** Format major version (1, 2 or 3); default 1. */
  version?: number;
  /** Writes `'fortran_order': True`. */
  fortran?: boolean;
}

/** Encodes a `.npy` file the way NumPy does (header padded to a multiple of 64). */
export function npyBytes(
  descr: string,
  shape: number[],
  data: ArrayBufferView,
  opts: NpyOptions = {},
): Uint8Array {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${
    opts.fortran ? "True" : "False"
  }, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  const pad = 64 - ((pre + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const hb = new TextEncoder().encode(header);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(pre + hb.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, hb.length, true);
  else view.setUint32(8, hb.length, true);
  out.set(hb, pre);
  out.set(body, pre + hb.length);
  return out;
}

/** Zips `.npy` entries into an `.npz` (deflate when `compress`, else stored). */
export function npzBytes(entries: Record<string, Uint8Array>, compress = true): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(entries)) files[`${k}.npy`] = v;
  return zipSync(files, { level: compress ? 6 : 0 });
}

/** Encodes an unsigned-byte IDX file with the given magic type byte count of dims. */
export function idxBytes(dims: number[], data: Uint8Array, magic?: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic ?? (0x00000800 | dims.length), false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** Asserts that `fn` rejects with a message containing every one of `parts`. */
export async function rejectsWith(
  fn: () => Promise<unknown>,
  ...parts: string[]
): Promise<string> {
  let msg: string | undefined;
  try {
    await fn();
  } catch (e) {
    msg = e instanceof Error ? e.message : String(e);
  }
  if (msg === undefined) throw new Error(`expected a rejection mentioning ${parts.join(" / ")}`);
  for (const p of parts) {
    if (!msg.includes(p)) throw new Error(`error message ${JSON.stringify(msg)} lacks ${p}`);
  }
  return msg;
}

/** Synchronous variant of {@link rejectsWith}. */
export function throwsWith(fn: () => unknown, ...parts: string[]): string {
  let msg: string | undefined;
  try {
    fn();
  } catch (e) {
    msg = e instanceof Error ? e.message : String(e);
  }
  if (msg === undefined) throw new Error(`expected an error mentioning ${parts.join(" / ")}`);
  for (const p of parts) {
    if (!msg.includes(p)) throw new Error(`error message ${JSON.stringify(msg)} lacks ${p}`);
  }
  return msg;
}
