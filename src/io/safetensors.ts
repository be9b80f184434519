/**
 * Reader and writer for the safetensors format: an 8-byte little-endian u64 header
 * length `N`, `N` bytes of UTF-8 JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {key: value}}`,
 * then the raw little-endian tensor data (offsets relative to the start of the data).
 *
 * Pure TypeScript: no Deno APIs and no file system, so it also runs in a browser.
 * @module
 */

/** Element types held in memory: float32 and int32. */
export type SafeDType = "F32" | "I32";

/** One tensor of a safetensors file, with its data copied into an aligned typed array. */
export interface SafeEntry {
  /** Element type in memory (`F64` files are read as `F32`; `I64` and `U8` as `I32`). */
  dtype: SafeDType;
  /** Shape, row-major; `[]` is a scalar with one element. */
  shape: number[];
  /** Flat data, `product(shape)` elements; `Float32Array` for `F32`, `Int32Array` for `I32`. */
  data: Float32Array | Int32Array;
}

/** A parsed safetensors file. */
export interface SafeFile {
  /** Tensors by name, in header order. */
  tensors: Map<string, SafeEntry>;
  /** The `__metadata__` string map (empty when the file has none). */
  metadata: Record<string, string>;
}

/** A tensor to write: `dtype` is inferred from the array type when absent. */
export interface SafeTensorInput {
  /** Element type; must agree with the array type when given. */
  dtype?: SafeDType;
  /** Shape, row-major; `[]` is a scalar with one element. */
  shape: number[];
  /** Flat data with exactly `product(shape)` elements. */
  data: Float32Array | Int32Array;
}

/** Bytes per element of each dtype a file may hold (a `Map`, so no inherited names match). */
const FILE_DTYPE_SIZE: ReadonlyMap<string, number> = new Map([
  ["F32", 4],
  ["I32", 4],
  ["F64", 8],
  ["I64", 8],
  ["U8", 1],
]);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** At most 80 characters describing `v` (parsed JSON), for messages. */
function describe(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) {
    s = Array.isArray(v) ? "an array" : typeof v === "object" && v !== null ? "an object" : `${v}`;
  }
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The entry's own property `key` (never one inherited from `Object.prototype`). */
function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Sets `o[key]` as an own data property, so that a key such as `__proto__` is kept as data. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A header entry that passed validation: where its bytes lie and how to decode them. */
interface Span {
  name: string;
  dtype: string;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file held in memory.
 *
 * Supports `F32` and `I32` tensors, and converts `F64` to `F32` (rounding; throwing if a finite
 * value is beyond the float32 range), `I64` to `I32` (throwing if a value is outside the int32
 * range) and `U8` to `I32`. Data are copied into new, properly aligned typed arrays, so the
 * source may start at any byte offset.
 *
 * The whole header is validated (dtypes, shapes, offsets inside the data section, sizes
 * matching shape × dtype, no overlaps) before any tensor is decoded, so the tensors decoded
 * never take more than 4 bytes per byte of the data section.
 *
 * @param bytes the whole file.
 * @param source a name for the file (e.g. its path) used in error messages.
 * @returns the tensors (in header order) and the `__metadata__` map.
 * @throws Error naming `source` (and the tensor, when relevant) and what is wrong versus what
 *   was expected: file shorter than 8 bytes, header length beyond the file, header not valid
 *   UTF-8 JSON or not an object, bad metadata, unknown dtype, shape not an array of
 *   non-negative integers, `data_offsets` not matching shape × dtype size, offsets outside the
 *   data section (truncated data), overlapping entries, an `F64` value beyond float32 or an
 *   `I64` value outside int32.
 */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafeFile {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.byteLength < 8) {
    fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > bytes.byteLength - 8) {
    fail(
      `header length ${headerLen} is beyond the file: at most ${
        bytes.byteLength - 8
      } bytes follow the 8-byte length`,
    );
  }
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail(`header (${headerLen} bytes) is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}), expected a JSON object`);
  }
  if (!isPlainObject(header)) {
    fail(`header is ${describe(header)}, expected a JSON object`);
  }
  const head = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(head, "__metadata__")) {
    const meta = head["__metadata__"];
    if (!isPlainObject(meta)) {
      fail(`__metadata__ is ${describe(meta)}, expected an object of strings`);
    }
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== "string") {
        fail(`__metadata__ key "${k}" is ${describe(v)}, expected a string`);
      }
      define(metadata, k, v);
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const spans: Span[] = [];
  for (const [name, raw] of Object.entries(head)) {
    if (name === "__metadata__") continue;
    spans.push(validateEntry(name, raw, dataLen, fail));
  }
  checkDisjoint(spans, fail);

  const tensors = new Map<string, SafeEntry>();
  for (const s of spans) {
    const tfail = (msg: string): never => fail(`tensor "${s.name}": ${msg}`);
    tensors.set(s.name, {
      dtype: s.dtype === "F32" || s.dtype === "F64" ? "F32" : "I32",
      shape: s.shape,
      data: decode(bytes, dataStart + s.begin, s.count, s.dtype, view, tfail),
    });
  }
  return { tensors, metadata };
}

