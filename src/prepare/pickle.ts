/**
 * A restricted reader for Python pickles that hold a dict of NumPy arrays, such as the
 * pickled GTSRB split (`train.p`, `valid.p`, `test.p`: `features`, `labels`, `sizes`,
 * `coords`). It is not a general unpickler: a small stack machine runs only the opcodes such
 * files contain (protocols 2 to 5, Python 2 and 3 writers, NumPy 1.x and 2.x), calls nothing,
 * and knows exactly these globals:
 *
 * - `numpy.core.multiarray._reconstruct` / `numpy._core.multiarray._reconstruct` with
 *   `numpy.ndarray`, then BUILD with the array state `(1, shape, dtype, is_fortran, data)`;
 * - `numpy.dtype(code, False, True)`, then BUILD with the dtype state (byte order …);
 * - `_codecs.encode(text, 'latin1')`, how protocol 2 under Python 3 stores raw bytes, and
 *   `bytes()` (`__builtin__.bytes`, `builtins.bytes`), how it stores empty ones;
 * - `numpy.core.multiarray.scalar` / `numpy._core.multiarray.scalar` (integer scalars in
 *   label lists);
 * - `numpy.core.numeric._frombuffer` / `numpy._core.numeric._frombuffer` (protocol 5 with
 *   in-band buffers).
 *
 * Fortran-ordered arrays and arrays with permuted axes (protocol 5's order `'K'`) are
 * returned as C-ordered copies. Any other global, any other opcode, a big-endian, object or
 * structured array is refused with an `Error` naming the file and what was refused. Every
 * length is checked against the bytes that remain before anything is allocated, and the
 * stack, the MARK nesting and the memo are bounded; nothing recurses on the input.
 *
 * Pure TypeScript: no Deno APIs.
 * @module
 */

import { NPY_KINDS, type NpyData, type NpyDType, npyTypedArray } from "../data/npy.ts";

/** Element types {@link readPickledArrays} returns (NumPy names): those of `.npy` files. */
export type PickledDType = NpyDType;

/** Flat data of a {@link PickledArray}: `Uint8Array` for `uint8` and `bool` (0/1). */
export type PickledData = NpyData;

/** One array read from a pickle. */
export interface PickledArray {
  /** Element type. */
  dtype: PickledDType;
  /** Shape, row-major (C order); `[]` is a scalar with one element. */
  shape: number[];
  /**
   * Flat data, `product(shape)` elements in C order. C-ordered `uint8` and `int8` data is a
   * view on the bytes passed in (no copy); everything else is a copy.
   */
  data: PickledData;
}

/** Most nested MARKs (NumPy pickles use 3). */
const MAX_MARKS = 64;
/** Most values on the stack (Python writes items in batches of 1000). */
const MAX_STACK = 1 << 20;
/** Most memo entries (a list of NumPy scalars takes up to five per label). */
const MAX_MEMO = 1 << 20;
/** Most items in one list or dict. */
const MAX_ITEMS = 1 << 24;
/** Most bytes in one LONG integer (an int64 needs 8). */
const MAX_LONG_BYTES = 64;
/** Most bytes of a GLOBAL module or name line. */
const MAX_GLOBAL_LINE = 256;
/** Most dimensions of an array (NumPy's own limit). */
const MAX_DIMS = 64;

/** What the NumPy type-code letters mean, for refusals. */
const KIND_NAMES: Record<string, string> = {
  O: "object",
  V: "structured (void)",
  U: "unicode string",
  S: "byte string",
  a: "byte string",
  M: "datetime",
  m: "timedelta",
  c: "complex",
  f: "float",
  T: "variable-length string",
};

const SUPPORTED_DTYPES = "bool, int8 to int64, uint8 to uint64, float32, float64";

/** The callables a pickle may name, by their exact global names. */
type Callable =
  | "reconstruct"
  | "ndarray"
  | "dtype"
  | "encode"
  | "bytes"
  | "scalar"
  | "frombuffer";

const GLOBALS = new Map<string, Callable>([
  ["numpy.core.multiarray._reconstruct", "reconstruct"],
  ["numpy._core.multiarray._reconstruct", "reconstruct"],
  ["numpy.ndarray", "ndarray"],
  ["numpy.dtype", "dtype"],
  ["_codecs.encode", "encode"],
  // protocol 2 writes empty bytes as `bytes()` (Python 2's name under fix_imports)
  ["__builtin__.bytes", "bytes"],
  ["builtins.bytes", "bytes"],
  ["numpy.core.multiarray.scalar", "scalar"],
  ["numpy._core.multiarray.scalar", "scalar"],
  ["numpy.core.numeric._frombuffer", "frombuffer"],
  ["numpy._core.numeric._frombuffer", "frombuffer"],
]);

