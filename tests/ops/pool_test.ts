import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import { avgPool, grad, maxPool, mul, padChannels, sum, type Tensor, tidy } from "../../mod.ts";

const ops = await golden("ops.safetensors");
await setup();

const want = (k: string) => host(ops, k).data;

// every `maxpool.<case>.x` in the file is a case (2x2/2 SAME max-pool, SPEC §1)
const maxCases = [...ops.tensors.keys()]
  .map((k) => /^maxpool\.([^.]+)\.x$/.exec(k)?.[1])
  .filter((c): c is string => c !== undefined);

Deno.test("maxpool goldens hold at least one case", () => {
  assert.ok(maxCases.length > 0, "no maxpool.<case>.x tensor in ops.safetensors");
});

for (const name of maxCases) {
  const key = (k: string) => `maxpool.${name}.${k}`;

  Deno.test(`maxPool ${name}: forward and gradient`, async () => {
    await tidy(async () => {
      const x = gpu(ops, key("x")), gy = gpu(ops, key("gy"));
      const y = maxPool(x);
      assert.deepEqual(y.shape, host(ops, key("y")).shape, `${key("y")} shape`);
      assertClose(await read(y), want(key("y")), key("y"));
      const f = (x: Tensor) => sum(mul(gy, maxPool(x)));
      assertClose(await read(grad(f)(x)), want(key("gx")), key("gx"), 1e-3);
    });
  });

  Deno.test(`maxPool ${name}: second order d<v, gx>/dgy through autodiff`, async () => {
    await tidy(async () => {
      const x = gpu(ops, key("x")), gy = gpu(ops, key("gy")), v = gpu(ops, key("v"));
      // gx as a function of gy, through the autodiff
      const gx = (gy: Tensor) => grad((x: Tensor) => sum(mul(gy, maxPool(x))))(x);
      const vgx = (gy: Tensor) => sum(mul(v, gx(gy)));
      const d = grad(vgx)(gy);
      assert.deepEqual(d.shape, host(ops, key("d_vgx_dgy")).shape);
      assertSecondOrder(await read(d), want(key("d_vgx_dgy")), key("d_vgx_dgy"));
    });
  });
}

Deno.test("avgPool + padChannels (ResNet shortcut): forward and gradient", async () => {
  await tidy(async () => {
    const x = gpu(ops, "avgpool_pad.x"), gy = gpu(ops, "avgpool_pad.gy");
    const xc = x.shape[3], yc = host(ops, "avgpool_pad.y").shape[3];
    assert.ok(yc > xc && (yc - xc) % 2 === 0, `channels ${xc} -> ${yc}`);
    const p = (yc - xc) / 2;
    const shortcut = (x: Tensor) => padChannels(avgPool(x), p, p);
    const y = shortcut(x);
    assert.deepEqual(y.shape, host(ops, "avgpool_pad.y").shape);
    assertClose(await read(y), want("avgpool_pad.y"), "avgpool_pad.y");
    const gx = grad((x: Tensor) => sum(mul(gy, shortcut(x))))(x);
    assertClose(await read(gx), want("avgpool_pad.gx"), "avgpool_pad.gx", 1e-3);
  });
});
