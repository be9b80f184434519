/**
 * Zip archive reader (stored and deflate entries, zip64 records) that trusts no count or
 * size it reads: the entry count is bounded by the central directory's length, every
 * entry's bytes must lie inside the file without overlapping another's, a declared size
 * must be one the compressed bytes can hold, and each entry's CRC-32 is checked.
 * @module
 */

import { crc32, hex32 } from "./crc32.ts";
import {
  DEFLATE_MAX_RATIO,
  InflateError,
  inflateRaw,
  initialCapacity,
  maxInflatedSize,
  OutputLimitError,
  Sink,
} from "./inflate.ts";

/** One entry of a zip archive, as its central directory record describes it. */
export interface ZipEntry {
  /** The entry's name. */
  name: string;
  /** Compression method: 0 stored, 8 deflate. */
  method: number;
  /** CRC-32 of the uncompressed contents. */
  crc: number;
  /** Bytes of (compressed) data in the archive. */
  compressedSize: number;
  /** Uncompressed size. */
  size: number;
  /** Offset of the entry's data in the archive. */
  dataStart: number;
}

/** True when `bytes` starts like a zip archive (`PK`). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b;
}

const END = 0x06054b50, END64 = 0x06064b50, LOCATOR64 = 0x07064b50;
const CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
/** Size of a central directory record without its name, extra field and comment. */
const CENTRAL_SIZE = 46;

/** A name cut to a length fit for an error message. */
function shown(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/**
 * Reads the central directory of a zip archive.
 * @param bytes the archive.
 * @param name file name used in error messages.
 * @returns the entries in directory order.
 * @throws Error naming the file: no end record, an entry count or central directory the
 *   file cannot hold, multi-disk archives, encrypted entries, methods other than stored and
 *   deflate, an entry whose data lies outside the file or overlaps another's, a size the
 *   compressed data cannot hold, duplicate names.
 */
export function readZipDirectory(bytes: Uint8Array, name: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (p: number) => view.getUint16(p, true);
  const u32 = (p: number) => view.getUint32(p, true);
  const u64 = (p: number) => Number(view.getBigUint64(p, true));
  const corrupt = (what: string) => new Error(`${name}: corrupt or truncated zip archive: ${what}`);

  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (u32(i) === END && i + 22 + u16(i + 20) <= bytes.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw corrupt("no end-of-central-directory record (the file is truncated or not a zip)");
  }
  let disk = u16(eocd + 4), cdDisk = u16(eocd + 6), onDisk = u16(eocd + 8);
  let count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
  let cdLimit = eocd;
  const locator = eocd - 20;
  if (
    (count === 0xffff || onDisk === 0xffff || cdSize === 0xffffffff ||
      cdOffset === 0xffffffff) && locator >= 0 && u32(locator) === LOCATOR64
  ) {
    const at = u64(locator + 8);
    if (at + 56 > locator || u32(at) !== END64) {
      throw corrupt(`no zip64 end record at offset ${at}, where its locator points`);
    }
    disk = u32(at + 16), cdDisk = u32(at + 20), onDisk = u64(at + 24);
    count = u64(at + 32), cdSize = u64(at + 40), cdOffset = u64(at + 48);
    cdLimit = at;
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) {
    throw new Error(`${name}: multi-disk (split) zip archives are not supported`);
  }
  if (count * CENTRAL_SIZE > cdSize) {
    throw corrupt(
      `the end record declares ${count} entries, but its ${cdSize}-byte central directory ` +
        `can hold at most ${Math.floor(cdSize / CENTRAL_SIZE)}`,
    );
  }
  if (cdOffset + cdSize > cdLimit) {
    throw corrupt(
      `the central directory (${cdSize} bytes at offset ${cdOffset}) does not fit before ` +
        `the end record at offset ${cdLimit}`,
    );
  }

  const entries: ZipEntry[] = [];
  const spans: { start: number; end: number; name: string }[] = [];
  const names = new Set<string>();
  const cdEnd = cdOffset + cdSize;
  for (let k = 0, p = cdOffset; k < count; k++) {
    if (p + CENTRAL_SIZE > cdEnd || u32(p) !== CENTRAL) {
      throw corrupt(`central directory record ${k + 1} (offset ${p}) is missing or damaged`);
    }
    const flags = u16(p + 8), method = u16(p + 10), crc = u32(p + 16);
    let csize = u32(p + 20), size = u32(p + 24), local = u32(p + 42);
    const nlen = u16(p + 28), xlen = u16(p + 30), clen = u16(p + 32);
    const next = p + CENTRAL_SIZE + nlen + xlen + clen;
    if (next > cdEnd) throw corrupt(`central directory record ${k + 1} runs past its end`);
    const rawName = bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nlen);
    const entry = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(rawName);
    const fail = (what: string) => new Error(`${name}: zip entry \`${shown(entry)}\`: ${what}`);
    // Sizes and offset of 0xffffffff are in the zip64 extra field (id 1), in this order.
    for (let q = p + CENTRAL_SIZE + nlen, xend = q + xlen; q + 4 <= xend;) {
      const id = u16(q), len = u16(q + 2);
      let r = q + 4;
      const stop = Math.min(r + len, xend);
      q = r + len;
      if (id !== 1) continue;
      const take = () => {
        if (r + 8 > stop) throw fail("zip64 extra field too short for the values it replaces");
        const v = u64(r);
        r += 8;
        return v;
      };
      if (size === 0xffffffff) size = take();
      if (csize === 0xffffffff) csize = take();
      if (local === 0xffffffff) local = take();
    }
    if (flags & 0x41) throw fail("encrypted entries are not supported");
    if (method !== 0 && method !== 8) {
      throw fail(`unsupported compression method ${method} (supported: 0 stored, 8 deflate)`);
    }
    if (local + 30 > cdOffset || u32(local) !== LOCAL) {
      throw fail(`no local header at offset ${local}, where the central directory points`);
    }
    const lnlen = u16(local + 26), lxlen = u16(local + 28);
    const dataStart = local + 30 + lnlen + lxlen;
    const localName = bytes.subarray(local + 30, Math.min(local + 30 + lnlen, cdOffset));
    if (lnlen !== nlen || !localName.every((b, i) => b === rawName[i])) {
      throw fail(`the local header at offset ${local} names another entry`);
    }
    if (dataStart + csize > cdOffset) {
      throw fail(
        `its ${csize} compressed bytes at offset ${dataStart} run past the central directory ` +
          `(offset ${cdOffset}): the archive is truncated or corrupt`,
      );
    }
    if (method === 0 && size !== csize) {
      throw fail(`stored as ${csize} bytes but declares ${size} bytes`);
    }
    if (method === 8 && size > maxInflatedSize(csize)) {
      throw fail(
        `declares ${size} bytes, but its ${csize} compressed bytes can hold at most ` +
          `${maxInflatedSize(csize)} (deflate expands at most ${DEFLATE_MAX_RATIO}:1)`,
      );
    }
    if (names.has(entry)) throw fail("duplicate entry name");
    names.add(entry);
    entries.push({ name: entry, method, crc, compressedSize: csize, size, dataStart });
    spans.push({ start: local, end: dataStart + csize, name: entry });
    p = next;
  }
  spans.sort((a, b) => a.start - b.start);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k].start < spans[k - 1].end) {
      const [a, b] = [shown(spans[k - 1].name), shown(spans[k].name)];
      throw corrupt(`entries \`${a}\` and \`${b}\` overlap`);
    }
  }
  return entries;
}

