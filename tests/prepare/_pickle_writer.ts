/**
 * Test helper: writes a dict of `uint8`/`int64` arrays as a protocol-4 pickle, byte for byte
 * as Python's `pickle.dumps(d, protocol=4)` writes a dict of NumPy 2.x arrays (same opcodes,
 * memo and 64 KiB frames), so that tests can make GTSRB-like `train.p` files without Python.
 * (A key that equals one of NumPy's own names, such as `numpy` or `dtype`, is one object with
 * that name in CPython and shares its memo entry there; this writer does not imitate that.)
 * @module
 */

/** One array to write: C-order data of `product(shape)` elements. */
export interface PickleArrayInput {
  /** Element type. */
  dtype: "uint8" | "int64";
  /** Shape, row-major. */
  shape: number[];
  /** Flat data. */
  data: Uint8Array | BigInt64Array;
}

/** Python's frame size target: a frame is closed at the first object boundary past it. */
const FRAME_TARGET = 64 * 1024;

/** The dtype pickling of each element type: its code and its byte order character. */
const DTYPES = { uint8: ["u1", "|", 1], int64: ["i8", "<", 8] } as const;

/**
 * `arrays` (in key order) as the bytes of a protocol-4 pickle of a dict of NumPy arrays.
 * @throws Error when an array's data does not hold `product(shape)` elements of its dtype.
 */
export function writePickledArrays(arrays: Record<string, PickleArrayInput>): Uint8Array {
  return new Writer().dump(arrays);
}

/** Python's `_Pickler` reduced to what a dict of arrays needs. */
class Writer {
  private readonly file: Uint8Array[] = [];
  private frame: number[] = [];
  private readonly memo = new Map<string, number>();
  private memoSize = 0;

  dump(arrays: Record<string, PickleArrayInput>): Uint8Array {
    this.file.push(new Uint8Array([0x80, 4])); // PROTO 4
    this.save(() => {
      this.op(0x7d); // EMPTY_DICT
      this.memoize();
      const entries = Object.entries(arrays);
      // Python batches dict items by 1000: MARK … SETITEMS, or SETITEM for a single one
      for (let i = 0; i < entries.length; i += 1000) {
        const batch = entries.slice(i, i + 1000);
        if (batch.length > 1) this.op(0x28);
        for (const [key, array] of batch) {
          this.str(key);
          this.array(key, array);
        }
        this.op(batch.length > 1 ? 0x75 : 0x73);
      }
    });
    this.op(0x2e); // STOP
    this.commit(true);
    let n = 0;
    for (const c of this.file) n += c.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.file) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  // ---- framing ----

  private op(...bytes: number[]): void {
    for (const b of bytes) this.frame.push(b);
  }

  private commit(force: boolean): void {
    if (this.frame.length < FRAME_TARGET && !force) return;
    if (this.frame.length >= 4) {
      const head = new Uint8Array(9);
      head[0] = 0x95; // FRAME
      new DataView(head.buffer).setBigUint64(1, BigInt(this.frame.length), true);
      this.file.push(head);
    }
    this.file.push(Uint8Array.from(this.frame));
    this.frame = [];
  }

  /** One `save(obj)` of Python's pickler: a frame may end before it. */
  private save(body: () => void): void {
    this.commit(false);
    body();
  }

  /**
   * Saves a shared object once (`body` returns its memo index) and fetches it from the memo
   * afterwards.
   */
  private shared(id: string, body: () => number): void {
    this.save(() => {
      const at = this.memo.get(id);
      if (at === undefined) this.memo.set(id, body());
      else if (at < 256) this.op(0x68, at); // BINGET
      else this.op(0x6a, ...le32(at)); // LONG_BINGET
    });
  }

  /** MEMOIZE: the object just written gets the next memo index, returned. */
  private memoize(): number {
    this.op(0x94);
    return this.memoSize++;
  }

  // ---- values ----

  private str(text: string): void {
    // CPython keeps one object per one-character Latin-1 string: the memo shares them
    if (text.length === 1 && text.charCodeAt(0) < 256) {
      this.shared(`str ${text}`, () => this.strBody(text));
    } else this.save(() => this.strBody(text));
  }

  private strBody(text: string): number {
    const b = new TextEncoder().encode(text);
    if (b.length < 256) this.op(0x8c, b.length, ...b); // SHORT_BINUNICODE
    else if (b.length < FRAME_TARGET) this.op(0x58, ...le32(b.length), ...b); // BINUNICODE
    else this.large([0x58, ...le32(b.length)], b);
    return this.memoize();
  }

