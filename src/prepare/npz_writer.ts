/**
 * Streaming writer of NumPy `.npz` archives: a zip of stored (uncompressed) `.npy` entries,
 * written array by array and chunk by chunk so that no array is ever held whole in memory.
 * Each entry's size is known from its shape before its data arrives; its CRC-32 is computed
 * as the data streams and patched into the local header when the entry ends. Entries or
 * offsets of 4 GiB and more get zip64 records.
 *
 * Everything is written to `<path>.partial`, which {@link NpzWriter.close} renames to `path`
 * and {@link NpzWriter.abort} removes: an interrupted run leaves no half-written archive.
 * The archive's bytes depend only on what is written (entries carry a fixed 1980-01-01
 * timestamp), so the same data gives the same file.
 * @module
 */

import { crc32 } from "../data/crc32.ts";

/** Element types the writer knows, with their `.npy` `descr` and size in bytes. */
export const NPY_DESCR = {
  uint8: ["|u1", 1],
  int32: ["<i4", 4],
  int64: ["<i8", 8],
  float32: ["<f4", 4],
} as const;

/** An element type of {@link NPY_DESCR}. */
export type WritableDType = keyof typeof NPY_DESCR;

/** Options of {@link NpzWriter.create}. */
export interface NpzWriterOptions {
  /**
   * Sizes and offsets from this value on are written as zip64 records (default `0xffffffff`,
   * the zip format's limit; smaller values exist so that tests can exercise zip64).
   */
  zip64From?: number;
  /** When true, {@link NpzWriter.close} leaves the finished archive at `<path>.partial` (the
   * caller renames it, e.g. once every file of a dataset is complete). */
  keepPartial?: boolean;
}

const LOCAL = 0x04034b50, CENTRAL = 0x02014b50, END = 0x06054b50;
const END64 = 0x06064b50, LOCATOR64 = 0x07064b50;
/** DOS date 1980-01-01, time 00:00. */
const DOS_DATE = 0x0021, DOS_TIME = 0;
const MAX32 = 0xffffffff;
/** Bytes gathered before they are written to the file. */
const BUFFER = 1 << 20;

/** The `.npy` (format 1.0) header of an array: magic, version, length and padded literal. */
export function npyHeader(dtype: WritableDType, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const literal = `{'descr': '${NPY_DESCR[dtype][0]}', 'fortran_order': False, 'shape': ${dims}, }`;
  const unpadded = 10 + literal.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = literal + " ".repeat(total - unpadded) + "\n";
  const out = new Uint8Array(total);
  out.set([0x93, ..."NUMPY"].map((c) => typeof c === "number" ? c : c.charCodeAt(0)));
  out[6] = 1, out[7] = 0;
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), 10);
  return out;
}

interface Entry {
  name: Uint8Array;
  offset: number;
  size: number;
  crc: number;
  zip64: boolean;
}

/** Writes one `.npz` archive; see the module documentation. */
export class NpzWriter {
  private file: Deno.FsFile;
  private entries: Entry[] = [];
  private current?: Entry & { left: number; array: string };
  private pos = 0;
  private buf = new Uint8Array(BUFFER);
  private fill = 0;
  private closed = false;

  private constructor(
    file: Deno.FsFile,
    /** Final path of the archive. */
    readonly path: string,
    /** Path written until {@link close}. */
    readonly partial: string,
    private zip64From: number,
    private keepPartial: boolean,
  ) {
    this.file = file;
  }

  /**
   * Opens `<path>.partial` for writing (replacing any left by an earlier run).
   * @throws Error naming the file when it cannot be created.
   */
  static async create(path: string, opts: NpzWriterOptions = {}): Promise<NpzWriter> {
    const partial = `${path}.partial`;
    let file;
    try {
      file = await Deno.open(partial, { write: true, create: true, truncate: true });
    } catch (e) {
      throw new Error(`${partial}: cannot create the output file: ${(e as Error).message}`);
    }
    return new NpzWriter(file, path, partial, opts.zip64From ?? MAX32, !!opts.keepPartial);
  }

  /**
   * Starts the array `name` (entry `name.npy`) of `dtype` and `shape`; exactly its
   * `product(shape)` elements must then be given to {@link write} before the next array.
   */
  async begin(name: string, dtype: WritableDType, shape: readonly number[]): Promise<void> {
    if (this.current) throw new Error(`${this.path}: array \`${this.current.array}\` unfinished`);
    const header = npyHeader(dtype, shape);
    const dataSize = shape.reduce((a, b) => a * b, 1) * NPY_DESCR[dtype][1];
    const size = header.length + dataSize;
    const entryName = new TextEncoder().encode(`${name}.npy`);
    const zip64 = size >= this.zip64From || this.pos >= this.zip64From;
    const local = new Uint8Array(30 + entryName.length + (zip64 ? 20 : 0));
    const v = new DataView(local.buffer);
    v.setUint32(0, LOCAL, true);
    v.setUint16(4, zip64 ? 45 : 20, true);
    v.setUint16(10, DOS_TIME, true);
    v.setUint16(12, DOS_DATE, true);
    v.setUint32(18, zip64 ? MAX32 : size, true);
    v.setUint32(22, zip64 ? MAX32 : size, true);
    v.setUint16(26, entryName.length, true);
    v.setUint16(28, zip64 ? 20 : 0, true);
    local.set(entryName, 30);
    if (zip64) {
      const x = 30 + entryName.length;
      v.setUint16(x, 1, true);
      v.setUint16(x + 2, 16, true);
      v.setBigUint64(x + 4, BigInt(size), true);
      v.setBigUint64(x + 12, BigInt(size), true);
    }
    this.current = {
      name: entryName,
      offset: this.pos,
      size,
      crc: 0,
      zip64,
      left: dataSize,
      array: name,
    };
    await this.raw(local);
    this.current.crc = crc32(header);
    await this.raw(header);
  }

