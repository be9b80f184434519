import assert from "node:assert/strict";
import { type PickledArray, readPickledArrays } from "../../src/prepare/pickle.ts";
import { writePickledArrays } from "./_pickle_writer.ts";

/** A fixture written by `tests/fixtures/pickle/make_fixtures.py`. */
function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/pickle/${name}`, import.meta.url));
}

function read(name: string): Record<string, PickledArray> {
  return readPickledArrays(fixture(name), name);
}

/** The message of the plain `Error` that `fn` throws; fails on any other outcome. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(e.constructor, Error, `${e.constructor.name} instead of Error: ${e.message}`);
    return e.message;
  }
  assert.fail("no error");
}

/** Asserts that reading `bytes` as `name` fails with a message holding `name` and `parts`. */
function refuses(bytes: Uint8Array, name: string, ...parts: string[]): string {
  const msg = errorOf(() => readPickledArrays(bytes, name));
  for (const p of [name, ...parts]) assert.ok(msg.includes(p), `"${p}" not in: ${msg}`);
  return msg;
}

/**
 * Pickle bytes from opcodes: numbers are bytes, strings their Latin-1 characters, arrays
 * their bytes.
 */
function pk(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") { for (const c of p) out.push(c.charCodeAt(0)); }
    else out.push(...p);
  }
  return new Uint8Array(out);
}

const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
/** SHORT_BINUNICODE of ASCII `s`. */
const sbu = (s: string) => pk(0x8c, s.length, s);

const FEATURES = Uint8Array.from({ length: 4 * 32 * 32 * 3 }, (_, i) => (i * 7 + 3) % 256);
const SIZES = [32, 34, 45, 50, 29, 29, 120, 133];
const COORDS = [5, 6, 27, 29, 4, 5, 40, 45, 5, 5, 24, 24, 11, 12, 109, 121];
const big = (xs: (number | bigint)[]) => BigInt64Array.from(xs, BigInt);

function assertGtsrb(r: Record<string, PickledArray>, labels: PickledArray, keys: string[]) {
  assert.deepEqual(Object.keys(r), keys);
  assert.equal(r.features.dtype, "uint8");
  assert.deepEqual(r.features.shape, [4, 32, 32, 3]);
  assert.ok(r.features.data instanceof Uint8Array);
  assert.deepEqual(Array.from(r.features.data as Uint8Array), Array.from(FEATURES));
  assert.deepEqual(r.labels, labels);
}

const INT64_LABELS: PickledArray = { dtype: "int64", shape: [4], data: big([14, 0, 42, 7]) };

for (const p of [2, 3, 4, 5]) {
  Deno.test(`pickle: the GTSRB layout written by NumPy with protocol ${p}`, () => {
    const r = read(`gtsrb_p${p}.p`);
    assertGtsrb(r, INT64_LABELS, ["features", "labels", "sizes", "coords"]);
    assert.deepEqual(r.sizes, { dtype: "int64", shape: [4, 2], data: big(SIZES) });
    assert.deepEqual(r.coords, { dtype: "int64", shape: [4, 4], data: big(COORDS) });
  });
}

Deno.test("pickle: NumPy 1.x names (numpy.core.multiarray) read the same", () => {
  assert.deepEqual(read("numpy1_p2.p"), read("gtsrb_p2.p"));
  // numpy.core.numeric._frombuffer and numpy.core.multiarray.scalar
  assert.deepEqual(read("numpy1_p5.p"), {
    a: { dtype: "int64", shape: [3], data: big([0, 1, 2]) },
    l: { dtype: "int64", shape: [2], data: big([1, 2]) },
  });
});

Deno.test("pickle: a Python 2 pickle (str opcodes, integer dtype flags)", () => {
  const r = read("python2_p2.p");
  assert.deepEqual(r.features.shape, [2, 32, 32, 3]);
  assert.deepEqual(Array.from(r.features.data as Uint8Array), Array.from(FEATURES.slice(0, 6144)));
  assert.deepEqual(r.labels, { dtype: "int64", shape: [2], data: big([3, 9]) });
});

for (const p of [2, 4]) {
  Deno.test(`pickle: uint8 labels, protocol ${p}`, () => {
    const r = read(`labels_uint8_p${p}.p`);
    const labels = new Uint8Array([14, 0, 42, 7]);
    assertGtsrb(r, { dtype: "uint8", shape: [4], data: labels }, ["features", "labels"]);
  });

  Deno.test(`pickle: labels as a list of ints, protocol ${p}`, () => {
    assert.deepEqual(read(`labels_list_p${p}.p`), {
      labels: {
        dtype: "int64",
        shape: [7],
        data: big([0, 42, 300, 70000, -5, 2n ** 40n, 2n ** 63n - 1n]),
      },
    });
  });

  Deno.test(`pickle: labels as a list of NumPy int64 scalars, protocol ${p}`, () => {
    assert.deepEqual(read(`labels_scalars_p${p}.p`), {
      labels: { dtype: "int64", shape: [4], data: big([5, 0, 42, 2n ** 40n]) },
    });
  });
}

for (const p of [2, 4, 5]) {
  Deno.test(`pickle: every supported dtype, protocol ${p}`, () => {
    const r = read(`dtypes_p${p}.p`);
    const want: Record<string, [PickledArray["dtype"], ArrayLike<number | bigint>]> = {
      bool: ["bool", new Uint8Array([1, 0, 1, 1, 0])],
      int8: ["int8", new Int8Array([-128, -1, 0, 1, 127])],
      uint8: ["uint8", new Uint8Array([0, 1, 127, 128, 255])],
      int16: ["int16", new Int16Array([-32768, -1, 0, 1, 32767])],
      uint16: ["uint16", new Uint16Array([0, 1, 256, 40000, 65535])],
      int32: ["int32", new Int32Array([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1])],
      uint32: ["uint32", new Uint32Array([0, 1, 65536, 3e9, 2 ** 32 - 1])],
      int64: ["int64", big([-(2n ** 63n), -1, 0, 1, 2n ** 63n - 1n])],
      uint64: ["uint64", BigUint64Array.from([0n, 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n])],
      float32: ["float32", new Float32Array([-1.5, 0, 0.1, 3.25, Infinity])],
      float64: ["float64", new Float64Array([-1.5, 0, 0.1, 1e300, -Infinity])],
    };
    for (const [key, [dtype, data]] of Object.entries(want)) {
      assert.deepEqual(r[key], { dtype, shape: [5], data }, key);
    }
    assert.deepEqual(r.scalar, { dtype: "int32", shape: [], data: new Int32Array([-123456]) });
    assert.deepEqual(r.empty, { dtype: "int64", shape: [0, 3], data: new BigInt64Array(0) });
    // a strided view is pickled as a C-ordered copy
    assert.deepEqual(r.strided, {
      dtype: "int16",
      shape: [2, 3],
      data: new Int16Array([0, 2, 4, 6, 8, 10]),
    });
    // Fortran order of a single column is also C order
    assert.deepEqual(r.column, { dtype: "int32", shape: [3, 1], data: new Int32Array([0, 1, 2]) });
    assert.equal(r.big.data.length, 70000);
    assert.ok((r.big.data as Uint8Array).every((v, i) => v === i % 251));
  });
}

for (const p of [2, 4, 5]) {
  Deno.test(`pickle: Fortran-ordered and permuted arrays read in C order, protocol ${p}`, () => {
    const r = read(`layouts_p${p}.p`);
    // numpy.asfortranarray(arange(24).reshape(2, 3, 4))
    assert.deepEqual(r.fortran, {
      dtype: "int32",
      shape: [2, 3, 4],
      data: Int32Array.from({ length: 24 }, (_, i) => i),
    });
    // arange(24).reshape(2, 3, 4).transpose(1, 0, 2): element [i, j, k] is 12j + 4i + k
    const permuted = new Int16Array(24);
    for (let i = 0, n = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) permuted[n++] = 12 * j + 4 * i + k;
    }
    assert.deepEqual(r.permuted, { dtype: "int16", shape: [3, 2, 4], data: permuted });
    assert.deepEqual(r.fortran4, {
      dtype: "uint8",
      shape: [2, 3, 4, 5],
      data: Uint8Array.from({ length: 120 }, (_, i) => i),
    });
    // arange(120).reshape(2, 3, 4, 5).transpose(0, 2, 3, 1): [n, h, w, c] is 60n + 20c + 5h + w
    const nhwc: bigint[] = [];
    for (let n = 0; n < 2; n++) {
      for (let h = 0; h < 4; h++) {
        for (let w = 0; w < 5; w++) {
          for (let c = 0; c < 3; c++) nhwc.push(BigInt(60 * n + 20 * c + 5 * h + w));
        }
      }
    }
    assert.deepEqual(r.nhwc, {
      dtype: "int64",
      shape: [2, 4, 5, 3],
      data: BigInt64Array.from(nhwc),
    });
  });
}

Deno.test("pickle: refuses what NumPy writes but this reader does not read, by name", () => {
  const cases: [string, ...string[]][] = [
    ["bigendian_p4.p", "big-endian dtype '>i4'"],
    ["object_p4.p", "unsupported dtype 'O8' (object)"],
    ["structured_p4.p", "unsupported dtype 'V8' (structured"],
    ["unicode_p4.p", "unsupported dtype 'U2' (unicode string)"],
    ["float16_p4.p", "unsupported dtype 'f2'"],
    ["string_value_p4.p", "entry 'note' is a str", "only NumPy arrays and lists of ints"],
    ["list_top_p4.p", "holds a list, expected a dict of NumPy arrays"],
  ];
  for (const [file, ...parts] of cases) refuses(fixture(file), file, ...parts);
});

Deno.test("pickle: refuses malicious pickles written by Python, naming the global", () => {
  const cases: [string, string][] = [
    ["evil_os_system_p2.p", "posix.system"],
    ["evil_os_system_p4.p", "posix.system"],
    ["evil_eval_p4.p", "builtins.eval"],
    ["evil_class_p4.p", "__main__.Unknown"],
  ];
  for (const [file, global] of cases) {
    refuses(fixture(file), file, `refusing pickle global ${global}`, "only NumPy arrays");
  }
});

Deno.test("pickle: refuses os.system via GLOBAL + REDUCE", () => {
  const bytes = pk(0x80, 2, "cos\nsystem\n", 0x55, 2, "id", 0x85, "R.");
  const msg = refuses(bytes, "train.p", "refusing pickle global os.system", "offset 2");
  assert.match(msg, /only NumPy arrays are read/);
});

Deno.test("pickle: refuses builtins.eval via STACK_GLOBAL and __builtin__.eval via GLOBAL", () => {
  refuses(
    pk(0x80, 4, sbu("builtins"), sbu("eval"), 0x93, sbu("1"), 0x85, "R."),
    "valid.p",
    "refusing pickle global builtins.eval",
  );
  refuses(
    pk(0x80, 2, "c__builtin__\neval\n."),
    "valid.p",
    "refusing pickle global __builtin__.eval",
  );
  // a name with control characters is shown escaped
  refuses(pk(0x80, 4, sbu("os\x1b[2J"), sbu("x"), 0x93), "t.p", "os\\x1b[2J.x");
});

Deno.test("pickle: REDUCE only calls the allowed callables with their own arguments", () => {
  const dtype = pk(0x80, 4, sbu("numpy"), sbu("dtype"), 0x93);
  refuses(pk(dtype, sbu("i8"), 0x85, "R", 0x29, "R."), "t.p", "REDUCE calls a numpy.dtype");
  refuses(pk(0x80, 4, sbu("numpy"), sbu("ndarray"), 0x93, 0x29, "R."), "t.p", "numpy.ndarray");
  refuses(pk(0x80, 4, 0x29, 0x29, "R."), "t.p", "REDUCE calls a tuple of 0");
  refuses(
    pk(0x80, 4, sbu("_codecs"), sbu("encode"), 0x93, sbu("ab"), sbu("utf-8"), 0x86, "R."),
    "t.p",
    "_codecs.encode called with (str, str), expected (str, 'latin1')",
  );
  refuses(
    pk(
      0x80,
      4,
      sbu("_codecs"),
      sbu("encode"),
      0x93,
      sbu("a\xe2\x82\xac"),
      sbu("latin1"),
      0x86,
      "R.",
    ),
    "t.p",
    "a character above U+00FF or invalid UTF-8 at byte 1",
  );
  refuses(
    pk(0x80, 4, "}", 0x58, u32(2), 0xe2, 0x82, "Ns."),
    "t.p",
    "a str that is not valid UTF-8",
  );
});

Deno.test("pickle: BUILD only on NumPy arrays and dtypes", () => {
  refuses(pk(0x80, 4, "}", 0x29, "b."), "t.p", "BUILD of a dict");
  refuses(pk(0x80, 4, "]", "}", "b."), "t.p", "BUILD of a list with a dict, expected a tuple");
});

Deno.test("pickle: unknown and unsupported opcodes are named with byte and offset", () => {
  refuses(pk(0x80, 4, 0xff), "t.p", "unknown pickle opcode 0xff at offset 2");
  refuses(
    pk(0x80, 4, 0x29, 0x29, 0x81),
    "t.p",
    "unsupported pickle opcode 0x81 (NEWOBJ) at offset 4",
  );
  refuses(pk(0x80, 2, "I12\n."), "t.p", "opcode 0x49 (INT) at offset 2");
  refuses(pk("(cos\nsystem\no."), "t.p", "refusing pickle global os.system");
  refuses(pk(0x80, 5, 0x97), "t.p", "out-of-band pickle buffers are not read");
  refuses(pk(0x80, 6, "}."), "t.p", "pickle protocol 6: only protocols 2 to 5");
});

Deno.test("pickle: declared lengths beyond the file are refused before allocating", () => {
  const cases: [Uint8Array, string][] = [
    [pk(0x80, 4, 0x58, u32(0xffffffff)), "str of 4294967295 bytes at offset 7, only 0 remain"],
    [pk(0x80, 4, 0x8d, u32(0xffffffff), u32(0x7fffffff), "ab"), "only 2 remain"],
    [pk(0x80, 4, 0x8e, u32(0), u32(0x100), "."), "bytes of 1099511627776 bytes"],
    [pk(0x80, 5, 0x96, u32(0xffffffff), u32(0xffffffff)), "bytes of 9007199254740991 bytes"],
    [pk(0x80, 2, 0x54, u32(0xfffffff0), "."), "str of negative length -16"],
    [pk(0x80, 4, 0x95, u32(1 << 30), u32(0), "}."), "frame of 1073741824 bytes"],
    [pk(0x80, 4, 0x8b, u32(1 << 30), "."), "integer of 1073741824 bytes: at most 64"],
    [pk(0x80, 4, 0x42, u32(5), "abc"), "bytes of 5 bytes at offset 7, only 3 remain"],
  ];
  for (const [bytes, part] of cases) refuses(bytes, "big.p", part);
});

Deno.test("pickle: every truncation of a real file is an error naming the file", () => {
  for (const file of ["gtsrb_p2.p", "gtsrb_p4.p", "gtsrb_p5.p", "labels_scalars_p4.p"]) {
    const whole = fixture(file);
    const step = whole.length > 1000 ? 61 : 1;
    for (let n = 0; n < whole.length; n += step) {
      refuses(whole.subarray(0, n), file);
    }
    refuses(whole.subarray(0, whole.length - 1), file, "truncated pickle");
  }
});

Deno.test("pickle: nesting, stack and memo are bounded", () => {
  refuses(pk(0x80, 4, "(".repeat(100000)), "deep.p", "MARKs nested more than 64 deep");
  refuses(pk(0x80, 4, "N".repeat((1 << 20) + 1)), "wide.p", "more than 1048576 values");
  const memo = new Uint8Array((1 << 20) + 4).fill(0x94);
  memo.set([0x80, 4, 0x4e]);
  refuses(memo, "memo.p", "more than 1048576 memo entries");
  refuses(pk(0x80, 4, "}", 0x6a, u32(7), "."), "t.p", "memo entry 7 was never stored");
  refuses(pk(0x80, 4, 0x94), "t.p", "memoizes from an empty stack");
  refuses(pk(0x80, 4, "0"), "t.p", "opcode 0x30 (POP)");
  refuses(pk(0x80, 4, "}(N"), "t.p", "truncated pickle: ends at offset 5 without STOP");
  refuses(pk(0x80, 4, "}N."), "t.p", "STOP with 2 values");
  refuses(pk(0x80, 4, "}(."), "t.p", "1 open MARKs");
  refuses(pk(0x80, 4, "}.", 0), "t.p", "1 bytes after the pickle's STOP");
  refuses(pk(0x80, 4, "N(", 0x85), "t.p", "TUPLE1 on fewer than 1 values");
  refuses(pk(0x80, 4, "}(Nu."), "t.p", "SETITEMS with an odd count");
  refuses(pk(0x80, 4, "}NNs."), "t.p", "a dict key that is a None: only str keys");
  refuses(pk(0x80, 4, "N(a."), "t.p", "pops a value from an empty stack");
  refuses(pk(0x80, 4, "NNa."), "t.p", "appends to a None, expected a list");
  refuses(pk(""), "empty.p", "empty file");
});

Deno.test("pickle: array states must match their shape and dtype", () => {
  // numpy.ndarray reconstructed, then BUILD with (1, shape, dtype, False, data)
  const head = pk(
    0x80,
    4,
    sbu("numpy._core.multiarray"),
    sbu("_reconstruct"),
    0x93,
    sbu("numpy"),
    sbu("ndarray"),
    0x93,
    0x94, // memo 0: numpy.ndarray
    "K",
    0,
    0x85,
    "C",
    1,
    "b",
    0x87,
    "R",
  );
  const u1 = pk(sbu("numpy"), sbu("dtype"), 0x93, sbu("u1"), 0x89, 0x88, 0x87, "R");
  const state = (...body: (number | string | Uint8Array | number[])[]) =>
    pk("}", sbu("a"), head, "(K", 1, ...body, "tbs.");
  refuses(
    state("K", 3, 0x85, u1, 0x89, "C", 2, "ab"),
    "t.p",
    "array data of 2 bytes for shape [3]",
  );
  refuses(state("K", 3, 0x85, 0x8c, 0, 0x89, "C", 3, "abc"), "t.p", "malformed array state");
  refuses(state("J", u32(-1 >>> 0), 0x85, u1, 0x89, "C", 0), "t.p", "a dimension that is -1");
  refuses(state("(", "K\x01".repeat(65), "t", u1, 0x89, "C", 1, "a"), "t.p", "65 dimensions");
  refuses(state("K", 3, 0x85, u1, 0x89, "]"), "t.p", "data is a list (an object array)");
  refuses(state("K", 3, 0x85, u1, 0x89, "N"), "t.p", "array data is a None, expected bytes");
  // a 2^40 x 2^40 shape cannot match any data
  const huge = pk(0x8a, 6, 0, 0, 0, 0, 0, 1);
  refuses(state(huge, huge, 0x86, u1, 0x89, "C", 1, "a"), "t.p", "for shape [1099511627776");
  // an array that is never built has no data
  refuses(pk("}", sbu("a"), head, "s."), "t.p", "entry 'a' is a NumPy array without data");
  // protocol 5: _frombuffer(buffer, dtype, shape, order[, axis_order])
  const frombuffer = (order: string, ...axisOrder: (number | string | Uint8Array)[]) =>
    pk(
      0x80,
      5,
      "}",
      sbu("a"),
      sbu("numpy._core.numeric"),
      sbu("_frombuffer"),
      0x93,
      "(C",
      4,
      "abcd",
      u1,
      "K",
      2,
      "K",
      2,
      0x86,
      sbu(order),
      ...axisOrder,
      "tRs.",
    );
  assert.deepEqual(
    readPickledArrays(frombuffer("K", "K", 1, "K", 0, 0x86), "t.p").a.data,
    new Uint8Array([97, 99, 98, 100]),
  );
  refuses(frombuffer("K", "K", 0, "K", 0, 0x86), "t.p", "malformed axis_order");
  refuses(frombuffer("K", "K", 2, "K", 0, 0x86), "t.p", "malformed axis_order");
  refuses(frombuffer("K", "K", 0, 0x85), "t.p", "malformed axis_order");
  refuses(frombuffer("K"), "t.p", "_frombuffer with order 'K' and axis_order None");
  refuses(frombuffer("A"), "t.p", "_frombuffer with order 'A'");
  // a byte order on a one-byte type means nothing; on a wider one only little-endian is read
  const code = (c: string) => pk(sbu("numpy"), sbu("dtype"), 0x93, sbu(c), 0x89, 0x88, 0x87, "R");
  assert.deepEqual(
    readPickledArrays(state("K", 1, 0x85, code(">u1"), 0x89, "C", 1, "a"), "t.p").a.data,
    new Uint8Array([97]),
  );
  refuses(state("K", 1, 0x85, code(">i2"), 0x89, "C", 2, "ab"), "t.p", "big-endian dtype '>i2'");
  refuses(state("K", 1, 0x85, code("<i3"), 0x89, "C", 3, "abc"), "t.p", "unsupported dtype '<i3'");
  const ok = readPickledArrays(state("K", 3, 0x85, u1, 0x89, "C", 3, "abc"), "t.p");
  assert.deepEqual(ok, { a: { dtype: "uint8", shape: [3], data: new Uint8Array([97, 98, 99]) } });
});

Deno.test("pickle: a key such as __proto__ is an ordinary entry", () => {
  const bytes = writePickledArrays({
    ["__proto__"]: { dtype: "uint8", shape: [1], data: new Uint8Array([9]) },
  });
  const r = readPickledArrays(bytes, "t.p");
  assert.deepEqual(Object.keys(r), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(r, "__proto__")?.value.shape, [1]);
});

Deno.test("pickle writer: byte for byte what Python writes for GTSRB-like dicts", () => {
  const gtsrb = writePickledArrays({
    features: { dtype: "uint8", shape: [4, 32, 32, 3], data: FEATURES },
    labels: { dtype: "int64", shape: [4], data: big([14, 0, 42, 7]) },
    sizes: { dtype: "int64", shape: [4, 2], data: big(SIZES) },
    coords: { dtype: "int64", shape: [4, 4], data: big(COORDS) },
  });
  assert.deepEqual(gtsrb, fixture("gtsrb_p4.p"));
  // features above the 64 KiB frame size are written outside the frames
  const large = writePickledArrays({
    features: {
      dtype: "uint8",
      shape: [22, 32, 32, 3],
      data: Uint8Array.from({ length: 22 * 3072 }, (_, i) => (i * 5 + 1) % 256),
    },
    labels: { dtype: "int64", shape: [22], data: big(Array.from({ length: 22 }, (_, i) => i)) },
  });
  assert.deepEqual(large, fixture("large_p4.p"));
  // one-character keys share NumPy's memoized byte-order strings
  const short = writePickledArrays({
    "<": { dtype: "int64", shape: [2], data: big([1, 2]) },
    x: { dtype: "uint8", shape: [1], data: new Uint8Array([7]) },
  });
  assert.deepEqual(short, fixture("short_keys_p4.p"));
});

Deno.test("pickle writer: what it writes reads back", () => {
  const arrays = {
    features: { dtype: "uint8" as const, shape: [2, 2, 2, 3], data: FEATURES.slice(0, 24) },
    labels: { dtype: "int64" as const, shape: [2], data: big([1, -1]) },
    scalar: { dtype: "int64" as const, shape: [], data: big([5]) },
    empty: { dtype: "uint8" as const, shape: [0, 7], data: new Uint8Array(0) },
  };
  assert.deepEqual(readPickledArrays(writePickledArrays(arrays), "w.p"), arrays);
  assert.throws(
    () => writePickledArrays({ a: { dtype: "int64", shape: [3], data: new Uint8Array(3) } }),
    /array 'a'/,
  );
});

Deno.test("pickle: entries that are the same object share one converted array", () => {
  // {"a": L, "b": L} with L = [1, 2] memoized, and two keys for one memoized array
  const r = readPickledArrays(
    pk(0x80, 4, "}(", sbu("a"), "](K", 1, "K", 2, "e", 0x94, sbu("b"), "h", 0, "u."),
    "t.p",
  );
  assert.deepEqual(r.a, { dtype: "int64", shape: [2], data: big([1, 2]) });
  assert.equal(r.a, r.b);
});