  private int(v: number): void {
    this.save(() => {
      if (v >= 0 && v < 256) this.op(0x4b, v); // BININT1
      else if (v >= 0 && v < 65536) this.op(0x4d, v & 0xff, v >> 8); // BININT2
      else if (v >= -(2 ** 31) && v < 2 ** 31) this.op(0x4a, ...le32(v)); // BININT
      else this.op(0x8a, ...long1(BigInt(v))); // LONG1
    });
  }

  private bytes(b: Uint8Array): number {
    let at = 0;
    this.save(() => {
      if (b.length < 256) this.op(0x43, b.length, ...b); // SHORT_BINBYTES
      else if (b.length < FRAME_TARGET) this.op(0x42, ...le32(b.length), ...b); // BINBYTES
      else this.large([0x42, ...le32(b.length)], b);
      at = this.memoize();
    });
    return at;
  }

  /** CPython keeps one object per bytes value of length 0 or 1: the memo shares them. */
  private smallBytes(b: Uint8Array): void {
    this.shared(`bytes ${b.join()}`, () => this.bytes(b));
  }

  /** A string or bytes object of a frame's size or more: written outside any frame. */
  private large(header: number[], payload: Uint8Array): void {
    this.commit(true);
    this.file.push(Uint8Array.from(header), payload.slice());
  }

  private global(module: string, name: string): void {
    this.shared(`global ${module}.${name}`, () => {
      this.shared(`str ${module}`, () => this.strBody(module));
      this.shared(`str ${name}`, () => this.strBody(name));
      this.op(0x93); // STACK_GLOBAL
      return this.memoize();
    });
  }

  /** A tuple of 1 to 3 items (TUPLE1-3), or MARK … TUPLE; `()` is EMPTY_TUPLE (no memo). */
  private tuple(items: (() => void)[]): void {
    this.save(() => {
      if (items.length === 0) return this.op(0x29);
      if (items.length > 3) this.op(0x28);
      for (const item of items) item();
      this.op(items.length > 3 ? 0x74 : 0x84 + items.length);
      this.memoize();
    });
  }

  private dtype(dtype: "uint8" | "int64"): void {
    const [code, order] = DTYPES[dtype];
    this.shared(`dtype ${dtype}`, () => {
      this.global("numpy", "dtype");
      this.tuple([
        () => this.str(code),
        () => this.save(() => this.op(0x89)), // False
        () => this.save(() => this.op(0x88)), // True
      ]);
      this.op(0x52); // REDUCE
      const at = this.memoize();
      this.tuple([
        () => this.int(3),
        () => this.str(order),
        () => this.save(() => this.op(0x4e)),
        () => this.save(() => this.op(0x4e)),
        () => this.save(() => this.op(0x4e)),
        () => this.int(-1),
        () => this.int(-1),
        () => this.int(0),
      ]);
      this.op(0x62); // BUILD
      return at;
    });
  }

  private array(key: string, a: PickleArrayInput): void {
    const [, , size] = DTYPES[a.dtype];
    const count = a.shape.reduce((x, y) => x * y, 1);
    if (a.data.length !== count || a.data.BYTES_PER_ELEMENT !== size) {
      throw new Error(
        `array '${key}': ${a.data.length} elements of ${a.data.BYTES_PER_ELEMENT} bytes for ` +
          `shape [${a.shape.join(", ")}] of ${a.dtype}`,
      );
    }
    const raw = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    this.save(() => {
      // numpy.ndarray.__reduce__: (_reconstruct, (ndarray, (0,), b'b'), state)
      this.global("numpy._core.multiarray", "_reconstruct");
      this.tuple([
        () => this.global("numpy", "ndarray"),
        () => this.tuple([() => this.int(0)]),
        () => this.smallBytes(new Uint8Array([0x62])), // b'b'
      ]);
      this.op(0x52); // REDUCE
      this.memoize();
      // state: (1, shape, dtype, is_fortran, data)
      this.tuple([
        () => this.int(1),
        () => this.tuple(a.shape.map((d) => () => this.int(d))),
        () => this.dtype(a.dtype),
        () => this.save(() => this.op(0x89)),
        () => raw.length <= 1 ? this.smallBytes(raw) : this.bytes(raw),
      ]);
      this.op(0x62); // BUILD
    });
  }
}

/** `v` as four little-endian bytes. */
function le32(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
}

/** LONG1's operand: a length byte, then the shortest two's-complement little-endian bytes. */
function long1(v: bigint): number[] {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, x));
    out.push(byte);
    x >>= 8n;
    if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) break;
  }
  return [out.length, ...out];
}