/** Opcode names, for messages about opcodes this reader does not run. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x46: "FLOAT",
  0x49: "INT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4c: "LONG",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x58: "BINUNICODE",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x64: "DICT",
  0x7d: "EMPTY_DICT",
  0x65: "APPENDS",
  0x67: "GET",
  0x68: "BINGET",
  0x69: "INST",
  0x6a: "LONG_BINGET",
  0x6c: "LIST",
  0x5d: "EMPTY_LIST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x29: "EMPTY_TUPLE",
  0x75: "SETITEMS",
  0x47: "BINFLOAT",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

// ---- the values a pickle builds ----

/** A Python str: UTF-8 (`latin1` false) or a Python 2 byte string read as Latin-1. */
class Str {
  /** The text, once decoded (a memoized str may be used many times). */
  decoded: string | null = null;
  /** The Latin-1 bytes of `_codecs.encode(this, 'latin1')`, once computed. */
  encoded: Uint8Array | null = null;
  constructor(readonly bytes: Uint8Array, readonly latin1: boolean) {}
}

/** A Python bytes or bytearray. */
class Bytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** A Python tuple. */
class Tuple {
  constructor(readonly items: Value[]) {}
}

/** A Python list. */
class List {
  readonly items: Value[] = [];
  /** The int64 array, once converted. */
  result: PickledArray | null = null;
}

/** A Python dict with str keys. */
class Dict {
  readonly entries = new Map<string, Value>();
}

/** One of the allowed globals. */
class Global {
  constructor(readonly fn: Callable, readonly name: string) {}
}

/** A `numpy.dtype` of one of the `.npy` element types (`NPY_KINDS`). */
class DType {
  built = false;
  constructor(readonly dtype: PickledDType, readonly size: number, readonly code: string) {}
}

/** An ndarray: empty after `_reconstruct`, filled by BUILD (or by `_frombuffer`). */
class NdArray {
  /** Shape, dtype and raw little-endian data, once built. */
  state: ArrayState | null = null;
  /** The result, once converted. */
  result: PickledArray | null = null;
}

/** What an ndarray holds: its data and how that data is laid out. */
interface ArrayState {
  shape: number[];
  dtype: DType;
  /** The data as stored: C order, or C order of `layout.base` when `layout` is set. */
  raw: Uint8Array;
  /** For Fortran order and permuted axes: output axis `k` is axis `axes[k]` of `base`. */
  layout: { base: number[]; axes: number[] } | null;
}

type Value = null | boolean | bigint | Str | Bytes | Tuple | List | Dict | Global | DType | NdArray;

/** A value's Python type, for messages (never its contents). */
function typeName(v: Value): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "int";
  if (v instanceof Str) return v.latin1 ? "str (Python 2)" : "str";
  if (v instanceof Bytes) return "bytes";
  if (v instanceof Tuple) return `tuple of ${v.items.length}`;
  if (v instanceof List) return "list";
  if (v instanceof Dict) return "dict";
  if (v instanceof Global) return v.name;
  if (v instanceof DType) return "numpy.dtype";
  return "numpy.ndarray";
}

/** `text` made printable and cut to a length fit for an error message. */
function printable(text: string, max = 120): string {
  let out = "";
  for (const c of text.slice(0, max)) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f)
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : c;
  }
  return text.length > max ? `${out}… (${text.length} characters)` : out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a pickle whose top level is a dict of str keys → NumPy arrays (or lists of ints),
 * such as the pickled GTSRB split. A list of ints (Python or NumPy integer scalars) is
 * returned as an `int64` array of shape `[length]`.
 * @param bytes the whole pickle file.
 * @param name the file's name, used in every error message.
 * @throws Error naming `name` and the problem: a global other than NumPy's array
 *   reconstruction (`refusing pickle global os.system`), an opcode this reader does not run
 *   (named with its byte and offset), an unsupported dtype (big-endian, object, structured,
 *   …), data whose length does not match the shape, a truncated or
 *   malformed pickle, a top level that is not a dict of arrays.
 */
