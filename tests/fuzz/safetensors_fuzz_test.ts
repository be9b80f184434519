/**
 * Fuzz test of the safetensors reader: seeded mutants of small valid files and of the golden
 * `ops.safetensors`, plus hand-made hostile files (header length bombs, huge declared shapes
 * and offsets, unknown and prototype-named dtypes, overlapping entries, deep nesting). Every
 * case must load or fail with an error naming the file, allocate at most 16 × the file size
 * at once and 8 × the file size in all (plus 1 MiB), and finish well within the hang bound.
 */

import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.ts";

const NAME = "fuzz.safetensors";
const OPS = new URL("../goldens/ops.safetensors", import.meta.url);

/** A raw file: 8-byte length (or `length`), header text, then `data`. */
function rawFile(header: unknown, data: Uint8Array, length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Small valid files covering every dtype the reader accepts. */
function validFiles(): Uint8Array[] {
  const mixed = serializeSafetensors({
    w: { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-3, 7]) },
    labels: { shape: [4], data: new Int32Array([0, 9, -1, 2147483647]) },
    s: { shape: [], data: new Float32Array([0.25]) },
    empty: { shape: [0, 5], data: new Float32Array(0) },
  }, { step: "12", config: '{"k": 40}' });
  const data = new Uint8Array(16 + 16 + 4);
  const v = new DataView(data.buffer);
  v.setFloat64(0, 0.1, true);
  v.setFloat64(8, -3e38, true);
  v.setBigInt64(16, -5n, true);
  v.setBigInt64(24, 2147483647n, true);
  data.set([0, 7, 200, 255], 32);
  const converted = rawFile({
    d: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
    l: { dtype: "I64", shape: [2, 1], data_offsets: [16, 32] },
    u: { dtype: "U8", shape: [4], data_offsets: [32, 36] },
    __metadata__: { a: "b" },
  }, data);
  return [mixed, converted];
}

