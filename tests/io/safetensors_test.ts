import assert from "node:assert/strict";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.ts";

const OPS = new URL("../goldens/ops.safetensors", import.meta.url);

/** Builds a raw safetensors file from a header object (or raw header text) and data bytes. */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, lengthOverride ?? json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function validFile(): Uint8Array {
  return serializeSafetensors({
    a: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    b: { shape: [4], data: new Int32Array([-1, 0, 1, 2147483647]) },
  }, { note: "hello" });
}

Deno.test("safetensors: round trip F32 / I32 / scalar, with metadata", () => {
  const a = new Float32Array([1.5, -2.25, Math.PI, 1e-30, -0, Infinity]);
  const b = new Int32Array([-2147483648, 7, 0, 2147483647]);
  const s = new Float32Array([42.5]);
  const z = new Int32Array([3]);
  const meta = { config: '{"m": 4}', empty: "" };
  const bytes = serializeSafetensors({
    zeta: { shape: [], data: z },
    a: { dtype: "F32", shape: [2, 3], data: a },
    b: { shape: [4], data: b },
    scalar: { shape: [], data: s },
    none: { shape: [0, 3], data: new Float32Array(0) },
  }, meta);
  const hlen = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(hlen % 8, 0);
  const f = parseSafetensors(bytes, "rt.safetensors");
  assert.deepEqual([...f.tensors.keys()], ["a", "b", "none", "scalar", "zeta"]);
  assert.deepEqual(f.metadata, meta);
  const ea = f.tensors.get("a")!;
  assert.equal(ea.dtype, "F32");
  assert.deepEqual(ea.shape, [2, 3]);
  assert.ok(ea.data instanceof Float32Array);
  assert.deepEqual(ea.data, a);
  assert.ok(Object.is(ea.data[4], -0));
  const eb = f.tensors.get("b")!;
  assert.equal(eb.dtype, "I32");
  assert.ok(eb.data instanceof Int32Array);
  assert.deepEqual(eb.data, b);
  assert.deepEqual(f.tensors.get("scalar"), { dtype: "F32", shape: [], data: s });
  assert.deepEqual(f.tensors.get("zeta"), { dtype: "I32", shape: [], data: z });
  assert.deepEqual(f.tensors.get("none"), {
    dtype: "F32",
    shape: [0, 3],
    data: new Float32Array(0),
  });
});

Deno.test("safetensors: round trip with Map input and without metadata", () => {
  const m = new Map([["x", { shape: [3], data: new Float32Array([1, 2, 3]) }]]);
  const f = parseSafetensors(serializeSafetensors(m));
  assert.deepEqual(f.metadata, {});
  assert.deepEqual(f.tensors.get("x")!.data, new Float32Array([1, 2, 3]));
  const g = parseSafetensors(serializeSafetensors({}, {}));
  assert.equal(g.tensors.size, 0);
  assert.deepEqual(g.metadata, {});
});

Deno.test("safetensors: parse from an unaligned offset", () => {
  const file = validFile();
  const buf = new Uint8Array(file.length + 3);
  buf.set(file, 3);
  const f = parseSafetensors(buf.subarray(3), "shifted");
  assert.deepEqual(f.tensors.get("a")!.data, new Float32Array([1, 2, 3, 4, 5, 6]));
  assert.equal(f.tensors.get("a")!.data.byteOffset % 4, 0);
  assert.deepEqual(f.tensors.get("b")!.data, new Int32Array([-1, 0, 1, 2147483647]));
  assert.deepEqual(f.metadata, { note: "hello" });
});

Deno.test("safetensors: F64, I64 and U8 are converted", () => {
  const data = new Uint8Array(8 * 2 + 8 * 2 + 3);
  const v = new DataView(data.buffer);
  v.setFloat64(0, 0.1, true);
  v.setFloat64(8, -3, true);
  v.setBigInt64(16, -5n, true);
  v.setBigInt64(24, 2147483647n, true);
  data.set([0, 200, 255], 32);
  const f = parseSafetensors(
    rawFile({
      d: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
      l: { dtype: "I64", shape: [2], data_offsets: [16, 32] },
      u: { dtype: "U8", shape: [3], data_offsets: [32, 35] },
    }, data),
  );
  assert.deepEqual(f.tensors.get("d"), {
    dtype: "F32",
    shape: [2],
    data: new Float32Array([0.1, -3]),
  });
  assert.deepEqual(f.tensors.get("l"), {
    dtype: "I32",
    shape: [2],
    data: new Int32Array([-5, 2147483647]),
  });
  assert.deepEqual(f.tensors.get("u"), {
    dtype: "I32",
    shape: [3],
    data: new Int32Array([0, 200, 255]),
  });
  v.setBigInt64(24, 2147483648n, true);
  assert.throws(
    () =>
      parseSafetensors(
        rawFile({ l: { dtype: "I64", shape: [2], data_offsets: [16, 32] } }, data),
        "big.st",
      ),
    /big\.st.*"l".*2147483648.*int32/,
  );
});

