/**
 * Reader for NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): the magic
 * `\x93NUMPY`, a version byte pair, a little-endian header length (uint16 for 1.0,
 * uint32 for 2.0/3.0), a Python-literal header
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, then the raw data.
 *
 * Supported element types: `|b1`, `|i1`, `|u1`, `<i2`, `<u2`, `<i4`, `<u4`, `<i8`, `<u8`,
 * `<f4`, `<f8` (little endian; `=` is read as little endian), C order only.
 *
 * Pure TypeScript: no Deno APIs.
 * @module
 */

/** Element types this reader understands (NumPy names). */
export type NpyDType =
  | "bool"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64";

/**
 * Flat data of a `.npy` array: `Uint8Array` for `uint8` and `bool` (0/1),
 * `BigInt64Array`/`BigUint64Array` for 64-bit integers, the matching typed array otherwise.
 */
export type NpyData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A parsed `.npy` array. */
export interface NpyArray {
  /** Shape, row-major (C order); `[]` is a scalar with one element. */
  shape: number[];
  /** Element type. */
  dtype: NpyDType;
  /** Flat data, `product(shape)` elements. */
  data: NpyData;
}

/** The header of a `.npy` file. */
export interface NpyHeader {
  /** Format version `[major, minor]`. */
  version: [number, number];
  /** The `descr` string as written, e.g. `<f4`. */
  descr: string;
  /** Element type. */
  dtype: NpyDType;
  /** Shape from the header. */
  shape: number[];
  /** Byte offset of the data from the start of the file. */
  dataOffset: number;
}

/**
 * Element types by their NumPy type code (a `descr` without the byte-order character), with
 * their size in bytes.
 */
export const NPY_KINDS: ReadonlyMap<string, readonly [NpyDType, number]> = new Map<
  string,
  readonly [NpyDType, number]
>([
  ["b1", ["bool", 1]],
  ["i1", ["int8", 1]],
  ["u1", ["uint8", 1]],
  ["i2", ["int16", 2]],
  ["u2", ["uint16", 2]],
  ["i4", ["int32", 4]],
  ["u4", ["uint32", 4]],
  ["i8", ["int64", 8]],
  ["u8", ["uint64", 8]],
  ["f4", ["float32", 4]],
  ["f8", ["float64", 8]],
]);

/** Bytes per element of `dtype`. */
export function npyItemSize(dtype: NpyDType): number {
  for (const [d, size] of NPY_KINDS.values()) if (d === dtype) return size;
  throw new Error(`unknown dtype ${JSON.stringify(dtype)}`);
}

/** The most dimensions a shape may have (NumPy's own limit). */
const MAX_DIMS = 64;
/** The deepest nesting of tuples and lists a header may have. */
const MAX_DEPTH = 16;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** True when `bytes` starts with the `.npy` magic `\x93NUMPY`. */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * The length of a `.npy` file's header (magic, version, header length and the header
 * itself): the offset of its data.
 * @param bytes the file's first bytes: 10 suffice for version 1.0, 12 for 2.0 and 3.0.
 * @param name name used in error messages.
 * @throws Error naming `name`: not a .npy file, unsupported version, too few bytes.
 */