function* handMade(): Generator<Mutant> {
  const MiB = 2 ** 20;
  const entry = (dtype: unknown, shape: unknown, offs: unknown) => ({
    dtype,
    shape,
    data_offsets: offs,
  });
  const one = (e: unknown, data = new Uint8Array(16)) => rawFile({ t: e }, data);
  // header length bombs
  for (const len of [2n ** 64n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 32n, 2n ** 31n, 40n]) {
    yield { how: `header length ${len}`, bytes: rawFile("{}", new Uint8Array(16), len) };
  }
  yield { how: "header length = file length", bytes: rawFile("{}", new Uint8Array(0), 10n) };
  yield { how: "8 bytes, header length 0", bytes: new Uint8Array(8) };
  yield { how: "7 bytes", bytes: new Uint8Array(7) };
  yield { how: "empty file", bytes: new Uint8Array(0) };
  // wrong magic: other formats where a safetensors file is expected
  yield { how: "zip magic", bytes: new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0, 0, 0]) };
  yield { how: "npy magic", bytes: new TextEncoder().encode("\x93NUMPY\x01\x00v\x00{'descr'") };
  // header not JSON, not UTF-8, not an object
  yield { how: "invalid UTF-8", bytes: rawFile("", new Uint8Array([0xff, 0xfe, 0xfd]), 3n) };
  for (const text of ["", "null", "[]", "1e999", '"x"', "{", '{"a":}', "\u00a0{}"]) {
    yield { how: `header ${JSON.stringify(text)}`, bytes: rawFile(text, new Uint8Array(4)) };
  }
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  yield { how: "deep array header", bytes: rawFile(deep(200_000), new Uint8Array(0)) };
  yield {
    how: "deep metadata",
    bytes: rawFile(`{"__metadata__": ${deep(200_000)}}`, new Uint8Array(0)),
  };
  yield {
    how: "deep entry",
    bytes: rawFile(`{"t": {"dtype": "F32", "shape": ${deep(100_000)}}}`, new Uint8Array(0)),
  };
  yield { how: "whitespace header", bytes: rawFile(" ".repeat(MiB) + "{}", new Uint8Array(0)) };
  // metadata
  for (const meta of [1, "x", null, [], { k: 1 }, { k: null }, { k: ["a"] }]) {
    yield {
      how: `metadata ${JSON.stringify(meta)}`,
      bytes: rawFile({ __metadata__: meta }, new Uint8Array(0)),
    };
  }
  yield {
    how: "metadata __proto__",
    bytes: rawFile('{"__metadata__": {"__proto__": "p", "constructor": "c"}}', new Uint8Array(0)),
  };
  // dtypes: unknown, prototype names, wrong types
  for (
    const dtype of [
      "BF16",
      "F16",
      "BOOL",
      "f32",
      "",
      "toString",
      "constructor",
      "__proto__",
      "hasOwnProperty",
      "valueOf",
      4,
      null,
      ["F32"],
      { F32: 4 },
    ]
  ) {
    yield { how: `dtype ${JSON.stringify(dtype)}`, bytes: one(entry(dtype, [4], [0, 16])) };
  }
  yield {
    how: "entry fields only on the prototype",
    bytes: rawFile(
      '{"t": {"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}}',
      new Uint8Array(4),
    ),
  };
  // shapes: negative, fractional, huge, product overflowing
  for (
    const shape of [
      [-1],
      [1.5],
      ["4"],
      [null],
      {},
      4,
      [2 ** 53 - 1],
      [2 ** 53],
      [1e6, 1e6, 1e6],
      [2 ** 30, 2 ** 30, 0],
      Array(60).fill(2 ** 20),
      [4, ...Array(100_000).fill(1)],
    ]
  ) {
    yield {
      how: `shape ${JSON.stringify(shape).slice(0, 40)}`,
      bytes: one(entry("F32", shape, [0, 16])),
    };
  }
  // offsets: huge, negative, reversed, fractional, outside the data section
  for (
    const offs of [
      [0, 2 ** 53 - 1],
      [2 ** 53 - 17, 2 ** 53 - 1],
      [2 ** 52, 2 ** 52 + 16],
      [4, 20],
      [16, 0],
      [-16, 0],
      [0.5, 16.5],
      [0],
      [0, 16, 32],
      "0,16",
      [0, 1e400],
    ]
  ) {
    yield { how: `offsets ${JSON.stringify(offs)}`, bytes: one(entry("F32", [4], offs)) };
  }
  yield {
    how: "huge declared tensor, tiny file",
    bytes: one(entry("F64", [2 ** 40], [0, 2 ** 43])),
  };
  yield {
    how: "empty tensor far outside the data",
    bytes: one(entry("F32", [0], [2 ** 50, 2 ** 50])),
  };
  // overlaps: many entries over one file-backed range (each would decode the whole range)
  for (const dtype of ["F32", "U8", "F64"]) {
    const size = dtype === "U8" ? 1 : dtype === "F32" ? 4 : 8;
    const header: Record<string, unknown> = {};
    for (let k = 0; k < 200; k++) header[`t${k}`] = entry(dtype, [MiB / size], [0, MiB]);
    yield {
      how: `200 ${dtype} entries over one 1 MiB range`,
      bytes: rawFile(header, new Uint8Array(MiB)),
    };
  }
  {
    const header: Record<string, unknown> = {};
    for (let k = 0; k < 50; k++) header[`t${k}`] = entry("U8", [MiB], [0, MiB]);
    header["z"] = entry("U8", [1], [MiB, MiB + 1]); // the last entry is outside the data
    yield {
      how: "50 entries then one outside the data",
      bytes: rawFile(header, new Uint8Array(MiB)),
    };
  }
  yield {
    how: "partial overlap",
    bytes: rawFile(
      { a: entry("F32", [4], [0, 16]), b: entry("U8", [4], [12, 16]) },
      new Uint8Array(16),
    ),
  };
  yield {
    how: "I64 out of int32",
    bytes: one(entry("I64", [2], [0, 16]), new Uint8Array(16).fill(0x7f)),
  };
  yield {
    how: "F64 beyond float32",
    bytes: one(entry("F64", [2], [0, 16]), new Uint8Array(16).fill(0x7f)),
  };
  {
    const header: Record<string, unknown> = {};
    for (let k = 0; k < 50_000; k++) header[`t${k}`] = entry("U8", [0], [0, 0]);
    yield { how: "50000 empty entries", bytes: rawFile(header, new Uint8Array(0)) };
  }
  yield {
    how: "tensor named __proto__",
    bytes: rawFile(
      '{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
      new Uint8Array(4),
    ),
  };
}

function* cases(): Generator<Mutant> {
  let seed = 1;
  for (const valid of validFiles()) yield* mutants(valid, 40_000, seed++);
  yield* mutants(Deno.readFileSync(OPS), 8_000, seed++);
  yield* handMade();
}

/**
 * What a load must satisfy: each tensor's data has `product(shape)` elements of its dtype.
 * A violation is thrown as a `RangeError`, which the harness reports as a failure.
 */
function checkLoaded(f: ReturnType<typeof parseSafetensors>): void {
  for (const [name, e] of f.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const type = e.dtype === "F32" ? Float32Array : Int32Array;
    if (e.data.length !== n || !(e.data instanceof type)) {
      throw new RangeError(
        `loaded tensor "${name}" has ${e.data.length} values, shape [${e.shape}]`,
      );
    }
  }
  for (const v of Object.values(f.metadata)) {
    if (typeof v !== "string") throw new RangeError(`loaded metadata value ${v} is no string`);
  }
}

Deno.test("fuzz: safetensors reader", async () => {
  const report = await fuzz({
    format: "safetensors",
    name: NAME,
    cases: cases(),
    parse: (bytes, name) => checkLoaded(parseSafetensors(bytes, name)),
    totalAllocationLimit: (bytes) => 8 * bytes.length + 2 ** 20,
  });
  if (report.loaded === 0 || report.rejected === 0) {
    throw new Error(
      `fuzz safetensors: expected both loads and rejections, got ${JSON.stringify(report)}`,
    );
  }
});
