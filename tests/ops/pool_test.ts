import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import {
  avgPool,
  grad,
  hashed,
  maxPool,
  mul,
  relu,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "../../mod.ts";
import { maxPoolBackward, maxPoolGather, maxPoolRelu, padChannels } from "../../src/ops/mod.ts";

const ops = await golden("ops.safetensors");
await setup();

const want = (k: string) => host(ops, k).data;

// every `maxpool.<case>.x` in the file is a case (2x2/2 SAME max-pool, docs/spec.md §1)
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

Deno.test("maxPool, its backward and gather: tiling, overlapping windows, four-channel forms equal a host reference", async () => {
  const cases: [number[], number, number, "SAME" | "VALID"][] = [
    [[2, 7, 9, 3], 2, 2, "SAME"], // tiles, padded bottom/right
    [[1, 4, 4, 2], 3, 3, "SAME"], // tiles, padded on both sides
    [[2, 7, 7, 2], 2, 2, "VALID"], // last row/column in no window
    [[1, 7, 6, 2], 3, 2, "SAME"], // overlapping windows
    [[2, 7, 9, 4], 2, 2, "SAME"], // four channels per invocation, padded bottom/right
    [[1, 4, 4, 8], 3, 3, "SAME"], // the same, padded on both sides
    [[2, 8, 6, 12], 2, 2, "SAME"], // the same, no padding (the MNIST CNN's case)
    [[1, 7, 6, 4], 3, 2, "SAME"], // overlapping windows, four channels
  ];
  for (const [shape, K, S, padding] of cases) {
    await tidy(async () => {
      const [B, H, W, C] = shape;
      const opts = { size: K, stride: S, padding };
      const what = `[${shape}] K=${K} S=${S} ${padding}`;
      // a few exact ties, so the first-arg-max rule matters
      const xs = hashed(7, shape, 1).map((v) => Math.round(v * 4) / 4);
      const x = tensor(xs, shape);
      const y = maxPool(x, opts);
      const [, OH, OW] = y.shape;
      const gys = hashed(8, y.shape as number[], 1);
      const vs = hashed(9, shape, 1);
      const totalH = Math.max((OH - 1) * S + K - H, 0), totalW = Math.max((OW - 1) * S + K - W, 0);
      const PT = padding === "SAME" ? Math.floor(totalH / 2) : 0;
      const PL = padding === "SAME" ? Math.floor(totalW / 2) : 0;
      const refY = new Float32Array(y.size), refGx = new Float32Array(xs.length);
      const refGather = new Float32Array(y.size);
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            for (let c = 0; c < C; c++) {
              let best = -1;
              for (let kh = 0; kh < K; kh++) {
                for (let kw = 0; kw < K; kw++) {
                  const ih = oh * S + kh - PT, iw = ow * S + kw - PL;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const i = ((b * H + ih) * W + iw) * C + c;
                  if (best < 0 || xs[i] > xs[best]) best = i;
                }
              }
              const o = ((b * OH + oh) * OW + ow) * C + c;
              refY[o] = xs[best];
              refGx[best] += gys[o];
              refGather[o] = vs[best];
            }
          }
        }
      }
      assertClose(await read(y), refY, `maxPool ${what}`, 1e-6);
      const gx = maxPoolBackward(x, tensor(gys, y.shape), opts);
      assertClose(await read(gx), refGx, `maxPoolBackward ${what}`, 1e-6);
      const gathered = maxPoolGather(x, tensor(vs, shape), opts);
      assertClose(await read(gathered), refGather, `maxPoolGather ${what}`, 1e-6);
    });
  }
});

Deno.test("relu(maxPool(x)) equals maxPool(relu(x)): values, gradients, second order (ties, zeros)", async () => {
  await tidy(async () => {
    // values from {-1, -0.5, 0, 0.5, 1}: windows with ties, all-negative and all-zero windows
    const shape = [2, 6, 6, 3];
    const xh = hashed(7, shape, 1).map((v) => Math.round(v * 2) / 2);
    xh.fill(0, 0, 12); // an all-zero window
    xh.fill(-1, 12 * 6, 12 * 6 + 6); // cells of an all-negative window
    const x = tensor(xh, shape);
    const v = tensor(hashed(8, [2, 3, 3, 3], 1), [2, 3, 3, 3]);
    const u = tensor(hashed(9, shape, 1), shape);
    const orders: [string, (z: Tensor) => Tensor][] = [
      ["maxPool(relu)", (z) => maxPool(relu(z))],
      ["relu(maxPool)", (z) => relu(maxPool(z))],
    ];
    const results: Float32Array[][] = [];
    for (const [, f] of orders) {
      const inner = (z: Tensor, w: Tensor) => sum(mul(w, f(z)));
      const gx = grad(inner, 0)(x, v);
      // d<u, gx>/dv runs the backward of the backward (gather and relu's mask)
      const second = grad((w: Tensor) => sum(mul(u, grad(inner, 0)(x, w))))(v);
      results.push([await read(f(x)), await read(gx), await read(second)]);
    }
    for (let i = 0; i < 3; i++) {
      assert.deepEqual([...results[1][i]], [...results[0][i]], ["value", "gradient", "second"][i]);
    }
  });
});

Deno.test("maxPoolRelu equals relu(maxPool(x)): values, gradients, second order; fused and not", async () => {
  await tidy(async () => {
    // [2,6,6,8] and [1,5,5,4] (the last windows half in the padding) run fused; [2,6,6,3] is
    // the two ops. Values from {-1, -0.5, 0, 0.5, 1}: ties, an all-zero and an all-negative
    // window.
    for (const shape of [[2, 6, 6, 8], [1, 5, 5, 4], [2, 6, 6, 3]]) {
      const [, H, W, C] = shape;
      const xh = hashed(C, shape, 1).map((v) => Math.round(v * 2) / 2);
      for (const [h, w] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        xh.fill(0, (h * W + w) * C, (h * W + w + 1) * C); // window (0, 0): zeros
        xh.fill(-1, ((h + 2) * W + w) * C, ((h + 2) * W + w + 1) * C); // window (1, 0): negative
      }
      const x = tensor(xh, shape);
      const pooled = [shape[0], Math.ceil(H / 2), Math.ceil(W / 2), C];
      const v = tensor(hashed(C + 1, pooled, 1), pooled);
      const u = tensor(hashed(C + 2, shape, 1), shape);
      const results: Float32Array[][] = [];
      for (const f of [(z: Tensor) => relu(maxPool(z)), (z: Tensor) => maxPoolRelu(z)]) {
        const inner = (z: Tensor, w: Tensor) => sum(mul(w, f(z)));
        const gx = grad(inner, 0)(x, v);
        // d<u, gx>/dv: the backward of the backward (the gather with relu's mask)
        const second = grad((w: Tensor) => sum(mul(u, grad(inner, 0)(x, w))))(v);
        results.push([await read(f(x)), await read(gx), await read(second)]);
      }
      for (let i = 0; i < 3; i++) {
        assert.ok(results[0][i].some((a) => a !== 0), `[${shape}] ${i}: not all zero`);
        assert.deepEqual(
          [...results[1][i]],
          [...results[0][i]],
          `[${shape}] ${["value", "gradient", "second order"][i]}`,
        );
      }
    }
  });
});