export function npyHeaderLength(bytes: Uint8Array, name = "<npy>"): number {
  if (!isNpy(bytes)) {
    throw new Error(`${name}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  if (bytes.length < 8) throw new Error(`${name}: truncated .npy header`);
  const major = bytes[6], minor = bytes[7];
  if (major !== 1 && major !== 2 && major !== 3) {
    throw new Error(
      `${name}: unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`,
    );
  }
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw new Error(`${name}: truncated .npy header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return start + (major === 1 ? view.getUint16(8, true) : view.getUint32(8, true));
}

/**
 * Parses the header of a `.npy` file.
 * @param bytes file contents (at least the header).
 * @param name name used in error messages (e.g. `train.npz: array \`images\``).
 * @throws Error naming `name` and the problem: not a .npy file, unsupported version,
 *   truncated header, malformed header, unsupported dtype, Fortran order, a shape of more
 *   than 64 dimensions or 2^53 bytes.
 */
export function parseNpyHeader(bytes: Uint8Array, name = "<npy>"): NpyHeader {
  const end = npyHeaderLength(bytes, name);
  const major = bytes[6], minor = bytes[7];
  const start = major === 1 ? 10 : 12;
  if (bytes.length < end) {
    throw new Error(`${name}: truncated .npy header: needs ${end} bytes, found ${bytes.length}`);
  }
  const headerLen = end - start;
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const fields = parseHeaderDict(text, name);
  const descr = fields.get("descr");
  if (typeof descr !== "string") {
    throw new Error(
      `${name}: unsupported dtype: structured arrays are not supported (descr ${
        quote(JSON.stringify(descr))
      })`,
    );
  }
  const fortran = fields.get("fortran_order");
  if (fortran === true) {
    throw new Error(
      `${name}: fortran_order is True: Fortran-ordered arrays are not supported; ` +
        `save a C-ordered array (numpy.ascontiguousarray) instead`,
    );
  }
  if (fortran !== false) {
    throw new Error(`${name}: malformed .npy header: 'fortran_order' must be True or False`);
  }
  const shape = fields.get("shape") as number[];
  const dtype = parseDescr(descr, name);
  let count = 1;
  for (const d of shape) count *= d;
  if (!Number.isSafeInteger(count * npyItemSize(dtype))) {
    throw new Error(
      `${name}: impossible .npy shape [${shape.join(", ")}] of ${dtype}: more than 2^53 bytes`,
    );
  }
  return { version: [major, minor], descr, dtype, shape, dataOffset: start + headerLen };
}

/** `text` cut to a length fit for an error message. */
function quote(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function parseDescr(descr: string, name: string): NpyDType {
  const order = descr[0];
  const kind = NPY_KINDS.get(descr.slice(1));
  const supported = "|b1, |i1, |u1, <i2, <u2, <i4, <u4, <i8, <u8, <f4, <f8";
  if (!kind || !["<", ">", "|", "="].includes(order)) {
    throw new Error(`${name}: unsupported dtype '${quote(descr)}' (supported: ${supported})`);
  }
  if (order === ">" && kind[1] > 1) {
    throw new Error(
      `${name}: unsupported dtype '${descr}': big-endian data is not supported (supported: ${supported})`,
    );
  }
  return kind[0];
}

type HeaderValue = string | boolean | number | null | HeaderValue[];

/** The keys a `.npy` header holds, no more and no fewer. */
const HEADER_KEYS = ["descr", "fortran_order", "shape"];

/**
 * Parses the Python dict literal of a .npy header into descr / fortran_order / shape.
 * Values nest at most {@link MAX_DEPTH} deep; scanning is linear in the header's length.
 */
function parseHeaderDict(text: string, name: string): Map<string, HeaderValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(
      `${name}: malformed .npy header (${what}): ${quote(JSON.stringify(text.trim()))}`,
    );
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') fail("expected a string");
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail("unterminated string");
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const literal = /True|False|None|-?\d+L?/y;
  const value = (depth: number): HeaderValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (c === "(" || c === "[") {
      if (depth >= MAX_DEPTH) fail(`tuples and lists nested more than ${MAX_DEPTH} deep`);
      const close = c === "(" ? ")" : "]";
      i++;
      const items: HeaderValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        items.push(value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      return items;
    }
    literal.lastIndex = i;
    const m = literal.exec(text);
    if (!m) return fail("unexpected value");
    i += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number.parseInt(m[0], 10);
  };
  ws();
  if (text[i] !== "{") fail("expected '{'");
  i++;
  const out = new Map<string, HeaderValue>();
  for (;;) {
    ws();
    if (text[i] === "}") break;
    const key = str();
    if (!HEADER_KEYS.includes(key)) {
      fail(`unexpected key '${quote(key, 40)}' (a .npy header holds ${HEADER_KEYS.join(", ")})`);
    }
    ws();
    if (text[i] !== ":") fail("expected ':'");
    i++;
    out.set(key, value(0));
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail("expected ',' or '}'");
  }
  for (const k of HEADER_KEYS) {
    if (!out.has(k)) fail(`missing key '${k}'`);
  }
  const shape = out.get("shape");
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    fail("'shape' must be a tuple of non-negative integers");
  }
  if ((shape as HeaderValue[]).length > MAX_DIMS) {
    fail(`'shape' has more than ${MAX_DIMS} dimensions`);
  }
  return out;
}

/** The length of the `.npy` file `h` is the header of: header plus data bytes. */
export function npyFileSize(h: NpyHeader): number {
  return h.dataOffset + h.shape.reduce((a, b) => a * b, 1) * npyItemSize(h.dtype);
}

/**
 * Parses a `.npy` file.
 * @param bytes file contents.
 * @param name name used in error messages (a file, or `file.npz: array \`name\``).
 * @returns shape, dtype and the data (copied into a fresh, aligned typed array, except
 *   `uint8`/`bool`, which are views of `bytes`).
 * @throws Error naming `name` and the problem (see {@link parseNpyHeader}; also truncated
 *   or oversized data).
 */
export function parseNpy(bytes: Uint8Array, name = "<npy>"): NpyArray {
  const h = parseNpyHeader(bytes, name);
  const nbytes = npyFileSize(h) - h.dataOffset;
  const have = bytes.length - h.dataOffset;
  if (have < nbytes) {
    throw new Error(
      `${name}: truncated .npy data: shape [${
        h.shape.join(", ")
      }] of ${h.dtype} needs ${nbytes} bytes, found ${have}`,
    );
  }
  if (have > nbytes) {
    throw new Error(
      `${name}: ${have - nbytes} unexpected bytes after the .npy data (shape [${
        h.shape.join(", ")
      }] of ${h.dtype} needs ${nbytes})`,
    );
  }
  const raw = bytes.subarray(h.dataOffset, h.dataOffset + nbytes);
  return { shape: h.shape, dtype: h.dtype, data: npyTypedArray(h.dtype, raw) };
}

/**
 * Little-endian element bytes as the typed array of `dtype`: `raw` itself for `uint8`, 0/1 bytes
 * for `bool`, otherwise a typed array over a fresh (aligned) copy.
 */
export function npyTypedArray(dtype: NpyDType, raw: Uint8Array): NpyData {
  if (dtype === "uint8") return raw;
  if (dtype === "bool") return raw.map((v) => (v ? 1 : 0));
  const buf = raw.slice().buffer; // fresh, aligned copy
  switch (dtype) {
    case "int8":
      return new Int8Array(buf);
    case "int16":
      return new Int16Array(buf);
    case "uint16":
      return new Uint16Array(buf);
    case "int32":
      return new Int32Array(buf);
    case "uint32":
      return new Uint32Array(buf);
    case "int64":
      return new BigInt64Array(buf);
    case "uint64":
      return new BigUint64Array(buf);
    case "float32":
      return new Float32Array(buf);
    case "float64":
      return new Float64Array(buf);
  }
}

/**
 * Converts an integer (or bool) array to `Int32Array`, checking every value fits.
 * @param arr a parsed array.
 * @param name name used in error messages.
 * @throws Error naming `name` when the dtype is not an integer type or a value is out of
 *   the int32 range.
 */
export function npyToInt32(arr: NpyArray, name = "<npy>"): Int32Array {
  const { data, dtype } = arr;
  if (dtype === "float32" || dtype === "float64") {
    throw new Error(`${name}: expected an integer dtype, found ${dtype}`);
  }
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let k = 0; k < data.length; k++) {
      const v = data[k];
      if (v < -2147483648n || v > 2147483647n) {
        throw new Error(`${name}: value ${v} at index ${k} does not fit in int32`);
      }
      out[k] = Number(v);
    }
    return out;
  }
  for (let k = 0; k < data.length; k++) {
    const v = data[k] as number;
    if (v > 2147483647) throw new Error(`${name}: value ${v} at index ${k} does not fit in int32`);
    out[k] = v;
  }
  return out;
}
