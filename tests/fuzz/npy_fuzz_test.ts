import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import assert from "node:assert/strict";
import { npyItemSize, parseNpy, parseNpyHeader } from "../../src/data/npy.ts";
import { npyBytes } from "../data/_helpers.ts";

const NAME = "/data/weights.npy";

const valid: Uint8Array[] = [
  npyBytes("<f4", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6])),
  npyBytes("<i8", [3], new BigInt64Array([1n, -2n, 3n]), { version: 2 }),
  npyBytes("|u1", [2, 2, 1], new Uint8Array([0, 1, 2, 255]), { version: 3 }),
  npyBytes("|b1", [4], new Uint8Array([1, 0, 1, 1])),
  npyBytes("<f8", [], new Float64Array([0.5])),
];

/** A version-`major` `.npy` file whose header is `header` verbatim, then `body`. */
function raw(header: string, body = new Uint8Array(0), major = 1): Uint8Array {
  const hb = new TextEncoder().encode(header);
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + hb.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, hb.length, true);
  else v.setUint32(8, hb.length, true);
  out.set(hb, pre);
  out.set(body, pre + hb.length);
  return out;
}

const dict = (descr: string, shape: string, extra = "") =>
  `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, ${extra}}`;

function* cases(): Generator<Mutant> {
  for (const [i, v] of valid.entries()) yield* mutants(v, 8000, 100 + i);
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  yield { how: "nesting 100000 deep", bytes: raw(dict("<f4", deep(100000)), new Uint8Array(0), 2) };
  yield { how: "nesting unclosed", bytes: raw(dict("<f4", "(".repeat(60000))) };
  for (const d of ["<constructor", "|toString", "<__proto__", "=valueOf", "<hasOwnProperty"]) {
    yield { how: `descr ${d}`, bytes: raw(dict(d, "(1,)"), new Uint8Array(8)) };
  }
  yield { how: "key __proto__", bytes: raw(dict("<f4", "(1,)", "'__proto__': [1], ")) };
  yield { how: "shape 2^64", bytes: raw(dict("<f8", "(18446744073709551616,)")) };
  yield { how: "shape 2^32 x 2^32", bytes: raw(dict("<f8", "(4294967296, 4294967296)")) };
  yield { how: "shape 2^31 of f8", bytes: raw(dict("<f8", "(2147483648,)")) };
  yield { how: "65 dims", bytes: raw(dict("|u1", `(${Array(65).fill(1).join(",")})`)) };
  yield {
    how: "50000 dims",
    bytes: raw(dict("|u1", `(${Array(50000).fill(1).join(",")})`), new Uint8Array(1), 2),
  };
  yield { how: "string unterminated", bytes: raw("{'descr': '<f4") };
  yield { how: "header 1 MB of spaces", bytes: raw(" ".repeat(1 << 20), new Uint8Array(0), 2) };
  yield { how: "header length 2^32-1", bytes: raw("{}", new Uint8Array(0), 2).fill(0xff, 8, 12) };
  yield { how: "version 9", bytes: raw(dict("<f4", "(0,)"), new Uint8Array(0), 9) };
  yield { how: "magic only", bytes: new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) };
}

Deno.test("fuzz npy: every case loads or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "npy",
    name: NAME,
    cases: cases(),
    parse: (b, n) => {
      const h = parseNpyHeader(b, n);
      const a = parseNpy(b, n);
      const count = a.shape.reduce((x, y) => x * y, 1);
      assert.equal(a.data.length, count);
      assert.equal(h.dataOffset + count * npyItemSize(h.dtype), b.length, "header plus data");
      return a;
    },
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});
