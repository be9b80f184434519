import { assertClose, read, setup } from "../helpers.ts";
import { broadcastTo, hashed, mean, sum, tensor, tidy } from "../../mod.ts";

await setup();

/** Host sums of x ([R, C] row-major) over its rows, times `scale`. */
function columnSums(x: Float32Array, R: number, C: number, scale = 1): Float32Array {
  const s = new Float64Array(C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) s[c] += x[r * C + c];
  return Float32Array.from(s, (v) => v * scale);
}

Deno.test("sums over leading axes (bias gradients) match the host, partial chunks included", async () => {
  await tidy(async () => {
    // [B, H, W, C] over (B, H, W): rows read as vec4 columns in chunks of 1024 rows (the last
    // one partial), then the partial sums; C = 6 takes the general kernels
    for (const shape of [[3, 29, 31, 8], [2, 37, 41, 32], [5, 20, 21, 6], [4100, 4]]) {
      const C = shape[shape.length - 1], R = shape.reduce((a, b) => a * b, 1) / C;
      const xh = hashed(C, shape, 1);
      const x = tensor(xh, shape);
      const axes = shape.slice(0, -1).map((_, i) => i);
      const want = columnSums(xh, R, C);
      assertClose(await read(sum(x, axes)), want, `sum of [${shape}]`, 1e-5);
      assertClose(await read(sum(x, axes, true)), want, `sum of [${shape}], keepDims`, 1e-5);
      const m = columnSums(xh, R, C, 1 / R);
      assertClose(await read(mean(x, axes)), m, `mean of [${shape}]`, 1e-5);
    }
  });
});

Deno.test("sums of a few long rows (path points of a batch) match the host", async () => {
  await tidy(async () => {
    // [K, B, H, W, C] over K: one pass with a vec4 column per invocation when the rows hold at
    // least 256 floats (a multiple of 4); mean and short rows take the general kernels
    const shapes = [[10, 2, 8, 8, 32], [3, 1028], [1, 2048], [2047, 1024], [500, 800], [4, 254]];
    for (const shape of [...shapes, [5, 12]]) {
      const R = shape[0], C = shape.reduce((a, b) => a * b, 1) / R;
      const xh = hashed(R + C, shape, 1);
      const x = tensor(xh, shape);
      assertClose(await read(sum(x, 0)), columnSums(xh, R, C), `sum of [${shape}] over 0`, 1e-5);
      assertClose(
        await read(mean(x, 0)),
        columnSums(xh, R, C, 1 / R),
        `mean of [${shape}] over 0`,
        1e-5,
      );
    }
  });
});

/** Host broadcast of x (shape `from`, padded on the left) to `to`. */
function hostBroadcast(x: Float32Array, from: number[], to: number[]): Float32Array {
  const pf = [...new Array(to.length - from.length).fill(1), ...from];
  const n = to.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, src = 0, stride = 1;
    for (let d = to.length - 1; d >= 0; d--) {
      const idx = rem % to[d];
      rem = Math.floor(rem / to[d]);
      src += (pf[d] === 1 ? 0 : idx) * stride;
      stride *= pf[d];
    }
    out[i] = x[src];
  }
  return out;
}

Deno.test("broadcastTo: repeated (tile4), per-block (blocks4) and general forms match the host", async () => {
  await tidy(async () => {
    const cases: [number[], number[]][] = [
      [[1, 3, 4], [5, 3, 4]], // repeated over a leading axis: tile4
      [[3, 4], [2, 5, 3, 4]], // over two new leading axes: tile4
      [[6, 1, 1], [6, 2, 2]], // each element over a block of 4: blocks4
      [[2, 3, 1], [2, 3, 8]], // blocks of 8: blocks4
      [[1, 3, 1], [2, 3, 4]], // general (copy)
      [[1, 3], [5, 3]], // repeated, size not a multiple of 4 (copy)
      [[6, 1], [6, 3]], // blocks of 3 (copy)
    ];
    for (const [from, to] of cases) {
      const xh = hashed(from.length, from, 1);
      const got = await read(broadcastTo(tensor(xh, from), to));
      assertClose(got, hostBroadcast(xh, from, to), `[${from}] to [${to}]`, 0, 0);
    }
  });
});