export function readPickledArrays(bytes: Uint8Array, name: string): Record<string, PickledArray> {
  const top = new Machine(bytes, name).run();
  if (!(top instanceof Dict)) {
    throw new Error(
      `${name}: the pickle holds a ${typeName(top)}, expected a dict of NumPy arrays`,
    );
  }
  const out: Record<string, PickledArray> = {};
  const converted = new Map<Uint8Array, Map<string, PickledData>>();
  for (const [key, value] of top.entries) {
    // defineProperty keeps a key such as `__proto__` an ordinary entry
    Object.defineProperty(out, key, {
      value: toArray(value, key, name, converted),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The array behind the dict entry `key`, converting each raw buffer once per dtype. */
function toArray(
  v: Value,
  key: string,
  name: string,
  converted: Map<Uint8Array, Map<string, PickledData>>,
): PickledArray {
  const where = `${name}: entry '${printable(key)}'`;
  if (v instanceof List) return v.result ??= intList(v, where);
  if (!(v instanceof NdArray)) {
    throw new Error(`${where} is a ${typeName(v)}: only NumPy arrays and lists of ints are read`);
  }
  if (v.result) return v.result;
  if (!v.state) throw new Error(`${where} is a NumPy array without data (no BUILD)`);
  const { shape, dtype, raw, layout } = v.state;
  // arrays that share a buffer, a dtype and a layout share one converted copy
  let byType = converted.get(raw);
  if (!byType) converted.set(raw, byType = new Map());
  const how = layout ? `${dtype.dtype} ${layout.base} ${layout.axes}` : dtype.dtype;
  let data = byType.get(how);
  if (!data) {
    const c = layout ? permute(raw, dtype.size, layout.base, layout.axes) : raw;
    byType.set(how, data = npyTypedArray(dtype.dtype, c));
  }
  return v.result = { dtype: dtype.dtype, shape, data };
}

/** A list of ints as an int64 array. */
function intList(list: List, where: string): PickledArray {
  const data = new BigInt64Array(list.items.length);
  for (let i = 0; i < list.items.length; i++) {
    const item = list.items[i];
    const v = typeof item === "boolean" ? BigInt(item) : item;
    if (typeof v !== "bigint") {
      throw new Error(
        `${where} is a list holding a ${typeName(item)} at index ${i}: only lists of ints are read`,
      );
    }
    if (v !== BigInt.asIntN(64, v)) {
      throw new Error(`${where}: list item ${i} (${v}) does not fit in int64`);
    }
    data[i] = v;
  }
  return { dtype: "int64", shape: [list.items.length], data };
}

/** The stack machine over one pickle. */
class Machine {
  private pos = 0;
  private op = 0;
  private opAt = 0;
  private readonly stack: Value[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly name: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An Error about the current opcode, naming the file, the opcode and its offset. */
  private fail(what: string): Error {
    const op = OPCODE_NAMES[this.op] ?? `0x${this.op.toString(16).padStart(2, "0")}`;
    return new Error(`${this.name}: ${what} (${op} at offset ${this.opAt})`);
  }

  /** Runs to STOP and returns the pickled object. */
  run(): Value {
    const b = this.bytes;
    if (b.length === 0) throw new Error(`${this.name}: empty file, expected a pickle`);
    for (;;) {
      if (this.pos >= b.length) {
        throw new Error(
          `${this.name}: truncated pickle: ends at offset ${b.length} without STOP`,
        );
      }
      this.opAt = this.pos;
      this.op = b[this.pos++];
      if (this.step()) break;
    }
    if (this.marks.length || this.stack.length !== 1) {
      throw this.fail(
        `malformed pickle: STOP with ${this.stack.length} values and ${this.marks.length} ` +
          `open MARKs, expected one value`,
      );
    }
    if (this.pos !== b.length) {
      throw new Error(
        `${this.name}: ${b.length - this.pos} bytes after the pickle's STOP at offset ` +
          `${this.opAt}, expected the end of the file`,
      );
    }
    return this.stack[0];
  }

  /** Runs one opcode; true at STOP. */
  private step(): boolean {
    switch (this.op) {
      case 0x80: { // PROTO
        const v = this.u8();
        if (v < 2 || v > 5) throw this.fail(`pickle protocol ${v}: only protocols 2 to 5 are read`);
        return false;
      }
      case 0x95: // FRAME: only groups the opcodes that follow; its length must fit
        this.need(this.u64(), "frame");
        return false;
      case 0x2e: // STOP
        return true;
      case 0x28: // MARK
        if (this.marks.length >= MAX_MARKS) {
          throw this.fail(`MARKs nested more than ${MAX_MARKS} deep`);
        }
        this.marks.push(this.stack.length);
        return false;
      case 0x7d: // EMPTY_DICT
        this.push(new Dict());
        return false;
      case 0x5d: // EMPTY_LIST
        this.push(new List());
        return false;
      case 0x29: // EMPTY_TUPLE
        this.push(new Tuple([]));
        return false;
      case 0x4e: // NONE
        this.push(null);
        return false;
      case 0x88: // NEWTRUE
        this.push(true);
        return false;
      case 0x89: // NEWFALSE
        this.push(false);
        return false;
      case 0x4b: // BININT1
        this.push(BigInt(this.u8()));
        return false;
      case 0x4d: // BININT2
        this.push(BigInt(this.u16()));
        return false;
      case 0x4a: // BININT
        this.push(BigInt(this.i32()));
        return false;
      case 0x8a: // LONG1
        this.push(this.long(this.u8()));
        return false;
      case 0x8b: // LONG4
        this.push(this.long(this.i32()));
        return false;
      case 0x58: // BINUNICODE
        this.push(new Str(this.take(this.u32(), "str"), false));
        return false;
      case 0x8c: // SHORT_BINUNICODE
        this.push(new Str(this.take(this.u8(), "str"), false));
        return false;
      case 0x8d: // BINUNICODE8
        this.push(new Str(this.take(this.u64(), "str"), false));
        return false;
      case 0x54: // BINSTRING (a Python 2 str)
        this.push(new Str(this.take(this.i32(), "str"), true));
        return false;
      case 0x55: // SHORT_BINSTRING
        this.push(new Str(this.take(this.u8(), "str"), true));
        return false;
      case 0x43: // SHORT_BINBYTES
        this.push(new Bytes(this.take(this.u8(), "bytes")));
        return false;
      case 0x42: // BINBYTES
        this.push(new Bytes(this.take(this.u32(), "bytes")));
        return false;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8 (in-band buffers of protocol 5)
        this.push(new Bytes(this.take(this.u64(), "bytes")));
        return false;
      case 0x71: // BINPUT
        this.put(this.u8());
        return false;
      case 0x72: // LONG_BINPUT
        this.put(this.u32());
        return false;
      case 0x94: // MEMOIZE
        this.put(this.memo.size);
        return false;
      case 0x68: // BINGET
        this.get(this.u8());
        return false;
      case 0x6a: // LONG_BINGET
        this.get(this.u32());
        return false;
      case 0x63: { // GLOBAL
        const module = this.line();
        this.push(this.global(`${module}.${this.line()}`));
        return false;
      }
      case 0x93: { // STACK_GLOBAL
        const field = this.pop(), module = this.pop();
        if (!(module instanceof Str) || !(field instanceof Str)) {
          throw this.fail(
            `STACK_GLOBAL on a ${typeName(module)} and a ${typeName(field)}, expected two str`,
          );
        }
        this.push(this.global(`${this.text(module)}.${this.text(field)}`));
        return false;
      }
      case 0x74: // TUPLE
        this.push(new Tuple(this.popMark()));
        return false;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = this.op - 0x84;
        if (this.stack.length - this.floor() < n) {
          throw this.fail(`malformed pickle: TUPLE${n} on fewer than ${n} values`);
        }
        this.push(new Tuple(this.stack.splice(this.stack.length - n, n)));
        return false;
      }
      case 0x61: { // APPEND
        const item = this.pop();
        this.extend(this.top(), [item]);
        return false;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        this.extend(this.top(), items);
        return false;
      }
      case 0x73: { // SETITEM
        const value = this.pop(), key = this.pop();
        this.setItems(this.top(), [key, value]);
        return false;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.setItems(this.top(), items);
        return false;
      }
      case 0x52: { // REDUCE
        const args = this.pop(), fn = this.pop();
        this.push(this.reduce(fn, args));
        return false;
      }
      case 0x62: { // BUILD
        const state = this.pop();
        this.build(this.top(), state);
        return false;
      }
      case 0x97: // NEXT_BUFFER
        throw this.fail(
          "out-of-band pickle buffers are not read: pickle with protocol 5 without a " +
            "buffer_callback, or with protocol 4",
        );
    }
    const known = OPCODE_NAMES[this.op];
    throw new Error(
      `${this.name}: ${known ? "unsupported" : "unknown"} pickle opcode 0x${
        this.op.toString(16).padStart(2, "0")
      }${known ? ` (${known})` : ""} at offset ${this.opAt}: only NumPy arrays are read`,
    );
  }

  // ---- reading operands ----

  private need(n: number, what: string): void {
    const left = this.bytes.length - this.pos;
    if (n > left) {
      throw this.fail(
        `truncated pickle: ${what} of ${n} bytes at offset ${this.pos}, only ${left} remain`,
      );
    }
  }

  private u8(): number {
    this.need(1, "operand");
    return this.bytes[this.pos++];
  }

  private u16(): number {
    this.need(2, "operand");
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4, "operand");
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private i32(): number {
    this.need(4, "operand");
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A 64-bit length; one beyond 2^53 is reported as a number the caller then refuses. */
  private u64(): number {
    this.need(8, "operand");
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  /** The next `n` bytes, as a view, after checking they are there. */
  private take(n: number, what: string): Uint8Array {
    if (n < 0) throw this.fail(`malformed pickle: ${what} of negative length ${n}`);
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A two's-complement little-endian integer of `n` bytes. */
  private long(n: number): bigint {
    if (n < 0 || n > MAX_LONG_BYTES) {
      throw this.fail(`integer of ${n} bytes: at most ${MAX_LONG_BYTES} are read`);
    }
    const b = this.take(n, "integer");
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return n > 0 && b[n - 1] & 0x80 ? v - (1n << BigInt(8 * n)) : v;
  }

  /** One newline-terminated line of a GLOBAL opcode. */
  private line(): string {
    const end = this.bytes.subarray(this.pos, this.pos + MAX_GLOBAL_LINE + 1).indexOf(0x0a);
    if (end < 0) {
      const left = this.bytes.length - this.pos;
      throw this.fail(
        left <= MAX_GLOBAL_LINE
          ? `truncated pickle: GLOBAL name without its newline`
          : `GLOBAL name longer than ${MAX_GLOBAL_LINE} bytes`,
      );
    }
    const text = this.bytes.subarray(this.pos, this.pos + end);
    this.pos += end + 1;
    return String.fromCharCode(...text);
  }

  /** A str's text (UTF-8, or Latin-1 for a Python 2 str). */
  private text(s: Str): string {
    return s.decoded ??= this.decode(s);
  }

  private decode(s: Str): string {
    if (s.latin1) {
      let out = "";
      for (let i = 0; i < s.bytes.length; i += 4096) {
        out += String.fromCharCode(...s.bytes.subarray(i, i + 4096));
      }
      return out;
    }
    try {
      return utf8.decode(s.bytes);
    } catch {
      throw this.fail("malformed pickle: a str that is not valid UTF-8");
    }
  }

  // ---- the stack and the memo ----

  private push(v: Value): void {
    if (this.stack.length >= MAX_STACK) {
      throw this.fail(`more than ${MAX_STACK} values on the pickle stack`);
    }
    this.stack.push(v);
  }

  /** The stack index below which the innermost MARK protects values. */
  private floor(): number {
    return this.marks.length ? this.marks[this.marks.length - 1] : 0;
  }

  private pop(): Value {
    if (this.stack.length <= this.floor()) {
      throw this.fail("malformed pickle: pops a value from an empty stack");
    }
    return this.stack.pop() as Value;
  }

  private top(): Value {
    if (this.stack.length <= this.floor()) {
      throw this.fail("malformed pickle: no value on the stack to work on");
    }
    return this.stack[this.stack.length - 1];
  }

  /** The values pushed since the innermost MARK, which is closed. */
  private popMark(): Value[] {
    const at = this.marks.pop();
    if (at === undefined) throw this.fail("malformed pickle: no MARK to close");
    return this.stack.splice(at);
  }

  private put(index: number): void {
    if (this.stack.length <= this.floor()) {
      throw this.fail("malformed pickle: memoizes from an empty stack");
    }
    if (!this.memo.has(index) && this.memo.size >= MAX_MEMO) {
      throw this.fail(`more than ${MAX_MEMO} memo entries`);
    }
    this.memo.set(index, this.stack[this.stack.length - 1]);
  }

  private get(index: number): void {
    if (!this.memo.has(index)) {
      throw this.fail(`malformed pickle: memo entry ${index} was never stored`);
    }
    this.push(this.memo.get(index) as Value);
  }

  private global(full: string): Global {
    const fn = GLOBALS.get(full);
    if (!fn) {
      throw new Error(
        `${this.name}: refusing pickle global ${printable(full)} at offset ${this.opAt}: ` +
          `only NumPy arrays are read`,
      );
    }
    return new Global(fn, full);
  }

  // ---- containers ----

  private extend(target: Value, items: Value[]): void {
    if (!(target instanceof List)) {
      throw this.fail(`malformed pickle: appends to a ${typeName(target)}, expected a list`);
    }
    if (target.items.length + items.length > MAX_ITEMS) {
      throw this.fail(`a list of more than ${MAX_ITEMS} items`);
    }
    for (const item of items) target.items.push(item);
  }

  private setItems(target: Value, items: Value[]): void {
    if (!(target instanceof Dict)) {
      throw this.fail(`malformed pickle: sets items of a ${typeName(target)}, expected a dict`);
    }
    if (items.length % 2) throw this.fail("malformed pickle: SETITEMS with an odd count");
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (!(key instanceof Str)) {
        throw this.fail(`a dict key that is a ${typeName(key)}: only str keys are read`);
      }
      const text = this.text(key);
      if (!target.entries.has(text) && target.entries.size >= MAX_ITEMS) {
        throw this.fail(`a dict of more than ${MAX_ITEMS} entries`);
      }
      target.entries.set(text, items[i + 1]);
    }
  }

  // ---- NumPy reconstruction ----

  private reduce(fn: Value, args: Value): Value {
    if (!(fn instanceof Global)) {
      throw this.fail(`REDUCE calls a ${typeName(fn)}: only NumPy's reconstruction is called`);
    }
    if (!(args instanceof Tuple)) {
      throw this.fail(`REDUCE of ${fn.name} with a ${typeName(args)}, expected a tuple`);
    }
    const a = args.items;
    const bad = (expected: string) =>
      this.fail(
        `${fn.name} called with (${a.map(typeName).join(", ")}), expected (${expected})`,
      );
    switch (fn.fn) {
      case "reconstruct":
        if (a.length !== 3 || !(a[0] instanceof Global) || a[0].fn !== "ndarray") {
          throw bad("numpy.ndarray, shape, typecode");
        }
        return new NdArray();
      case "dtype": {
        if (a.length < 1 || a.length > 3 || !(a[0] instanceof Str)) {
          throw bad("str, bool, bool");
        }
        return this.dtype(this.text(a[0]));
      }
      case "encode": {
        const [text, codec] = a;
        if (
          a.length !== 2 || !(text instanceof Str) || text.latin1 || !(codec instanceof Str) ||
          this.text(codec) !== "latin1"
        ) {
          throw bad("str, 'latin1'");
        }
        return new Bytes(text.encoded ??= this.latin1(text.bytes));
      }
      case "bytes":
        if (a.length !== 0) throw bad("");
        return new Bytes(new Uint8Array(0));
      case "scalar": {
        const [dtype, raw] = a;
        if (a.length !== 2 || !(dtype instanceof DType)) throw bad("numpy.dtype, bytes");
        return this.scalar(dtype, this.rawBytes(raw, "scalar"));
      }
      case "frombuffer": {
        const [buf, dtype, shape, order] = a;
        if (
          (a.length !== 4 && a.length !== 5) || !(buf instanceof Bytes) ||
          !(dtype instanceof DType) || !(shape instanceof Tuple) || !(order instanceof Str)
        ) {
          throw bad("buffer, numpy.dtype, shape, order");
        }
        // frombuffer(buf, dtype).reshape(shape, order), or with order 'K':
        // .reshape(shape, order='C').transpose(axis_order)
        const o = this.text(order);
        const dims = this.shape(shape);
        const raw = this.checkData(buf.bytes, dims, dtype);
        const array = new NdArray();
        const axisOrder = a[4] ?? null;
        if (o === "C" && axisOrder === null) {
          array.state = { shape: dims, dtype, raw, layout: null };
        } else if (o === "F" && axisOrder === null) {
          array.state = { shape: dims, dtype, raw, layout: fortran(dims) };
        } else if (o === "K" && axisOrder instanceof Tuple) {
          const axes = this.axes(axisOrder, dims.length);
          const layout = axes.every((x, i) => x === i) ? null : { base: dims, axes };
          array.state = { shape: axes.map((x) => dims[x]), dtype, raw, layout };
        } else {
          throw this.fail(
            `_frombuffer with order '${printable(o)}' and axis_order ${typeName(axisOrder)}, ` +
              `expected order 'C' or 'F', or 'K' with a tuple`,
          );
        }
        return array;
      }
      default:
        throw this.fail(`${fn.name} is not called, only used as an argument`);
    }
  }

  private dtype(code: string): DType {
    const order = code[0] ?? "";
    const c = "<|=>".includes(order) ? code.slice(1) : code;
    const kind = NPY_KINDS.get(c);
    if (order === ">" && (kind?.[1] ?? 2) > 1) {
      throw this.fail(`big-endian dtype '${printable(code)}': only little-endian data is read`);
    }
    if (!kind) {
      const what = KIND_NAMES[c[0]] ? ` (${KIND_NAMES[c[0]]})` : "";
      throw this.fail(
        `unsupported dtype '${printable(code)}'${what}: only ${SUPPORTED_DTYPES} are read`,
      );
    }
    return new DType(kind[0], kind[1], c);
  }

  private build(target: Value, state: Value): void {
    if (!(state instanceof Tuple)) {
      throw this.fail(`BUILD of a ${typeName(target)} with a ${typeName(state)}, expected a tuple`);
    }
    const s = state.items;
    if (target instanceof DType) {
      if (target.built) throw this.fail("malformed pickle: a dtype built twice");
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
      const order = s[1];
      if (s.length < 5 || !(order instanceof Str)) {
        throw this.fail(`malformed dtype state of ${s.length} items`);
      }
      const o = this.text(order);
      if (o === ">" && target.size > 1) {
        throw this.fail(
          `big-endian dtype '>${target.code}': only little-endian data is read`,
        );
      }
      if (!["<", "|", "=", ">"].includes(o)) {
        throw this.fail(`malformed dtype state: byte order '${printable(o)}'`);
      }
      if (s[2] !== null || s[3] !== null || s[4] !== null || (s.length > 8 && s[8] !== null)) {
        throw this.fail(
          `a structured or sub-array dtype '${target.code}': ` +
            `only plain ${SUPPORTED_DTYPES} are read`,
        );
      }
      target.built = true;
      return;
    }
    if (!(target instanceof NdArray)) {
      throw this.fail(`BUILD of a ${typeName(target)}: only NumPy arrays and dtypes are built`);
    }
    if (target.state) throw this.fail("malformed pickle: an array built twice");
    // (version, shape, dtype, is_fortran, data), or without the version
    const [shape, dtype, isFortran, data] = s.length === 5 ? s.slice(1) : s;
    if (
      (s.length !== 4 && s.length !== 5) || !(shape instanceof Tuple) ||
      !(dtype instanceof DType) || typeof isFortran !== "boolean"
    ) {
      throw this.fail(
        `malformed array state (${s.map(typeName).join(", ")}), expected ` +
          `(1, shape, dtype, is_fortran, data)`,
      );
    }
    if (data instanceof List) {
      throw this.fail(
        `an array whose data is a list (an object array): only ${SUPPORTED_DTYPES} are read`,
      );
    }
    const dims = this.shape(shape);
    const raw = this.checkData(this.rawBytes(data, "array data"), dims, dtype);
    target.state = { shape: dims, dtype, raw, layout: isFortran ? fortran(dims) : null };
  }

  /** Raw bytes: bytes, a bytearray, or a Python 2 str. */
  private rawBytes(v: Value | undefined, what: string): Uint8Array {
    if (v instanceof Bytes) return v.bytes;
    if (v instanceof Str && v.latin1) return v.bytes;
    throw this.fail(`${what} is a ${typeName(v ?? null)}, expected bytes`);
  }

  /** A shape tuple as numbers: at most 64 non-negative integers. */
  private shape(t: Tuple): number[] {
    if (t.items.length > MAX_DIMS) {
      throw this.fail(`an array of ${t.items.length} dimensions: at most ${MAX_DIMS} are read`);
    }
    const dims: number[] = [];
    for (const d of t.items) {
      if (typeof d !== "bigint" || d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw this.fail(
          `malformed array shape: a dimension that is ${
            typeof d === "bigint" ? d : `a ${typeName(d)}`
          }, expected a non-negative int`,
        );
      }
      dims.push(Number(d));
    }
    return dims;
  }

  /** An axis order: a permutation of `0 … n-1`. */
  private axes(t: Tuple, n: number): number[] {
    const axes = t.items.map((x) =>
      typeof x === "bigint" && x >= 0n && x < BigInt(n) ? Number(x) : -1
    );
    if (axes.length !== n || axes.some((x, i) => x < 0 || axes.indexOf(x) !== i)) {
      throw this.fail(`malformed axis_order: expected a permutation of ${n} axes`);
    }
    return axes;
  }

  /** `raw` after checking its length is the shape's element count times the item size. */
  private checkData(raw: Uint8Array, dims: number[], dtype: DType): Uint8Array {
    let count = 1;
    for (const d of dims) count = Math.min(count * d, Number.MAX_SAFE_INTEGER);
    if (count * dtype.size !== raw.length) {
      throw this.fail(
        `array data of ${raw.length} bytes for shape [${dims.join(", ")}] of ${dtype.dtype}, ` +
          `expected ${count} × ${dtype.size} bytes`,
      );
    }
    return raw;
  }

  /** An integer or bool NumPy scalar as an int. */
  private scalar(dtype: DType, raw: Uint8Array): bigint {
    if (raw.length !== dtype.size) {
      throw this.fail(`a ${dtype.dtype} scalar of ${raw.length} bytes, expected ${dtype.size}`);
    }
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (dtype.dtype) {
      case "bool":
      case "uint8":
        return BigInt(raw[0]);
      case "int8":
        return BigInt(v.getInt8(0));
      case "int16":
        return BigInt(v.getInt16(0, true));
      case "uint16":
        return BigInt(v.getUint16(0, true));
      case "int32":
        return BigInt(v.getInt32(0, true));
      case "uint32":
        return BigInt(v.getUint32(0, true));
      case "int64":
        return v.getBigInt64(0, true);
      case "uint64":
        return v.getBigUint64(0, true);
    }
    throw this.fail(`a ${dtype.dtype} NumPy scalar: only integer scalars are read (label lists)`);
  }

  /** `_codecs.encode(text, 'latin1')` straight from the text's UTF-8 bytes. */
  private latin1(src: Uint8Array): Uint8Array {
    let n = 0;
    for (let i = 0; i < src.length; i++, n++) {
      const b = src[i];
      if (b < 0x80) continue;
      if ((b === 0xc2 || b === 0xc3) && i + 1 < src.length && (src[i + 1] & 0xc0) === 0x80) {
        i++;
        continue;
      }
      throw this.fail(
        `_codecs.encode(…, 'latin1') of a str with a character above U+00FF or invalid ` +
          `UTF-8 at byte ${i}`,
      );
    }
    const out = new Uint8Array(n);
    for (let i = 0, j = 0; i < src.length; j++) {
      const b = src[i++];
      out[j] = b < 0x80 ? b : ((b & 0x03) << 6) | (src[i++] & 0x3f);
    }
    return out;
  }
}

/**
 * The layout of Fortran-ordered data of shape `dims`: C order of the reversed shape with
 * the axes reversed; `null` when it is also C order (at most one dimension above 1).
 */
function fortran(dims: number[]): ArrayState["layout"] {
  if (dims.filter((d) => d > 1).length <= 1) return null;
  const n = dims.length;
  return { base: dims.toReversed(), axes: dims.map((_, k) => n - 1 - k) };
}

/**
 * `raw`, the C-order data of shape `base` with `size`-byte elements, as C-order data of the
 * array whose axis `k` is axis `axes[k]` of `base` (NumPy's `transpose(axes)`). Iterative.
 */
function permute(raw: Uint8Array, size: number, base: number[], axes: number[]): Uint8Array {
  const n = base.length;
  const out = new Uint8Array(raw.length);
  if (raw.length === 0 || n === 0) {
    out.set(raw);
    return out;
  }
  const baseStrides: number[] = [];
  for (let k = n - 1, s = size; k >= 0; k--) {
    baseStrides[k] = s;
    s *= base[k];
  }
  const shape = axes.map((a) => base[a]);
  const strides = axes.map((a) => baseStrides[a]);
  const index = shape.map(() => 0);
  const rowLength = shape[n - 1], rowStride = strides[n - 1];
  let src = 0, o = 0;
  for (;;) {
    for (let i = 0, p = src; i < rowLength; i++, p += rowStride) {
      for (let b = 0; b < size; b++) out[o++] = raw[p + b];
    }
    // the next row: an odometer over the axes before the last
    let k = n - 2;
    for (; k >= 0; k--) {
      src += strides[k];
      if (++index[k] < shape[k]) break;
      src -= strides[k] * shape[k];
      index[k] = 0;
    }
    if (k < 0) return out;
  }
}
