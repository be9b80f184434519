import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import { grad, hashed, mul, standardize, sum, type Tensor, tensor, tidy } from "../../mod.ts";

const ops = await golden("ops.safetensors");
await setup();

const want = (k: string) => host(ops, k).data;

Deno.test("standardize: forward and gradient", async () => {
  await tidy(async () => {
    const x = gpu(ops, "standardize.x"), gy = gpu(ops, "standardize.gy");
    const y = standardize(x);
    assert.deepEqual(y.shape, host(ops, "standardize.y").shape);
    assertClose(await read(y), want("standardize.y"), "standardize.y");
    const gx = grad((x: Tensor) => sum(mul(gy, standardize(x))))(x);
    assertClose(await read(gx), want("standardize.gx"), "standardize.gx", 1e-3);
  });
});

Deno.test("standardize: second order d<v, gx>/dx through autodiff", async () => {
  await tidy(async () => {
    const x = gpu(ops, "standardize.x"), gy = gpu(ops, "standardize.gy");
    const v = gpu(ops, "standardize.v");
    const gx = (x: Tensor) => grad((x: Tensor) => sum(mul(gy, standardize(x))))(x);
    const d = grad((x: Tensor) => sum(mul(v, gx(x))))(x);
    assertSecondOrder(await read(d), want("standardize.d_vgx_dx"), "standardize.d_vgx_dx");
  });
});

Deno.test("standardize: constant image (minimum-stddev branch)", async () => {
  await tidy(async () => {
    const { shape, data } = host(ops, "standardize.const_x");
    const x = gpu(ops, "standardize.const_x");
    assertClose(await read(standardize(x)), want("standardize.const_y"), "standardize.const_y");

    // The stddev is clamped to the constant 1/sqrt(n), so the gradient of <g, y> is
    // (g − mean(g))·sqrt(n) per image: finite, and checked against that closed form.
    const n = data.length / shape[0];
    const g = hashed(11, shape, 1);
    const gx = await read(
      grad((x: Tensor) => sum(mul(tensor(g, shape), standardize(x))))(x),
    );
    assert.ok(gx.every(Number.isFinite), `gradient is not finite: ${gx}`);
    const expected = new Float64Array(g.length);
    for (let b = 0; b < shape[0]; b++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += g[b * n + i] / n;
      for (let i = 0; i < n; i++) expected[b * n + i] = (g[b * n + i] - m) * Math.sqrt(n);
    }
    assertClose(gx, expected, "standardize.const gradient", 1e-3);
  });
});
