/**
 * Gzip (RFC 1952) decompression with a cap on the output: every member of a multi-member
 * file is inflated in turn (as `gzip -d` does), and each member's CRC-32 and size from its
 * trailer are checked. The size a trailer declares is never used to allocate.
 * @module
 */

import { crc32, hex32 } from "./crc32.ts";
import {
  InflateError,
  inflateRaw,
  initialCapacity,
  maxInflatedSize,
  OutputLimitError,
  Sink,
} from "./inflate.ts";

/** True when `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Options of {@link gunzip}. */
export interface GunzipOptions {
  /**
   * The most bytes the output may have; default (and never more than) what deflate can
   * produce from the file, {@link maxInflatedSize}.
   */
  limit?: number;
  /** Why the limit is what it is, for the error raised when the data exceeds it. */
  why?: string;
}

/**
 * Decompresses a gzip file of one or more members.
 * @param bytes the file.
 * @param name file name used in error messages.
 * @throws Error naming the file: bad or truncated header, corrupt deflate data, CRC-32 or
 *   size mismatch with a trailer, bytes after the last member that are not a member, or
 *   output beyond the limit.
 */
export function gunzip(bytes: Uint8Array, name: string, opts: GunzipOptions = {}): Uint8Array {
  const limit = Math.min(opts.limit ?? Infinity, maxInflatedSize(bytes.length));
  const sink = new Sink(limit, initialCapacity(limit, bytes.length));
  try {
    inflateMembers(bytes, name, sink);
  } catch (e) {
    if (!(e instanceof OutputLimitError)) throw e;
    const why = opts.why ?? `at most ${limit} bytes fit in a ${bytes.length}-byte gzip file`;
    throw new Error(`${name}: gzip data inflates to more than ${limit} bytes (${why})`);
  }
  return sink.bytes();
}

/**
 * The first bytes of a gzip file's contents, at least `n` of them when the contents are
 * that long (more may come back). Members inflated to their end are checked as in
 * {@link gunzip}; the rest is not.
 * @throws Error naming the file, as {@link gunzip}.
 */
export function gunzipPrefix(bytes: Uint8Array, name: string, n: number): Uint8Array {
  // A stored block or a match may not fit in what is left; either is at most 65535 bytes.
  const limit = Math.min(n + 65535, maxInflatedSize(bytes.length));
  const sink = new Sink(limit, Math.min(limit, n + 1024));
  try {
    inflateMembers(bytes, name, sink);
  } catch (e) {
    if (!(e instanceof OutputLimitError)) throw e;
  }
  return sink.bytes();
}

/** Inflates every member of `bytes` into `sink`, checking each one's trailer. */
function inflateMembers(bytes: Uint8Array, name: string, sink: Sink): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0, member = 1;; member++) {
    const first = sink.length;
    const data = memberHeader(bytes, pos, name, member);
    let end: number;
    try {
      end = inflateRaw(bytes, data, sink);
    } catch (e) {
      if (!(e instanceof InflateError)) throw e;
      throw new Error(`${name}: corrupt or truncated gzip member ${member}: ${e.message}`);
    }
    if (end + 8 > bytes.length) {
      throw new Error(
        `${name}: truncated gzip file: member ${member} ends without its 8-byte trailer`,
      );
    }
    const crc = view.getUint32(end, true), size = view.getUint32(end + 4, true);
    const got = sink.length - first;
    if (got % 2 ** 32 !== size) {
      throw new Error(
        `${name}: gzip member ${member} inflates to ${got} bytes but its trailer gives a size ` +
          `of ${size} (mod 2^32): the file is corrupt`,
      );
    }
    const actual = crc32(sink.buf.subarray(first, sink.length));
    if (actual !== crc) {
      throw new Error(
        `${name}: CRC-32 mismatch in gzip member ${member}: the trailer says ${hex32(crc)}, ` +
          `the data gives ${hex32(actual)}: the file is corrupt`,
      );
    }
    pos = end + 8;
    if (pos === bytes.length) return;
    if (!isGzip(bytes.subarray(pos))) {
      throw new Error(
        `${name}: ${bytes.length - pos} unexpected bytes after gzip member ${member} ` +
          `(another member would start with 1f 8b)`,
      );
    }
  }
}

/** Checks the header of the member at `pos` and returns where its deflate data starts. */
function memberHeader(bytes: Uint8Array, pos: number, name: string, member: number): number {
  const truncated = () => new Error(`${name}: truncated header of gzip member ${member}`);
  if (pos + 10 > bytes.length) throw truncated();
  if (!isGzip(bytes.subarray(pos))) {
    throw new Error(`${name}: gzip member ${member} does not start with the magic 1f 8b`);
  }
  if (bytes[pos + 2] !== 8) {
    throw new Error(
      `${name}: gzip member ${member}: unsupported compression method ${bytes[pos + 2]} ` +
        `(expected 8, deflate)`,
    );
  }
  const flags = bytes[pos + 3];
  if (flags & 0xe0) {
    throw new Error(`${name}: gzip member ${member}: reserved header flags set (${flags})`);
  }
  let p = pos + 10;
  if (flags & 4) {
    if (p + 2 > bytes.length) throw truncated();
    p += 2 + (bytes[p] | (bytes[p + 1] << 8));
  }
  for (const bit of [8, 16]) {
    if (!(flags & bit) || p > bytes.length) continue;
    const zero = bytes.indexOf(0, p);
    if (zero < 0) throw truncated();
    p = zero + 1;
  }
  if (flags & 2) {
    if (p + 2 > bytes.length) throw truncated();
    const want = bytes[p] | (bytes[p + 1] << 8);
    if ((crc32(bytes.subarray(pos, p)) & 0xffff) !== want) {
      throw new Error(`${name}: gzip member ${member}: header CRC-16 mismatch`);
    }
    p += 2;
  }
  if (p > bytes.length) throw truncated();
  return p;
}
