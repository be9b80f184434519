import { assertClose, assertSecondOrder, golden, gpu, read, setup } from "../helpers.ts";
import { conv2d, grad, mul, type Padding, sum, type Tensor, tidy } from "../../mod.ts";

const ops = await golden("ops.safetensors");
await setup();
const cases = Object.keys(ops.metadata).filter((k) => k.startsWith("conv.")).map((k) => k.slice(5));

for (const name of cases) {
  const meta = JSON.parse(ops.metadata[`conv.${name}`]) as { stride: number; padding: Padding };
  const opts = { stride: meta.stride, padding: meta.padding };
  const key = (k: string) => `conv.${name}.${k}`;

  Deno.test(`conv2d ${name}: forward and first-order gradients`, async () => {
    await tidy(async () => {
      const x = gpu(ops, key("x")), w = gpu(ops, key("w")), gy = gpu(ops, key("gy"));
      assertClose(await read(conv2d(x, w, opts)), ops.tensors.get(key("y"))!.data, key("y"));
      const f = (x: Tensor, w: Tensor) => sum(mul(gy, conv2d(x, w, opts)));
      assertClose(await read(grad(f, 0)(x, w)), ops.tensors.get(key("gx"))!.data, key("gx"), 1e-3);
      assertClose(await read(grad(f, 1)(x, w)), ops.tensors.get(key("gw"))!.data, key("gw"), 1e-3);
    });
  });

  Deno.test(`conv2d ${name}: second-order gradients through autodiff`, async () => {
    await tidy(async () => {
      const x = gpu(ops, key("x")), w = gpu(ops, key("w")), gy = gpu(ops, key("gy"));
      const v = gpu(ops, key("v")), u = gpu(ops, key("u"));
      const inner = (x: Tensor, w: Tensor, gy: Tensor) => sum(mul(gy, conv2d(x, w, opts)));
      // <v, gx> with gx = d<gy, y>/dx
      const vgx = (x: Tensor, w: Tensor, gy: Tensor) => sum(mul(v, grad(inner, 0)(x, w, gy)));
      // <u, gw> with gw = d<gy, y>/dw
      const ugw = (x: Tensor, w: Tensor, gy: Tensor) => sum(mul(u, grad(inner, 1)(x, w, gy)));
      const check = async (t: Tensor, k: string) =>
        assertSecondOrder(await read(t), ops.tensors.get(key(k))!.data, key(k));
      await check(grad(vgx, 1)(x, w, gy), "d_vgx_dw");
      await check(grad(vgx, 2)(x, w, gy), "d_vgx_dgy");
      await check(grad(ugw, 0)(x, w, gy), "d_ugw_dx");
      await check(grad(ugw, 2)(x, w, gy), "d_ugw_dgy");
    });
  });
}

Deno.test("conv2d with a fused bias equals conv2d + bias, with the same gradients", async () => {
  const { add, hashed, tensor, valueAndGrad } = await import("../../mod.ts");
  await tidy(async () => {
    const x = tensor(hashed(1, [2, 7, 7, 3], 1), [2, 7, 7, 3]);
    const w = tensor(hashed(2, [3, 3, 3, 5], 1), [3, 3, 3, 5]);
    const b = tensor(hashed(3, [5], 1), [5]);
    const gy = tensor(hashed(4, [2, 4, 4, 5], 1), [2, 4, 4, 5]);
    const opts = { stride: 2 };
    const fused = valueAndGrad<[Tensor[]], Tensor[]>((a: Tensor[]) =>
      sum(mul(gy, conv2d(a[0], a[1], { ...opts, bias: a[2] })))
    )([x, w, b]);
    const plain = valueAndGrad<[Tensor[]], Tensor[]>((a: Tensor[]) =>
      sum(mul(gy, add(conv2d(a[0], a[1], opts), a[2])))
    )([x, w, b]);
    assertClose(await read(fused.value), await read(plain.value), "value", 1e-5);
    for (let i = 0; i < 3; i++) {
      assertClose(await read(fused.grads[i]), await read(plain.grads[i]), `grad ${i}`, 1e-5);
    }
  });
});
