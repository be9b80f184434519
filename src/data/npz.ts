/**
 * Reader for NumPy `.npz` archives: a zip file (entries stored or deflate-compressed,
 * as written by `numpy.savez` / `numpy.savez_compressed`) of `.npy` files, one per array.
 *
 * Pure TypeScript apart from {@link readNpz}, which reads a file with Deno.
 * @module
 */

import { unzipSync } from "fflate";
import { type NpyArray, type NpyHeader, parseNpy, parseNpyHeader } from "./npy.ts";
import { errMessage, readBytes } from "./_util.ts";

/** True when `bytes` starts like a zip archive (`PK`). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b;
}

/** True when the zip end-of-central-directory signature `PK\x05\x06` is near the end. */
function hasEndRecord(bytes: Uint8Array): boolean {
  const stop = Math.max(0, bytes.length - 22 - 65535);
  for (let i = bytes.length - 22; i >= stop; i--) {
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 5 && bytes[i + 3] === 6) {
      return true;
    }
  }
  return false;
}

/**
 * Unzips the `.npy` entries of an `.npz` archive, optionally only those named.
 * @returns raw `.npy` bytes by array name (the entry name without `.npy`).
 */
function unzipNpz(
  bytes: Uint8Array,
  name: string,
  names?: readonly string[],
): { arrays: Map<string, Uint8Array>; entries: string[] } {
  if (!isZip(bytes)) {
    throw new Error(
      `${name}: not an .npz archive (a zip of .npy files): the file does not start with 'PK'`,
    );
  }
  let files: Record<string, Uint8Array>;
  const entries: string[] = [];
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        entries.push(f.name);
        return names === undefined || names.includes(f.name.replace(/\.npy$/, ""));
      },
    });
  } catch (e) {
    const why = hasEndRecord(bytes)
      ? errMessage(e)
      : "no end-of-central-directory record: the file is truncated";
    throw new Error(`${name}: corrupt or truncated zip archive (${why})`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [entry, data] of Object.entries(files)) {
    out.set(entry.replace(/\.npy$/, ""), data);
  }
  return { arrays: out, entries };
}

/**
 * Parses an `.npz` archive.
 * @param bytes archive contents.
 * @param name file name used in error messages.
 * @param names when given, only these arrays are decompressed and parsed (each must exist).
 * @returns arrays by name (the zip entry name without `.npy`), in archive order.
 * @throws Error naming the file, the array and the problem (not a zip, corrupt zip,
 *   missing array, malformed `.npy`).
 */
export function parseNpz(
  bytes: Uint8Array,
  name = "<npz>",
  names?: readonly string[],
): Map<string, NpyArray> {
  const { arrays: raw, entries } = unzipNpz(bytes, name, names);
  checkNames(raw, entries, name, names);
  const out = new Map<string, NpyArray>();
  for (const [key, data] of raw) out.set(key, parseNpy(data, `${name}: array \`${key}\``));
  return out;
}

/**
 * Parses only the `.npy` headers of an `.npz` archive (entries are still decompressed).
 * @param bytes archive contents.
 * @param name file name used in error messages.
 * @param names when given, only these arrays (each must exist).
 */
export function parseNpzHeaders(
  bytes: Uint8Array,
  name = "<npz>",
  names?: readonly string[],
): Map<string, NpyHeader> {
  const { arrays: raw, entries } = unzipNpz(bytes, name, names);
  checkNames(raw, entries, name, names);
  const out = new Map<string, NpyHeader>();
  for (const [key, data] of raw) out.set(key, parseNpyHeader(data, `${name}: array \`${key}\``));
  return out;
}

function checkNames(
  raw: Map<string, Uint8Array>,
  entries: string[],
  name: string,
  names: readonly string[] | undefined,
): void {
  for (const n of names ?? []) {
    if (!raw.has(n)) {
      throw new Error(
        `${name}: array \`${n}\` not found in the archive (expected an entry ${n}.npy; ` +
          `the archive holds ${entries.length ? entries.join(", ") : "no entries"})`,
      );
    }
  }
}

/**
 * Reads and parses an `.npz` file from disk.
 * @param path file path.
 * @param names when given, only these arrays are parsed (each must exist).
 */
export async function readNpz(
  path: string,
  names?: readonly string[],
): Promise<Map<string, NpyArray>> {
  return parseNpz(await readBytes(path), path, names);
}
