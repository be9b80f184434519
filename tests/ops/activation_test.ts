import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import {
  abs,
  exp,
  grad,
  hashed,
  leakyRelu,
  leakySoftplus,
  mul,
  neg,
  relu,
  softplus,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "../../mod.ts";

const ops = await golden("ops.safetensors");
await setup();

const want = (k: string) => host(ops, k).data;

/**
 * The activations of docs/spec.md §2 by their golden names (leaky slope 0.1,
 * tests/goldens/README.md).
 */
const ACTS: Record<string, (x: Tensor) => Tensor> = {
  relu,
  leaky_relu: (x) => leakyRelu(x, 0.1),
  softplus,
  leaky_softplus: (x) => leakySoftplus(x, 0.1),
};

const names = [...ops.tensors.keys()]
  .map((k) => /^act\.([^.]+)\.y$/.exec(k)?.[1])
  .filter((n): n is string => n !== undefined);

Deno.test("activation goldens: every case has an implementation", () => {
  assert.ok(names.length > 0, "no act.<name>.y tensor in ops.safetensors");
  for (const n of names) assert.ok(n in ACTS, `no activation for golden case act.${n}`);
});

for (const name of names.filter((n) => n in ACTS)) {
  const act = ACTS[name];
  const key = (k: string) => `act.${name}.${k}`;

  Deno.test(`${name}: forward and gradient`, async () => {
    await tidy(async () => {
      const x = gpu(ops, "act.x"), gy = gpu(ops, "act.gy");
      assertClose(await read(act(x)), want(key("y")), key("y"));
      const gx = grad((x: Tensor) => sum(mul(gy, act(x))))(x);
      assertClose(await read(gx), want(key("gx")), key("gx"), 1e-3);
    });
  });

  Deno.test(`${name}: second order d<v, gx>/dx and d<v, gx>/dgy through autodiff`, async () => {
    await tidy(async () => {
      const x = gpu(ops, "act.x"), gy = gpu(ops, "act.gy"), v = gpu(ops, "act.v");
      const inner = (x: Tensor, gy: Tensor) => sum(mul(gy, act(x)));
      const vgx = (x: Tensor, gy: Tensor) => sum(mul(v, grad(inner, 0)(x, gy)));
      assertSecondOrder(await read(grad(vgx, 0)(x, gy)), want(key("d_vgx_dx")), key("d_vgx_dx"));
      assertSecondOrder(
        await read(grad(vgx, 1)(x, gy)),
        want(key("d_vgx_dgy")),
        key("d_vgx_dgy"),
      );
    });
  });
}

// 40004 values: on a software adapter x comes from a texel copy (10001 texels, a partial last row)
Deno.test("unary ops: four per invocation (size a multiple of 4) and one (any size)", async () => {
  await tidy(async () => {
    for (const n of [12, 13, 4099, 40004]) {
      const xh = hashed(n, [n], 2);
      const x = tensor(xh, [n]);
      const cases: [string, Tensor, (v: number) => number][] = [
        ["relu", relu(x), (v) => Math.max(v, 0)],
        ["abs", abs(x), Math.abs],
        ["neg", neg(x), (v) => -v],
        ["exp", exp(x), Math.exp],
      ];
      for (const [name, y, f] of cases) {
        assertClose(await read(y), Float32Array.from(xh, f), `${name} of ${n} values`, 1e-6);
      }
    }
  });
});
