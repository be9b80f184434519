/**
 * Helpers for the data tests: the fixtures directory, and writers for small
 * `.npy`/`.npz`/IDX files.
 * @module
 */

import { fileURLToPath } from "node:url";
import { deflateSync, zipSync } from "fflate";

/** The fixtures directory, `tests/fixtures/` (see its README for where the files come from). */
export const FIXTURES = new URL("../fixtures/", import.meta.url);

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

/** One entry of {@link zipBytes}; the optional fields override what a correct writer puts. */
export interface ZipEntrySpec {
  /** Entry name, e.g. `images.npy`. */
  name: string;
  /** Uncompressed contents. */
  data: Uint8Array;
  /** 0 stored, 8 deflate (default 8). */
  method?: number;
  /** CRC-32 written in the headers (default: the contents' CRC). */
  crc?: number;
  /** Uncompressed size written in the central directory (default: the real one). */
  size?: number;
  /** Compressed bytes written instead of the deflated contents. */
  compressed?: Uint8Array;
  /** Writes the sizes in zip64 extra fields, as NumPy's `savez` does (`force_zip64`). */
  zip64?: boolean;
}

/** Options of {@link zipBytes}. */
export interface ZipOptions {
  /** Writes a zip64 end record; `entries` overrides its entry count. */
  zip64?: { entries?: bigint };
}

/** CRC-32 (IEEE) of `bytes`, written independently of the module under test. */
export function testCrc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * Writes a zip archive field by field, so that tests can craft headers a correct writer
 * would not produce (wrong CRCs, huge declared sizes, zip64 records).
 */
export function zipBytes(entries: ZipEntrySpec[], opts: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = e.compressed ?? (method === 8 ? deflateSync(e.data) : e.data);
    const name = enc.encode(e.name);
    const crc = e.crc ?? testCrc32(e.data);
    const size = e.size ?? e.data.length;
    const extra = new Uint8Array(e.zip64 ? 20 : 0);
    if (e.zip64) {
      const xv = new DataView(extra.buffer);
      xv.setUint16(0, 1, true);
      xv.setUint16(2, 16, true);
      xv.setBigUint64(4, BigInt(size), true);
      xv.setBigUint64(12, BigInt(body.length), true);
    }
    const local = new Uint8Array(30 + name.length + extra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, e.zip64 ? 45 : 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.zip64 ? 0xffffffff : body.length, true);
    lv.setUint32(22, e.zip64 ? 0xffffffff : size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extra.length, true);
    local.set(name, 30);
    local.set(extra, 30 + name.length);
    // The central directory carries the sizes in a zip64 extra field only when they need it.
    const big = size > 0xfffffffe;
    const cextra = new Uint8Array(big ? 12 : 0);
    if (big) {
      const xv = new DataView(cextra.buffer);
      xv.setUint16(0, 1, true);
      xv.setUint16(2, 8, true);
      xv.setBigUint64(4, BigInt(size), true);
    }
    const cen = new Uint8Array(46 + name.length + cextra.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, e.zip64 || big ? 45 : 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, big ? 0xffffffff : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cextra.length, true);
    cv.setUint32(42, offset, true);
    cen.set(name, 46);
    cen.set(cextra, 46 + name.length);
    parts.push(local, body);
    central.push(cen);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const tail: Uint8Array[] = [];
  const count = entries.length;
  if (opts.zip64) {
    const z = new Uint8Array(56 + 20);
    const zv = new DataView(z.buffer);
    const n = opts.zip64.entries ?? BigInt(count);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setUint16(12, 45, true);
    zv.setUint16(14, 45, true);
    zv.setBigUint64(24, n, true);
    zv.setBigUint64(32, n, true);
    zv.setBigUint64(40, BigInt(cdSize), true);
    zv.setBigUint64(48, BigInt(offset), true);
    zv.setUint32(56, 0x07064b50, true);
    zv.setBigUint64(64, BigInt(offset + cdSize), true);
    zv.setUint32(72, 1, true);
    tail.push(z);
  }
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64 ? 0xffff : count, true);
  ev.setUint16(10, opts.zip64 ? 0xffff : count, true);
  ev.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, opts.zip64 ? 0xffffffff : offset, true);
  tail.push(end);
  return concatBytes(...parts, ...central, ...tail);
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
