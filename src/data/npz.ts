/**
 * Reader for NumPy `.npz` archives: a zip file (entries stored or deflate-compressed,
 * as written by `numpy.savez` / `numpy.savez_compressed`) of `.npy` files, one per array.
 * Each entry's size in the zip directory must match the shape its `.npy` header declares
 * and be one its compressed bytes can hold before anything of that size is allocated;
 * every parsed entry's CRC-32 is checked.
 *
 * Pure TypeScript apart from {@link readNpz}, which reads a file with Deno.
 * @module
 */

import {
  type NpyArray,
  npyFileSize,
  type NpyHeader,
  npyHeaderLength,
  parseNpy,
  parseNpyHeader,
} from "./npy.ts";
import { isZip, readZipDirectory, type ZipEntry, zipEntryData, zipEntryPrefix } from "./zip.ts";
import { readBytes } from "./_util.ts";

export { isZip };

/** How much of an entry is inflated first to read its `.npy` header (NumPy's are 64–256). */
const HEADER_PREFIX = 4096;

/**
 * The `.npy` entries of an `.npz` archive, optionally only those named, by array name (the
 * entry name without `.npy`), in archive order.
 */
function selectEntries(
  bytes: Uint8Array,
  name: string,
  names?: readonly string[],
): Map<string, ZipEntry> {
  if (!isZip(bytes)) {
    throw new Error(
      `${name}: not an .npz archive (a zip of .npy files): the file does not start with 'PK'`,
    );
  }
  const entries = readZipDirectory(bytes, name);
  const out = new Map<string, ZipEntry>();
  for (const e of entries) {
    const key = e.name.replace(/\.npy$/, "");
    if (names !== undefined && !names.includes(key)) continue;
    const other = out.get(key);
    if (other) {
      throw new Error(
        `${name}: entries \`${other.name}\` and \`${e.name}\` both hold array \`${key}\``,
      );
    }
    out.set(key, e);
  }
  for (const n of names ?? []) {
    if (!out.has(n)) {
      const held = entries.length > 20
        ? `${entries.slice(0, 20).map((e) => e.name).join(", ")}, … (${entries.length} entries)`
        : entries.length
        ? entries.map((e) => e.name).join(", ")
        : "no entries";
      throw new Error(
        `${name}: array \`${n}\` not found in the archive (expected an entry ${n}.npy; ` +
          `the archive holds ${held})`,
      );
    }
  }
  return out;
}

/**
 * Reads the `.npy` header of an entry from the first bytes of its contents and checks
 * that the array it declares is exactly the size the zip directory gives the entry, so
 * that the entry's buffer is sized by the array's shape as well as by the directory.
 */
function entryHeader(bytes: Uint8Array, entry: ZipEntry, label: string): NpyHeader {
  let head = zipEntryPrefix(bytes, entry, label, Math.min(HEADER_PREFIX, entry.size));
  const need = npyHeaderLength(head, label);
  if (need > head.length && need <= entry.size) {
    head = zipEntryPrefix(bytes, entry, label, need);
  }
  const h = parseNpyHeader(head, label);
  const total = npyFileSize(h);
  if (total !== entry.size) {
    throw new Error(
      `${label}: the zip directory declares ${entry.size} bytes for this entry, but its ` +
        `.npy header (shape [${h.shape.join(", ")}] of ${h.dtype}) needs ${total}`,
    );
  }
  return h;
}

/**
 * Parses an `.npz` archive.
 * @param bytes archive contents.
 * @param name file name used in error messages.
 * @param names when given, only these arrays are decompressed and parsed (each must exist).
 * @returns arrays by name (the zip entry name without `.npy`), in archive order.
 * @throws Error naming the file, the array and the problem (not a zip, corrupt or
 *   truncated zip, sizes the file cannot hold, CRC-32 mismatch, missing array, malformed
 *   `.npy`).
 */
export function parseNpz(
  bytes: Uint8Array,
  name = "<npz>",
  names?: readonly string[],
): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const [key, entry] of selectEntries(bytes, name, names)) {
    const label = `${name}: array \`${key}\``;
    entryHeader(bytes, entry, label);
    out.set(key, parseNpy(zipEntryData(bytes, entry, label), label));
  }
  return out;
}

/**
 * Parses only the `.npy` headers of an `.npz` archive: just the first bytes of each entry
 * are decompressed, so the entries' CRC-32s are not checked.
 * @param bytes archive contents.
 * @param name file name used in error messages.
 * @param names when given, only these arrays (each must exist).
 * @throws Error naming the file and the array, as {@link parseNpz}.
 */
export function parseNpzHeaders(
  bytes: Uint8Array,
  name = "<npz>",
  names?: readonly string[],
): Map<string, NpyHeader> {
  const out = new Map<string, NpyHeader>();
  for (const [key, entry] of selectEntries(bytes, name, names)) {
    out.set(key, entryHeader(bytes, entry, `${name}: array \`${key}\``));
  }
  return out;
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