  /** Appends elements of the current array (as little-endian bytes or a typed array). */
  async write(data: ArrayBufferView): Promise<void> {
    const cur = this.current;
    if (!cur) throw new Error(`${this.path}: write before begin`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length > cur.left) {
      throw new Error(
        `${this.path}: array \`${cur.array}\` given ${bytes.length} bytes with ${cur.left} left`,
      );
    }
    cur.crc = crc32(bytes, cur.crc);
    cur.left -= bytes.length;
    await this.raw(bytes);
  }

  /** Ends the current array: checks it is complete and patches its CRC-32 into its header. */
  async end(): Promise<void> {
    const cur = this.current;
    if (!cur) throw new Error(`${this.path}: end before begin`);
    if (cur.left !== 0) {
      throw new Error(`${this.path}: array \`${cur.array}\` ended ${cur.left} bytes short`);
    }
    await this.flush();
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, cur.crc, true);
    await this.file.seek(cur.offset + 14, Deno.SeekMode.Start);
    await writeAll(this.file, crc);
    await this.file.seek(this.pos, Deno.SeekMode.Start);
    const { name, offset, size, zip64 } = cur;
    this.entries.push({ name, offset, size, crc: cur.crc, zip64 });
    this.current = undefined;
  }

  /** Writes the central directory, syncs, closes and renames the partial file to `path`
   * (unless `keepPartial`). */
  async close(): Promise<void> {
    if (this.current) throw new Error(`${this.path}: array \`${this.current.array}\` unfinished`);
    const cdStart = this.pos;
    for (const e of this.entries) {
      const bigOffset = e.offset >= this.zip64From;
      const extra = (e.zip64 ? 16 : 0) + (bigOffset ? 8 : 0);
      const rec = new Uint8Array(46 + e.name.length + (extra ? 4 + extra : 0));
      const v = new DataView(rec.buffer);
      v.setUint32(0, CENTRAL, true);
      v.setUint16(4, 45, true);
      v.setUint16(6, e.zip64 || bigOffset ? 45 : 20, true);
      v.setUint16(12, DOS_TIME, true);
      v.setUint16(14, DOS_DATE, true);
      v.setUint32(16, e.crc, true);
      v.setUint32(20, e.zip64 ? MAX32 : e.size, true);
      v.setUint32(24, e.zip64 ? MAX32 : e.size, true);
      v.setUint16(28, e.name.length, true);
      v.setUint16(30, extra ? 4 + extra : 0, true);
      v.setUint32(42, bigOffset ? MAX32 : e.offset, true);
      rec.set(e.name, 46);
      if (extra) {
        let x = 46 + e.name.length;
        v.setUint16(x, 1, true);
        v.setUint16(x + 2, extra, true);
        x += 4;
        if (e.zip64) {
          v.setBigUint64(x, BigInt(e.size), true);
          v.setBigUint64(x + 8, BigInt(e.size), true);
          x += 16;
        }
        if (bigOffset) v.setBigUint64(x, BigInt(e.offset), true);
      }
      await this.raw(rec);
    }
    const cdSize = this.pos - cdStart;
    const n = this.entries.length;
    const need64 = cdStart >= this.zip64From || cdSize >= this.zip64From;
    if (need64) {
      const at = this.pos;
      const end64 = new Uint8Array(56 + 20);
      const v = new DataView(end64.buffer);
      v.setUint32(0, END64, true);
      v.setBigUint64(4, 44n, true);
      v.setUint16(12, 45, true);
      v.setUint16(14, 45, true);
      v.setBigUint64(24, BigInt(n), true);
      v.setBigUint64(32, BigInt(n), true);
      v.setBigUint64(40, BigInt(cdSize), true);
      v.setBigUint64(48, BigInt(cdStart), true);
      v.setUint32(56, LOCATOR64, true);
      v.setBigUint64(64, BigInt(at), true);
      v.setUint32(72, 1, true);
      await this.raw(end64);
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, END, true);
    v.setUint16(8, need64 ? 0xffff : n, true);
    v.setUint16(10, need64 ? 0xffff : n, true);
    v.setUint32(12, need64 ? MAX32 : cdSize, true);
    v.setUint32(16, need64 ? MAX32 : cdStart, true);
    await this.raw(end);
    await this.flush();
    await this.file.sync();
    this.file.close();
    this.closed = true;
    if (!this.keepPartial) await Deno.rename(this.partial, this.path);
  }

  /** Closes and removes the partial file (the archive at `path`, if any, is untouched). */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        this.file.close();
      } catch { /* already closed */ }
    }
    try {
      await Deno.remove(this.partial);
    } catch { /* never created or already gone */ }
  }

  private async raw(bytes: Uint8Array): Promise<void> {
    this.pos += bytes.length;
    if (bytes.length >= BUFFER) {
      await this.flush();
      await writeAll(this.file, bytes);
      return;
    }
    if (this.fill + bytes.length > BUFFER) await this.flush();
    this.buf.set(bytes, this.fill);
    this.fill += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.fill) await writeAll(this.file, this.buf.subarray(0, this.fill));
    this.fill = 0;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}
