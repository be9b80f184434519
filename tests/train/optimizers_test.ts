/**
 * The optimisers' update rules (docs/spec.md §6) against a host computation in float64: Adam in
 * its TensorFlow 1 form and momentum with a piecewise-constant learning rate, over three steps, on
 * tensors whose sizes are not multiples of 4 (the kernels update four parameters at a time) and
 * one large enough to span many rows of the kernels' texel copies.
 */
import { assertClose, read, setup } from "../helpers.ts";
import { hashed, tensor } from "../../mod.ts";
import { adam, momentum } from "../../src/train/optimizers.ts";
import type { Params } from "../../src/nn/model.ts";

await setup();

const SHAPES: Record<string, number[]> = { a: [5], b: [3, 700], c: [2, 2] };

/** Host parameters and three steps of gradients per tensor. */
function data(): { theta: Record<string, Float64Array>; grads: Record<string, Float64Array>[] } {
  const theta: Record<string, Float64Array> = {};
  const grads: Record<string, Float64Array>[] = [{}, {}, {}];
  let seed = 10;
  for (const [name, shape] of Object.entries(SHAPES)) {
    theta[name] = Float64Array.from(hashed(seed++, shape, 1));
    for (const g of grads) g[name] = Float64Array.from(hashed(seed++, shape, 0.5));
  }
  return { theta, grads };
}

function upload(h: Record<string, Float64Array>): Params {
  const p: Params = {};
  for (const [name, shape] of Object.entries(SHAPES)) {
    p[name] = tensor(Float32Array.from(h[name]), shape);
  }
  return p;
}

async function compare(p: Params, want: Record<string, Float64Array>, what: string) {
  for (const name of Object.keys(SHAPES)) {
    assertClose(await read(p[name]), want[name], `${what}: ${name}`, 1e-5);
  }
}

Deno.test("adam: three steps equal the TensorFlow 1 update computed on the host", async () => {
  const { theta, grads } = data();
  const lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const params = upload(theta);
  const opt = adam(params, { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps });
  const m: Record<string, Float64Array> = {}, v: Record<string, Float64Array> = {};
  for (const name of Object.keys(SHAPES)) {
    m[name] = new Float64Array(theta[name].length);
    v[name] = new Float64Array(theta[name].length);
  }
  for (let t = 1; t <= 3; t++) {
    const g = grads[t - 1];
    opt.update(params, upload(g));
    const lrT = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
    for (const name of Object.keys(SHAPES)) {
      for (let i = 0; i < theta[name].length; i++) {
        m[name][i] = b1 * m[name][i] + (1 - b1) * g[name][i];
        v[name][i] = b2 * v[name][i] + (1 - b2) * g[name][i] ** 2;
        theta[name][i] -= lrT * m[name][i] / (Math.sqrt(v[name][i]) + eps);
      }
    }
    await compare(params, theta, `adam step ${t}`);
  }
  const st = opt.state();
  for (const name of Object.keys(SHAPES)) {
    assertClose(await read(st[`adam_m:${name}`]), m[name], `adam_m:${name}`, 1e-5);
    assertClose(await read(st[`adam_v:${name}`]), v[name], `adam_v:${name}`, 1e-5);
  }
});

Deno.test("momentum: three steps across a learning-rate boundary equal the host", async () => {
  const { theta, grads } = data();
  const mu = 0.9;
  const schedule: [number, number][] = [[0, 0.1], [1, 0.01]];
  const params = upload(theta);
  const opt = momentum(params, { schedule, momentum: mu });
  const acc: Record<string, Float64Array> = {};
  for (const name of Object.keys(SHAPES)) acc[name] = new Float64Array(theta[name].length);
  for (let step = 0; step < 3; step++) {
    const g = grads[step];
    opt.update(params, upload(g));
    const lr = step > 1 ? 0.01 : 0.1; // the rate changes after step 1 (TF piecewise_constant)
    for (const name of Object.keys(SHAPES)) {
      for (let i = 0; i < theta[name].length; i++) {
        acc[name][i] = mu * acc[name][i] + g[name][i];
        theta[name][i] -= lr * acc[name][i];
      }
    }
    await compare(params, theta, `momentum step ${step + 1}`);
  }
});