Deno.test("safetensors: golden ops.safetensors", () => {
  const f = parseSafetensors(Deno.readFileSync(OPS), OPS.pathname);
  const labels = f.tensors.get("xent.labels")!;
  assert.equal(labels.dtype, "I32");
  assert.deepEqual(labels.shape, [6]);
  assert.ok(labels.data instanceof Int32Array);
  assert.equal(labels.data.length, 6);
  const x = f.tensors.get("act.x")!;
  assert.equal(x.dtype, "F32");
  assert.deepEqual(x.shape, [64]);
  assert.ok(x.data instanceof Float32Array);
  assert.ok(x.data.every(Number.isFinite));
  assert.ok("conv.c5s1" in f.metadata);
  assert.equal(typeof f.metadata["conv.c5s1"], "string");
  // Re-serialising the parsed tensors gives back the same tensors.
  const g = parseSafetensors(serializeSafetensors(f.tensors, f.metadata));
  assert.deepEqual(g.metadata, f.metadata);
  assert.equal(g.tensors.size, f.tensors.size);
  for (const [k, e] of f.tensors) assert.deepEqual(g.tensors.get(k), e, k);
});

Deno.test("safetensors: truncated data", () => {
  const file = validFile();
  assert.throws(
    () => parseSafetensors(file.subarray(0, file.length - 5), "trunc.safetensors"),
    /trunc\.safetensors.*tensor "b".*outside the data section.*truncated/,
  );
});

Deno.test("safetensors: file shorter than 8 bytes", () => {
  assert.throws(
    () => parseSafetensors(new Uint8Array(5), "tiny.st"),
    /tiny\.st.*5 bytes.*shorter than the 8-byte/,
  );
});

Deno.test("safetensors: header length too big", () => {
  const file = validFile();
  const bad = file.slice();
  new DataView(bad.buffer).setUint32(0, file.length, true);
  assert.throws(() => parseSafetensors(bad, "long.st"), /long\.st.*header length \d+ is beyond/);
  new DataView(bad.buffer).setUint32(0, 0, true);
  new DataView(bad.buffer).setUint32(4, 1, true);
  assert.throws(() => parseSafetensors(bad, "huge.st"), /huge\.st.*header length 4294967296/);
});

Deno.test("safetensors: malformed JSON / not an object", () => {
  assert.throws(
    () => parseSafetensors(rawFile('{"a": {"dtype": "F32",', new Uint8Array(0)), "json.st"),
    /json\.st.*not valid JSON/,
  );
  assert.throws(
    () => parseSafetensors(rawFile("[1, 2]", new Uint8Array(0)), "arr.st"),
    /arr\.st.*header is \[1,2\], expected a JSON object/,
  );
  assert.throws(
    () => parseSafetensors(rawFile({ __metadata__: { k: 1 } }, new Uint8Array(0)), "meta.st"),
    /meta\.st.*__metadata__ key "k".*expected a string/,
  );
});

Deno.test("safetensors: unknown dtype", () => {
  const h = { w: { dtype: "BF16", shape: [2], data_offsets: [0, 4] } };
  assert.throws(
    () => parseSafetensors(rawFile(h, new Uint8Array(4)), "dtype.st"),
    /dtype\.st.*tensor "w".*unknown dtype "BF16".*expected one of F32, I32/,
  );
});

Deno.test("safetensors: bad shape", () => {
  for (const shape of [[2, -1], [1.5], "3", [null]]) {
    const h = { w: { dtype: "F32", shape, data_offsets: [0, 4] } };
    assert.throws(
      () => parseSafetensors(rawFile(h, new Uint8Array(4)), "shape.st"),
      /shape\.st.*tensor "w".*shape .* is not an array of non-negative integers/,
    );
  }
});

Deno.test("safetensors: offsets mismatching shape", () => {
  const h = { w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } };
  assert.throws(
    () => parseSafetensors(rawFile(h, new Uint8Array(24)), "offs.st"),
    /offs\.st.*tensor "w".*span 20 bytes, expected 24/,
  );
  const h2 = { w: { dtype: "F32", shape: [1], data_offsets: [0] } };
  assert.throws(
    () => parseSafetensors(rawFile(h2, new Uint8Array(4)), "offs2.st"),
    /offs2\.st.*tensor "w".*data_offsets \[0\], expected \[begin, end\]/,
  );
});

Deno.test("safetensors: overlapping entries", () => {
  const h = {
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
  };
  assert.throws(
    () => parseSafetensors(rawFile(h, new Uint8Array(8)), "over.st"),
    /over\.st.*tensor "b".*overlap tensor "a"/,
  );
});

