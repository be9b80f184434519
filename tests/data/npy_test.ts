import assert from "node:assert/strict";
import { npyToInt32, parseNpy, parseNpyHeader } from "../../src/data/mod.ts";
import { npyBytes, throwsWith } from "./_helpers.ts";

/** A version-1.0 `.npy` file whose header is `header` verbatim, followed by `body`. */
function rawNpy(header: string, body = new Uint8Array(0)): Uint8Array {
  const hb = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + hb.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, hb.length, true);
  out.set(hb, 10);
  out.set(body, 10 + hb.length);
  return out;
}

Deno.test("npy: versions 1.0/2.0/3.0 and every supported dtype", () => {
  const cases: [string, ArrayBufferView, string, number[]][] = [
    ["|u1", new Uint8Array([0, 7, 255]), "uint8", [0, 7, 255]],
    ["|b1", new Uint8Array([1, 0, 1]), "bool", [1, 0, 1]],
    ["<i4", new Int32Array([-5, 0, 2147483647]), "int32", [-5, 0, 2147483647]],
    ["<f4", new Float32Array([0.5, -1.25, 3]), "float32", [0.5, -1.25, 3]],
    ["<f8", new Float64Array([0.1, -2, 1e300]), "float64", [0.1, -2, 1e300]],
  ];
  for (const version of [1, 2, 3]) {
    for (const [descr, data, dtype, values] of cases) {
      const a = parseNpy(npyBytes(descr, [3], data, { version }), "x.npy");
      assert.equal(a.dtype, dtype);
      assert.deepEqual(a.shape, [3]);
      assert.deepEqual(Array.from(a.data as ArrayLike<number>), values);
    }
    const i8 = parseNpy(
      npyBytes("<i8", [2, 2], new BigInt64Array([1n, -2n, 3n, 42n]), { version }),
    );
    assert.equal(i8.dtype, "int64");
    assert.deepEqual(i8.shape, [2, 2]);
    assert.deepEqual([...npyToInt32(i8)], [1, -2, 3, 42]);
  }
  const scalar = parseNpy(npyBytes("<f8", [], new Float64Array([2.5])));
  assert.deepEqual(scalar.shape, []);
  assert.deepEqual([...(scalar.data as Float64Array)], [2.5]);
});

Deno.test("npy: errors name the array and the problem", () => {
  const good = npyBytes("<f4", [2, 3], new Float32Array(6));
  throwsWith(
    () =>
      parseNpy(npyBytes("<f4", [2, 3], new Float32Array(6), { fortran: true }), "a.npz: array `x`"),
    "a.npz: array `x`",
    "fortran_order",
  );
  throwsWith(() => parseNpy(good.subarray(0, good.length - 4), "t.npy"), "t.npy", "truncated");
  throwsWith(() => parseNpy(good.subarray(0, 20), "h.npy"), "h.npy", "truncated .npy header");
  throwsWith(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), "m.npy"), "m.npy", "not a .npy");
  throwsWith(() => parseNpy(npyBytes("<c8", [1], new Float32Array(2)), "c.npy"), "c.npy", "'<c8'");
  throwsWith(
    () => parseNpy(npyBytes(">f4", [1], new Float32Array(1)), "b.npy"),
    "b.npy",
    "big-endian",
  );
  const big = parseNpy(npyBytes("<i8", [1], new BigInt64Array([1n << 40n])));
  throwsWith(() => npyToInt32(big, "l"), "does not fit in int32");
  throwsWith(() => npyToInt32(parseNpy(good), "f"), "f", "integer dtype");
});

Deno.test("npy: deep nesting in the header is an error naming the file, not a RangeError", () => {
  for (const [open, close] of [["[", "]"], ["(", ")"]]) {
    const deep = open.repeat(30000) + close.repeat(30000);
    const bytes = rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${deep}, }`);
    const msg = throwsWith(() => parseNpy(bytes, "deep.npy"), "deep.npy", "nest");
    assert.ok(msg.length < 600, "the message quotes a bounded part of the header");
  }
  // Shallow nesting reaches the check of the shape's contents instead.
  const nested = rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': ((2,),), }`);
  throwsWith(() => parseNpy(nested, "n.npy"), "n.npy", "'shape' must be a tuple");
});

Deno.test("npy: type and key names are never looked up through the prototype chain", () => {
  const data = new Uint8Array(8);
  for (
    const descr of [
      "<constructor",
      "|toString",
      "<__proto__",
      "<hasOwnProperty",
      "=valueOf",
      "toString",
    ]
  ) {
    const bytes = rawNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`, data);
    throwsWith(() => parseNpy(bytes, "proto.npy"), "proto.npy", `unsupported dtype '${descr}'`);
    throwsWith(() => parseNpyHeader(bytes, "proto.npy"), "proto.npy", "unsupported dtype");
  }
  // A key named like an Object.prototype property neither sets the prototype nor counts.
  const proto = rawNpy(
    `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '__proto__': [1], }`,
    data,
  );
  throwsWith(() => parseNpy(proto, "key.npy"), "key.npy", "'__proto__'");
  const other = rawNpy(`{'descr': '<f4', 'fortran_order': False, 'constructor': (2,), }`);
  throwsWith(() => parseNpy(other, "other.npy"), "other.npy", "unexpected key 'constructor'");
  const missing = rawNpy(`{'descr': '<f4', 'fortran_order': False, }`);
  throwsWith(() => parseNpy(missing, "miss.npy"), "miss.npy", "missing key 'shape'");
});

Deno.test("npy: shapes beyond exact integers and impossible sizes are errors naming the file", () => {
  const huge = rawNpy(
    `{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }`,
  );
  throwsWith(() => parseNpy(huge, "huge.npy"), "huge.npy", "shape");
  const product = rawNpy(
    `{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }`,
  );
  throwsWith(() => parseNpy(product, "prod.npy"), "prod.npy", "shape");
  const many = `(${Array(65).fill("1").join(", ")})`;
  const dims = rawNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': ${many}, }`);
  throwsWith(() => parseNpy(dims, "dims.npy"), "dims.npy", "64 dimensions");
});