/**
 * The uncompressed contents of an entry: a view of `bytes` when stored, a buffer of the
 * declared size (grown as data arrives) when deflated. The size and CRC-32 are checked.
 * @param bytes the archive.
 * @param entry an entry from {@link readZipDirectory} of the same archive.
 * @param label what to name in error messages (e.g. `data.npz: array \`x\``).
 * @throws Error naming `label`: corrupt deflate data, a size or CRC-32 mismatch.
 */
export function zipEntryData(bytes: Uint8Array, entry: ZipEntry, label: string): Uint8Array {
  const { dataStart, compressedSize, size } = entry;
  let data: Uint8Array;
  if (entry.method === 0) {
    data = bytes.subarray(dataStart, dataStart + compressedSize);
  } else {
    const sink = new Sink(size, initialCapacity(size, compressedSize));
    try {
      inflateEntry(bytes, entry, label, sink);
    } catch (e) {
      if (!(e instanceof OutputLimitError)) throw e;
      throw new Error(
        `${label}: the entry inflates to more than the ${size} bytes the zip directory ` +
          `declares: the archive is corrupt`,
      );
    }
    if (sink.length !== size) {
      throw new Error(
        `${label}: the entry inflates to ${sink.length} bytes but the zip directory declares ` +
          `${size}: the archive is corrupt`,
      );
    }
    data = sink.bytes();
  }
  const actual = crc32(data);
  if (actual !== entry.crc) {
    throw new Error(
      `${label}: CRC-32 mismatch: the zip directory says ${hex32(entry.crc)}, the data gives ` +
        `${hex32(actual)}: the archive is corrupt`,
    );
  }
  return data;
}

/**
 * The first bytes of an entry's contents, at least `n` of them when the entry is that long
 * (more may come back). Nothing is checked beyond the deflate data read.
 * @throws Error naming `label` when the deflate data read is corrupt.
 */
export function zipEntryPrefix(
  bytes: Uint8Array,
  entry: ZipEntry,
  label: string,
  n: number,
): Uint8Array {
  const { dataStart, compressedSize, size } = entry;
  if (entry.method === 0) return bytes.subarray(dataStart, dataStart + Math.min(n, size));
  // A stored block or a match may not fit in what is left; either is at most 65535 bytes.
  const limit = Math.min(size, n + 65535);
  const sink = new Sink(limit, Math.min(limit, n + 1024, initialCapacity(limit, compressedSize)));
  try {
    inflateEntry(bytes, entry, label, sink);
  } catch (e) {
    if (!(e instanceof OutputLimitError)) throw e;
  }
  return sink.bytes();
}

/**
 * Inflates an entry's deflate data, which must end within its compressed size; an output
 * beyond the sink's limit is left to the caller ({@link OutputLimitError}).
 */
function inflateEntry(bytes: Uint8Array, entry: ZipEntry, label: string, sink: Sink): void {
  const end = entry.dataStart + entry.compressedSize;
  try {
    inflateRaw(bytes.subarray(0, end), entry.dataStart, sink);
  } catch (e) {
    if (e instanceof InflateError) throw new Error(`${label}: corrupt deflate data: ${e.message}`);
    throw e;
  }
}