Deno.test("safetensors: serialize checks data length and dtype", () => {
  assert.throws(
    () => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
    /tensor "w".*data has 3 elements, expected 4/,
  );
  assert.throws(
    () => serializeSafetensors({ w: { dtype: "I32", shape: [1], data: new Float32Array(1) } }),
    /tensor "w".*dtype "I32" does not match the data's type F32/,
  );
  assert.throws(
    () => serializeSafetensors({ w: { shape: [-1], data: new Float32Array(1) } }),
    /tensor "w".*shape \[-1\] is not an array of non-negative integers/,
  );
});

Deno.test("safetensors: the whole header is validated before any tensor is decoded", () => {
  // "a" holds an I64 value outside int32, which only decoding sees; "b" overlaps "a".
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigInt64(0, 2n ** 40n, true);
  const h = {
    a: { dtype: "I64", shape: [1], data_offsets: [0, 8] },
    b: { dtype: "U8", shape: [8], data_offsets: [0, 8] },
  };
  assert.throws(
    () => parseSafetensors(rawFile(h, data), "order.st"),
    /order\.st.*tensor "b".*overlap tensor "a"/,
  );
  // a bad entry after the first one is reported without decoding the first
  const h2 = {
    a: { dtype: "I64", shape: [1], data_offsets: [0, 8] },
    z: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
  };
  assert.throws(
    () => parseSafetensors(rawFile(h2, data), "late.st"),
    /late\.st.*tensor "z".*outside the data section of 8 bytes/,
  );
});

Deno.test("safetensors: prototype property names are not dtypes", () => {
  for (const dtype of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
    const h = { w: { dtype, shape: [1], data_offsets: [0, 4] } };
    assert.throws(
      () => parseSafetensors(rawFile(h, new Uint8Array(4)), "proto.st"),
      new RegExp(`proto\\.st.*tensor "w".*unknown dtype "${dtype}".*expected one of F32`),
    );
  }
  // entry fields come from the entry itself, not from its prototype
  const inherited = `{"w": {"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}}`;
  assert.throws(
    () => parseSafetensors(rawFile(inherited, new Uint8Array(4)), "inh.st"),
    /inh\.st.*tensor "w".*unknown dtype undefined/,
  );
});

Deno.test("safetensors: a tensor or metadata key named __proto__ round-trips", () => {
  const tensors = new Map([
    ["__proto__", { shape: [2], data: new Float32Array([1, 2]) }],
    ["constructor", { shape: [1], data: new Int32Array([3]) }],
  ]);
  const meta: Record<string, string> = {};
  Object.defineProperty(meta, "__proto__", { value: "p", enumerable: true, writable: true });
  meta["toString"] = "t";
  const f = parseSafetensors(serializeSafetensors(tensors, meta), "proto.st");
  assert.deepEqual([...f.tensors.keys()], ["__proto__", "constructor"]);
  assert.deepEqual(f.tensors.get("__proto__")!.data, new Float32Array([1, 2]));
  assert.deepEqual(f.tensors.get("constructor")!.data, new Int32Array([3]));
  assert.ok(Object.hasOwn(f.metadata, "__proto__"), "metadata key __proto__ kept");
  assert.equal(f.metadata["__proto__"], "p");
  assert.equal(f.metadata["toString"], "t");
  assert.equal(Object.getPrototypeOf(f.metadata), Object.prototype);
});

Deno.test("safetensors: an F64 value beyond the float32 range is an error, not Infinity", () => {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  v.setFloat64(0, 1, true);
  v.setFloat64(8, 1e39, true);
  v.setFloat64(16, -1e300, true);
  assert.throws(
    () =>
      parseSafetensors(
        rawFile({ d: { dtype: "F64", shape: [3], data_offsets: [0, 24] } }, data),
        "wide.st",
      ),
    /wide\.st.*tensor "d".*F64 element 1 is 1e\+39, outside the float32 range/,
  );
  // infinities and NaN stored as F64 stay what they are
  v.setFloat64(8, Infinity, true);
  v.setFloat64(16, NaN, true);
  const f = parseSafetensors(
    rawFile({ d: { dtype: "F64", shape: [3], data_offsets: [0, 24] } }, data),
    "inf.st",
  );
  assert.deepEqual(f.tensors.get("d")!.data, new Float32Array([1, Infinity, NaN]));
});

Deno.test("safetensors: a shape whose product is not a safe integer is rejected", () => {
  const h = { w: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } };
  assert.throws(
    () => parseSafetensors(rawFile(h, new Uint8Array(4)), "big.st"),
    /big\.st.*tensor "w".*span 4 bytes, expected/,
  );
});
