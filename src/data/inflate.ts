/**
 * Raw DEFLATE decoder (RFC 1951) that writes into a capped, growable {@link Sink} and
 * reports where the compressed stream ends, so that gzip members and zip entries can be
 * decompressed without trusting any size their headers declare.
 * @module
 */

/**
 * Deflate's largest expansion: a length-258 match coded in 2 bits gives 1032 output bytes
 * per input byte, and no stream does better.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** The most bytes `compressed` bytes of deflate data can inflate to. */
export function maxInflatedSize(compressed: number): number {
  return DEFLATE_MAX_RATIO * compressed + 258;
}

/** Thrown by a {@link Sink} asked to hold more than its limit. */
export class OutputLimitError extends Error {
  /** The sink's limit in bytes. */
  readonly limit: number;
  /** @param limit the sink's limit in bytes. */
  constructor(limit: number) {
    super(`output exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** A malformed deflate stream; the message says what and at which input byte. */
export class InflateError extends Error {}

/**
 * Output buffer that grows by doubling, never beyond `limit` bytes: writing more throws
 * {@link OutputLimitError}. A sink that ends full holds exactly `limit` bytes, with no copy.
 */
export class Sink {
  /** The buffer; bytes `[0, length)` are the output so far. */
  buf: Uint8Array;
  /** Bytes written. */
  length = 0;
  /** The most bytes this sink will hold. */
  readonly limit: number;

  /**
   * @param limit the most bytes the sink will hold.
   * @param initial the first buffer's size (at most `limit`).
   */
  constructor(limit: number, initial: number) {
    this.limit = limit;
    this.buf = new Uint8Array(Math.min(limit, initial));
  }

  /** Makes room for `n` more bytes and returns the (possibly new) buffer. */
  reserve(n: number): Uint8Array {
    const need = this.length + n;
    if (need <= this.buf.length) return this.buf;
    if (need > this.limit) throw new OutputLimitError(this.limit);
    const grown = new Uint8Array(Math.min(this.limit, Math.max(need, 2 * this.buf.length)));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    return grown;
  }

  /** The output so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * First buffer size for output capped at `limit` from `compressed` input bytes: the whole
 * limit when typical ratios reach it, otherwise a start that grows only with real output.
 */
export function initialCapacity(limit: number, compressed: number): number {
  return Math.min(limit, Math.max(65536, 8 * compressed));
}

const LEN_BASE = new Uint16Array([
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
]);
const LEN_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
]);
const DIST_BASE = new Uint16Array([
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
]);
const DIST_EXTRA = new Uint8Array([
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
]);
/** Order in which the code-length code's lengths are stored. */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A decoding table: entry `reversed code` holds `symbol << 4 | code length` (0: no code). */
interface Huffman {
  table: Uint16Array;
  bits: number;
}

/** Builds the decoding table of a canonical Huffman code from its code lengths. */
function huffman(lengths: Uint8Array, what: string): Huffman {
  const count = new Uint16Array(16);
  let bits = 0;
  for (const l of lengths) {
    count[l]++;
    if (l > bits) bits = l;
  }
  count[0] = 0;
  let left = 1;
  const next = new Uint16Array(16);
  for (let l = 1, code = 0; l <= 15; l++) {
    left = 2 * left - count[l];
    if (left < 0) throw new InflateError(`over-subscribed ${what} code`);
    next[l] = code;
    code = (code + count[l]) << 1;
  }
  bits = Math.max(bits, 1);
  const table = new Uint16Array(1 << bits);
  for (let sym = 0; sym < lengths.length; sym++) {
    const l = lengths[sym];
    if (!l) continue;
    let code = next[l]++, rev = 0;
    for (let k = 0; k < l; k++, code >>= 1) rev = (rev << 1) | (code & 1);
    for (let r = rev; r < table.length; r += 1 << l) table[r] = (sym << 4) | l;
  }
  return { table, bits };
}

let fixed: [Huffman, Huffman] | undefined;

/** The fixed literal/length and distance codes of block type 1. */
function fixedCodes(): [Huffman, Huffman] {
  if (!fixed) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = [huffman(lit, "literal/length"), huffman(new Uint8Array(30).fill(5), "distance")];
  }
  return fixed;
}

/**
 * Inflates the raw deflate stream that starts at byte `start` of `src` into `sink`.
 * Back-references reach no further back than the sink's length at the start.
 * @returns the offset of the first byte after the stream's final block.
 * @throws InflateError when the stream is malformed or ends early (`src` ends the input);
 *   OutputLimitError when the output would exceed the sink's limit.
 */
export function inflateRaw(src: Uint8Array, start: number, sink: Sink): number {
  const end = src.length;
  const base = sink.length;
  let ip = start, bb = 0, bc = 0;
  let out = sink.buf, op = sink.length;
  const truncated = () =>
    new InflateError(`deflate data truncated at byte ${ip} (the stream has no final block)`);
  const bits = (n: number): number => {
    while (bc < n) {
      if (ip >= end) throw truncated();
      bb |= src[ip++] << bc;
      bc += 8;
    }
    const v = bb & ((1 << n) - 1);
    bb >>>= n;
    bc -= n;
    return v;
  };
  const decode = (h: Huffman, what: string): number => {
    while (bc < h.bits && ip < end) {
      bb |= src[ip++] << bc;
      bc += 8;
    }
    const e = h.table[bb & ((1 << h.bits) - 1)];
    const l = e & 15;
    if (l === 0 || l > bc) {
      if (ip >= end) throw truncated();
      throw new InflateError(`invalid ${what} code before byte ${ip}`);
    }
    bb >>>= l;
    bc -= l;
    return e >> 4;
  };
  const room = (n: number) => {
    if (op + n > out.length) {
      sink.length = op;
      out = sink.reserve(n);
    }
  };

  let final = 0;
  do {
    final = bits(1);
    const type = bits(2);
    if (type === 0) {
      // Stored: skip to the byte boundary and give back whole bytes already read.
      bb >>>= bc & 7;
      bc -= bc & 7;
      ip -= bc >> 3;
      bb = bc = 0;
      if (ip + 4 > end) throw truncated();
      const len = src[ip] | (src[ip + 1] << 8);
      const nlen = src[ip + 2] | (src[ip + 3] << 8);
      if (len !== (~nlen & 0xffff)) {
        throw new InflateError(`stored block length check failed at byte ${ip}`);
      }
      ip += 4;
      if (ip + len > end) throw truncated();
      room(len);
      out.set(src.subarray(ip, ip + len), op);
      op += len;
      ip += len;
      continue;
    }
    let lit: Huffman, dist: Huffman;
    if (type === 1) {
      [lit, dist] = fixedCodes();
    } else if (type === 2) {
      const nlit = bits(5) + 257, ndist = bits(5) + 1, ncl = bits(4) + 4;
      if (nlit > 286 || ndist > 30) {
        throw new InflateError(`too many length or distance symbols before byte ${ip}`);
      }
      const cl = new Uint8Array(19);
      for (let k = 0; k < ncl; k++) cl[CL_ORDER[k]] = bits(3);
      const clCode = huffman(cl, "code-length");
      const lengths = new Uint8Array(nlit + ndist);
      for (let k = 0; k < lengths.length;) {
        const sym = decode(clCode, "code-length");
        if (sym < 16) {
          lengths[k++] = sym;
          continue;
        }
        let repeat: number, value = 0;
        if (sym === 16) {
          if (k === 0) throw new InflateError(`repeat with no previous length at byte ${ip}`);
          value = lengths[k - 1];
          repeat = 3 + bits(2);
        } else if (sym === 17) repeat = 3 + bits(3);
        else repeat = 11 + bits(7);
        if (k + repeat > lengths.length) {
          throw new InflateError(`code lengths overrun their table at byte ${ip}`);
        }
        lengths.fill(value, k, k + repeat);
        k += repeat;
      }
      if (lengths[256] === 0) throw new InflateError(`no end-of-block code before byte ${ip}`);
      lit = huffman(lengths.subarray(0, nlit), "literal/length");
      dist = huffman(lengths.subarray(nlit), "distance");
    } else {
      throw new InflateError(`invalid block type 3 before byte ${ip}`);
    }
    const lt = lit.table, lbits = lit.bits, lmask = (1 << lbits) - 1;
    for (;;) {
      while (bc < lbits && ip < end) {
        bb |= src[ip++] << bc;
        bc += 8;
      }
      const e = lt[bb & lmask];
      const l = e & 15;
      if (l === 0 || l > bc) {
        if (ip >= end) throw truncated();
        throw new InflateError(`invalid literal/length code before byte ${ip}`);
      }
      bb >>>= l;
      bc -= l;
      const sym = e >> 4;
      if (sym < 256) {
        if (op >= out.length) room(1);
        out[op++] = sym;
        continue;
      }
      if (sym === 256) break;
      const li = sym - 257;
      if (li >= 29) throw new InflateError(`invalid length symbol ${sym} before byte ${ip}`);
      const len = LEN_BASE[li] + bits(LEN_EXTRA[li]);
      const di = decode(dist, "distance");
      if (di >= 30) throw new InflateError(`invalid distance symbol ${di} before byte ${ip}`);
      const d = DIST_BASE[di] + bits(DIST_EXTRA[di]);
      if (d > op - base) {
        throw new InflateError(
          `distance ${d} reaches before the start of the output at byte ${ip}`,
        );
      }
      room(len);
      for (let k = op - d, stop = op + len; op < stop;) out[op++] = out[k++];
    }
  } while (!final);
  sink.length = op;
  return ip - (bc >> 3);
}
