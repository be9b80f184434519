import assert from "node:assert/strict";
import { read, setup } from "../helpers.ts";
import { add, div, hashed, mul, shapeSize, sub, tensor, tidy } from "../../mod.ts";

await setup();

/** Row-major CPU reference of a broadcasting binary op. */
function reference(
  a: Float32Array,
  as: number[],
  b: Float32Array,
  bs: number[],
  f: (x: number, y: number) => number,
): { out: Float32Array; shape: number[] } {
  const r = Math.max(as.length, bs.length);
  const pa = [...new Array(r - as.length).fill(1), ...as],
    pb = [...new Array(r - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const out = new Float32Array(shapeSize(shape));
  const idx = new Array(r).fill(0);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    let ia = 0, ib = 0;
    for (let d = 0; d < r; d++) {
      ia = ia * pa[d] + (pa[d] === 1 ? 0 : idx[d]);
      ib = ib * pb[d] + (pb[d] === 1 ? 0 : idx[d]);
    }
    out[i] = f(a[ia], b[ib]);
  }
  return { out, shape };
}

const cases: [number[], number[]][] = [
  [[2, 3, 4, 5], [2, 3, 4, 5]], // same shape
  [[2, 3, 4, 5], [5]], // bias over the last axis (suffix)
  [[2, 3, 4, 5], [4, 5]], // suffix of two axes
  [[2, 3, 4, 5], [2, 1, 1, 1]], // per-image scalar (prefix)
  [[2, 3, 4, 5], [2, 3, 1, 1]], // prefix of two axes
  [[2, 3, 4, 5], []], // scalar
  [[5], [2, 3, 4, 5]], // suffix on the left input
  [[2, 1, 1, 1], [2, 3, 4, 5]], // prefix on the left input
  [[2, 3, 4, 5], [1, 3, 1, 5]], // general
  [[2, 1, 4, 1], [1, 3, 1, 5]], // both broadcast (general)
  [[2, 3, 4, 8], [8]], // suffix whose period is a multiple of 4 (four per invocation)
  [[8], [2, 3, 4, 8]], // the same on the left input
  [[3, 3, 3], [3, 3, 3]], // same shape, size not a multiple of 4 (one per invocation)
  [[3, 1, 1], [1, 4, 5]], // outer: a per block, b repeating (four per invocation)
  [[1, 4, 5], [3, 1, 1]], // outer, the other way round
  [[3, 1, 1], [1, 3, 5]], // outer with a period of 15 (one per invocation)
  [[1, 3, 5], [3, 1, 1]], // the same the other way round
  [[6, 1], [8]], // outer of a column and a row
  // 38304 elements: on a software adapter the inputs of the output's size come from texel copies
  // (9576 texels, rows of 16 with a partial last row)
  [[2, 3, 76, 84], [2, 3, 76, 84]], // same shape (both inputs as texels)
  [[2, 3, 76, 84], [84]], // suffix (a as texels)
  [[2, 3, 76, 84], [2, 1, 1, 1]], // prefix
  [[84], [2, 3, 76, 84]], // suffix on the left input (b as texels)
  [[2, 1, 1, 1], [2, 3, 76, 84]], // prefix on the left input
];

for (const [as, bs] of cases) {
  Deno.test(`broadcasting [${as}] with [${bs}] matches the CPU reference`, async () => {
    await tidy(async () => {
      const ah = hashed(1, as, 2), bh = hashed(2, bs, 2).map((v) => v + 3);
      const a = tensor(ah, as), b = tensor(bh, bs);
      const ops: [string, typeof add, (x: number, y: number) => number][] = [
        ["add", add, (x, y) => x + y],
        ["sub", sub, (x, y) => x - y],
        ["mul", mul, (x, y) => x * y],
        ["div", div, (x, y) => x / y],
      ];
      for (const [name, op, f] of ops) {
        const want = reference(ah, as, bh, bs, f);
        const got = op(a, b);
        assert.deepEqual([...got.shape], want.shape, name);
        const g = await read(got);
        for (let i = 0; i < g.length; i++) {
          assert.ok(
            Math.abs(g[i] - want.out[i]) <= 1e-5 * Math.max(1, Math.abs(want.out[i])),
            `${name} [${i}]`,
          );
        }
      }
    });
  });
}
