/**
 * The portable convolution kernels (`forward`, `backprop_input`, `backprop_filter` of
 * `shaders/conv2d.wgsl`): plain storage reads, 4 × 4 output blocks per invocation, any geometry.
 * The reference every tuned strategy is tested against.
 * @module
 */

import { runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../tensor.ts";
import { CONV_GY_TEXELS as convWgsl } from "./source.ts";
import { add } from "../elementwise.ts";
import { kernel, launchGroups, output } from "../launch.ts";
import { packParams } from "../schema.ts";
import type { ConvGeo } from "./geometry.ts";
import { CONV_PARAMS } from "./schema.ts";

/** The `Params` words of `shaders/conv2d.wgsl` for a product of M × N (and `B0`). */
export function convWords(g: ConvGeo, M: number, N: number, B0 = 0): Uint32Array {
  const { B, H, W, C, OH, OW, O, S, KH, KW, PT, PL } = g;
  const geo = { B, H, W, C, OH, OW, O, S, KH, KW, PT, PL };
  return packParams(CONV_PARAMS, { ...geo, M, N, tiles_n: Math.ceil(N / 32), B0 }, "conv2d");
}

/** One launch of a direct kernel over 32 × 32 tiles of its M × N product. */
function run(
  entry: "forward" | "backprop_input" | "backprop_filter",
  a: Tensor,
  b: Tensor,
  outShape: number[],
  g: ConvGeo,
  M: number,
  N: number,
  B0 = 0,
  bias?: Tensor,
): Tensor {
  const out = output(outShape, `conv2d_${entry}`);
  if (out.size === 0) return out;
  const fwd = entry === "forward";
  const k = kernel({
    name: `conv2d_${entry}`,
    code: convWgsl,
    entry,
    inputs: fwd ? 3 : 2,
    outputs: 1,
    constants: fwd ? { BIAS: bias ? 1 : 0 } : undefined,
  });
  launchGroups(
    k,
    fwd ? [a.buffer, b.buffer, (bias ?? a).buffer, out.buffer] : [a.buffer, b.buffer, out.buffer],
    convWords(g, M, N, B0),
    Math.ceil(M / 32) * Math.ceil(N / 32),
  );
  return out;
}

/** `conv2d` by the direct `forward` kernel. */
export function directForward(x: Tensor, w: Tensor, g: ConvGeo, bias?: Tensor): Tensor {
  return run("forward", x, w, [g.B, g.OH, g.OW, g.O], g, g.B * g.OH * g.OW, g.O, 0, bias);
}

/** `conv2dBackpropInput` by the direct `backprop_input` kernel. */
export function directInput(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  g: ConvGeo,
): Tensor {
  return run("backprop_input", gy, w, [...xShape], g, g.B * g.H * g.W, g.C);
}

/**
 * Most loop iterations a `backprop_filter` invocation runs (a margin under llvmpipe's limit, or
 * the device's loop limit where lower): larger batches are split into batch ranges whose partial
 * gradients are added.
 */
function filterBudget(): number {
  return Math.min(60000, runtime().profile.loopLimit);
}

/** `conv2dBackpropFilter` by the direct `backprop_filter` kernel, in batch ranges. */
export function directFilter(
  x: Tensor,
  gy: Tensor,
  wShape: readonly number[],
  g: ConvGeo,
): Tensor {
  const M = g.KH * g.KW * g.C;
  const perImage = g.OH * g.OW + g.OH + 1;
  const step = Math.max(1, Math.floor(filterBudget() / perImage));
  let total: Tensor | null = null;
  for (let b0 = 0; b0 === 0 || b0 < g.B; b0 += step) {
    const B = Math.min(g.B, b0 + step);
    const part = run("backprop_filter", x, gy, [...wShape], { ...g, B }, M, g.O, b0);
    if (!total) total = part;
    else {
      const sum = add(total, part);
      total.dispose();
      part.dispose();
      total = sum;
    }
  }
  return total!;
}