/** Checks one header entry against the data section; decodes nothing. */
function validateEntry(
  name: string,
  raw: unknown,
  dataLen: number,
  fail: (msg: string) => never,
): Span {
  const tfail = (msg: string): never => fail(`tensor "${name}": ${msg}`);
  if (!isPlainObject(raw)) {
    tfail(`entry is ${describe(raw)}, expected {dtype, shape, data_offsets}`);
  }
  const entry = raw as Record<string, unknown>;
  const dtype = own(entry, "dtype");
  const size = typeof dtype === "string" ? FILE_DTYPE_SIZE.get(dtype) : undefined;
  if (size === undefined) {
    tfail(
      `unknown dtype ${describe(dtype)}, expected one of ${[...FILE_DTYPE_SIZE.keys()].join(", ")}`,
    );
  }
  const dt = dtype as string;
  const shape = own(entry, "shape");
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    tfail(`shape ${describe(shape)} is not an array of non-negative integers`);
  }
  const dims = shape as number[];
  let count = 1;
  for (const d of dims) count *= d;
  const offs = own(entry, "data_offsets");
  if (
    !Array.isArray(offs) || offs.length !== 2 ||
    !offs.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
  ) {
    tfail(`data_offsets ${describe(offs)}, expected [begin, end] with integers >= 0`);
  }
  const [begin, end] = offs as number[];
  if (end < begin) {
    tfail(`data_offsets [${begin}, ${end}] end before begin`);
  }
  const expected = count * size!;
  if (end - begin !== expected) {
    tfail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes, expected ${expected} ` +
        `(shape ${describe(dims)} x ${dt} ${size} bytes)`,
    );
  }
  if (end > dataLen) {
    tfail(
      `data_offsets [${begin}, ${end}] are outside the data section of ${dataLen} bytes ` +
        `(file truncated?)`,
    );
  }
  return { name, dtype: dt, shape: [...dims], count, begin, end };
}

/** Throws when two non-empty byte ranges overlap. */
function checkDisjoint(spans: readonly Span[], fail: (msg: string) => never): void {
  const ranges = spans.filter((s) => s.end > s.begin);
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let k = 1, prev = ranges[0]; k < ranges.length; k++) {
    const c = ranges[k];
    if (c.begin < prev.end) {
      fail(
        `tensor "${c.name}" data_offsets [${c.begin}, ${c.end}] overlap tensor "${prev.name}" ` +
          `[${prev.begin}, ${prev.end}], expected disjoint ranges`,
      );
    }
    if (c.end > prev.end) prev = c;
  }
}

function decode(
  bytes: Uint8Array,
  at: number,
  count: number,
  dtype: string,
  view: DataView,
  tfail: (msg: string) => never,
): Float32Array | Int32Array {
  switch (dtype) {
    case "F32": {
      if (LITTLE_ENDIAN) return new Float32Array(bytes.slice(at, at + 4 * count).buffer);
      const out = new Float32Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getFloat32(at + 4 * k, true);
      return out;
    }
    case "I32": {
      if (LITTLE_ENDIAN) return new Int32Array(bytes.slice(at, at + 4 * count).buffer);
      const out = new Int32Array(count);
      for (let k = 0; k < count; k++) out[k] = view.getInt32(at + 4 * k, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let k = 0; k < count; k++) {
        const v = view.getFloat64(at + 8 * k, true);
        out[k] = v;
        if (!Number.isFinite(out[k]) && Number.isFinite(v)) {
          tfail(`F64 element ${k} is ${v}, outside the float32 range it is converted to`);
        }
      }
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        const v = view.getBigInt64(at + 8 * k, true);
        if (v < -2147483648n || v > 2147483647n) {
          tfail(`I64 element ${k} is ${v}, outside the int32 range it is converted to`);
        }
        out[k] = Number(v);
      }
      return out;
    }
    default: { // U8
      const out = new Int32Array(count);
      for (let k = 0; k < count; k++) out[k] = bytes[at + k];
      return out;
    }
  }
}

/**
 * Writes tensors to a safetensors file in memory.
 *
 * Tensors are written sorted by name, contiguously in that order; the JSON header is padded
 * with spaces to a multiple of 8 bytes (as the reference implementation does). `__metadata__`
 * is written when `metadata` is given.
 *
 * @param tensors the tensors by name (a record or a `Map`).
 * @param metadata optional string map stored as `__metadata__`.
 * @returns the whole file.
 * @throws Error naming the tensor when its shape is not an array of non-negative integers,
 *   its data length differs from the product of its shape, its `dtype` disagrees with the
 *   array type, or its name is `__metadata__`.
 */
export function serializeSafetensors(
  tensors: Record<string, SafeTensorInput> | Map<string, SafeTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const items = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  items.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new Error(
          `serializeSafetensors: metadata key "${k}" is ${describe(v)}, expected a string`,
        );
      }
    }
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) define(meta, k, v);
    define(header, "__metadata__", meta);
  }
  let offset = 0;
  for (const [name, t] of items) {
    const tfail = (msg: string): never => {
      throw new Error(`serializeSafetensors: tensor "${name}": ${msg}`);
    };
    if (name === "__metadata__") tfail(`the name "__metadata__" is reserved`);
    const inferred: SafeDType | undefined = t.data instanceof Float32Array
      ? "F32"
      : t.data instanceof Int32Array
      ? "I32"
      : undefined;
    if (inferred === undefined) tfail(`data must be a Float32Array or an Int32Array`);
    if (t.dtype !== undefined && t.dtype !== inferred) {
      tfail(`dtype ${describe(t.dtype)} does not match the data's type ${inferred}`);
    }
    if (
      !Array.isArray(t.shape) ||
      !t.shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
    ) {
      tfail(`shape ${describe(t.shape)} is not an array of non-negative integers`);
    }
    let count = 1;
    for (const d of t.shape) count *= d;
    if (t.data.length !== count) {
      tfail(
        `data has ${t.data.length} elements, expected ${count} (product of shape ${
          describe(t.shape)
        })`,
      );
    }
    define(header, name, {
      dtype: inferred,
      shape: [...t.shape],
      data_offsets: [offset, offset + 4 * count],
    });
    offset += 4 * count;
  }

  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const [, t] of items) {
    const d = t.data;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    } else if (d instanceof Float32Array) {
      for (let k = 0; k < d.length; k++) view.setFloat32(at + 4 * k, d[k], true);
    } else {
      for (let k = 0; k < d.length; k++) view.setInt32(at + 4 * k, d[k], true);
    }
    at += d.byteLength;
  }
  return out;
}
