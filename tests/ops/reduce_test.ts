import { assertClose, read, setup } from "../helpers.ts";
import { hashed, mean, sum, tensor, tidy } from "../../mod.ts";

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
