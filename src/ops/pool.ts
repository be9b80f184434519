/**
 * Pooling: max-pool (with its backward and the backward of that backward) and average pool.
 * Kernel: `shaders/pool.wgsl`.
 * @module
 */

import poolWgsl from "../../shaders/pool.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { convGeometry, type Padding } from "./conv.ts";
import { relu } from "./elementwise.ts";
import { expectDType, expectRank, kernel, launch, launchTexels, output, Params } from "./launch.ts";

/** Options of the pooling ops. */
export interface PoolOptions {
  /** Window size (default 2). */
  size?: number;
  /** Stride (default: the window size). */
  stride?: number;
  /** `SAME` or `VALID` (max-pool default `SAME`, average pool default `VALID`). */
  padding?: Padding;
}

interface PoolGeo {
  shape: number[];
  /** Four channels per invocation (C % 4 = 0): the `…4` entry points and their suffix. */
  v4: "" | "4";
  /** The window size, also a pipeline constant of the kernels. */
  K: number;
  tiles: boolean;
  /** Parameter words for `n` invocations; `ts`: log2 of the texel width of XT and VT. */
  params: (n: number, ts?: number) => Params;
}

function geo(x: readonly number[], o: PoolOptions, defPad: Padding, op: string): PoolGeo {
  if (x.length !== 4) throw new Error(`${op}: input must be NHWC (rank 4), got [${x}]`);
  const K = o.size ?? 2;
  const S = o.stride ?? K;
  const pad = o.padding ?? defPad;
  const [B, H, W, C] = x;
  const gh = convGeometry(H, K, S, pad);
  const gw = convGeometry(W, K, S, pad);
  return {
    shape: [B, gh.out, gw.out, C],
    // windows side by side covering every input cell exactly once
    tiles: K === S && gh.out * S - gh.before >= H && gw.out * S - gw.before >= W,
    K,
    v4: C % 4 === 0 ? "4" : "",
    params: (n, ts = 0) =>
      new Params().u32(B, H, W, C, gh.out, gw.out, K, S, gh.before, gw.before, n, ts),
  };
}

/**
 * Launches pooling kernel `entry` over `n` elements: one invocation each, or one per four
 * channels in its `…4` form where `four` and the channel count allow it. `ts`: the inputs, then
 * the output. `relu`: the max-pool entry with relu fused (RELU; `…4` forms only). The `…4` forms
 * of the max-pool read x, and the gather also v, from texel copies (see `shaders/pool.wgsl`).
 */
function launchPool(
  g: PoolGeo,
  name: string,
  entry: string,
  ts: Tensor[],
  n: number,
  four = false,
  relu = false,
): void {
  const v4 = four ? g.v4 : "";
  const count = v4 ? n / 4 : n;
  const label = relu ? name.replace("maxpool_", "maxpool_relu_") : name;
  const constants: Record<string, number> = relu ? { K: g.K, RELU: 1 } : { K: g.K };
  // inputs read as texels: x, and v of the gather
  const textured = v4 && name.startsWith("maxpool_")
    ? ts.slice(0, name === "maxpool_gather" ? 2 : 1)
    : [];
  const k = kernel({
    name: `${label}${v4}`,
    code: poolWgsl,
    entry: `${entry}${v4}`,
    inputs: ts.length - 1,
    outputs: 1,
    constants,
    textures: textured.length,
  });
  const buffers = ts.map((t) => t.buffer);
  if (!textured.length) launch(k, buffers, g.params(count), count);
  else {
    // x and v have one shape
    const bytes = textured[0].size * 4;
    launchTexels(
      k,
      buffers,
      textured.map((t) => t.buffer),
      bytes,
      (s) => g.params(count, s),
      count,
    );
  }
}

/** Max-pool (window 2, stride 2, SAME by default); padded cells never win. */
export function maxPool(x: Tensor, options: PoolOptions = {}): Tensor {
  expectDType(x, "f32", "maxPool");
  const g = geo(x.shape, options, "SAME", "maxPool");
  const y = output(g.shape, "maxPool");
  launchPool(g, "maxpool_forward", "max_forward", [x, y], y.size, true);
  return record(y, "maxPool", [x], (gy) => [maxPoolBackward(x, gy, options)]);
}

/**
 * Backward of max-pool: routes `gy` to the first arg-max of each window of `x`.
 * Linear in gy (its gradient is {@linkcode maxPoolGather}); piecewise constant in x.
 */
export function maxPoolBackward(x: Tensor, gy: Tensor, options: PoolOptions = {}): Tensor {
  return routeMax(x, gy, options, false);
}

/**
 * Picks `v` at the first arg-max of each window of `x` (shape of the pooled output).
 * Linear in v (its gradient is {@linkcode maxPoolBackward}); piecewise constant in x.
 */
export function maxPoolGather(x: Tensor, v: Tensor, options: PoolOptions = {}): Tensor {
  return pickMax(x, v, options, false);
}

/**
 * `relu(maxPool(x))`, equal in value and in gradients of every order. Where the channels come in
 * fours and the windows tile the input (the MNIST CNN's pools), it runs as one pass, and so do
 * its backward and the backward of that (relu's mask is the window maximum > 0, which the
 * max-pool kernels find anyway); otherwise it is the two ops.
 */
export function maxPoolRelu(x: Tensor, options: PoolOptions = {}): Tensor {
  expectDType(x, "f32", "maxPoolRelu");
  const g = geo(x.shape, options, "SAME", "maxPoolRelu");
  if (!fused(g)) return relu(maxPool(x, options));
  const y = output(g.shape, "maxPoolRelu");
  launchPool(g, "maxpool_forward", "max_forward", [x, y], y.size, true, true);
  return record(y, "maxPoolRelu", [x], (gy) => [maxPoolReluBackward(x, gy, options)]);
}

/**
 * Backward of {@linkcode maxPoolRelu}: `gy` routed to the first arg-max of each window whose
 * maximum is > 0. Linear in gy (its gradient is {@linkcode maxPoolReluGather}).
 */
export function maxPoolReluBackward(x: Tensor, gy: Tensor, options: PoolOptions = {}): Tensor {
  return routeMax(x, gy, options, true);
}

/**
 * `v` at the first arg-max of each window of `x` whose maximum is > 0, else 0 (shape of the
 * pooled output). Linear in v (its gradient is {@linkcode maxPoolReluBackward}).
 */
export function maxPoolReluGather(x: Tensor, v: Tensor, options: PoolOptions = {}): Tensor {
  return pickMax(x, v, options, true);
}

/** Whether the fused relu forms apply: four channels per invocation and tiling windows. */
function fused(g: PoolGeo): boolean {
  return g.v4 === "4" && g.tiles;
}

/** The pooling geometry for `op`; with `relu`, only where the fused forms apply. */
function maxGeo(x: Tensor, options: PoolOptions, op: string, relu: boolean): PoolGeo {
  const g = geo(x.shape, options, "SAME", op);
  if (relu && !fused(g)) throw new Error(`${op}: needs C % 4 = 0 and windows that tile x`);
  return g;
}

/** {@linkcode maxPoolBackward}, or with `relu` {@linkcode maxPoolReluBackward}. */
function routeMax(x: Tensor, gy: Tensor, options: PoolOptions, relu: boolean): Tensor {
  const op = relu ? "maxPoolReluBackward" : "maxPoolBackward";
  const g = maxGeo(x, options, op, relu);
  expectRank(gy, 4, op, "gy");
  if (gy.shape.some((d, i) => d !== g.shape[i])) {
    throw new Error(`${op}: gy has shape [${gy.shape}], expected [${g.shape}]`);
  }
  const gx = output(x.shape, op);
  if (g.tiles) {
    launchPool(g, "maxpool_backward_tiled", "max_backward_tiled", [x, gy, gx], gy.size, true, relu);
  } else {
    launchPool(g, "maxpool_backward", "max_backward", [x, gy, gx], gx.size);
  }
  return record(gx, op, [x, gy], (G, needs) => [
    null,
    needs[1] ? pickMax(x, G, options, relu) : null,
  ]);
}

/** {@linkcode maxPoolGather}, or with `relu` {@linkcode maxPoolReluGather}. */
function pickMax(x: Tensor, v: Tensor, options: PoolOptions, relu: boolean): Tensor {
  const op = relu ? "maxPoolReluGather" : "maxPoolGather";
  const g = maxGeo(x, options, op, relu);
  if (v.shape.some((d, i) => d !== x.shape[i]) || v.rank !== 4) {
    throw new Error(`${op}: v has shape [${v.shape}], expected [${x.shape}]`);
  }
  const y = output(g.shape, op);
  launchPool(g, "maxpool_gather", "max_gather", [x, v, y], y.size, true, relu);
  return record(y, op, [x, v], (G, needs) => [
    null,
    needs[1] ? routeMax(x, G, options, relu) : null,
  ]);
}

/** Average pool (window 2, stride 2, VALID by default; SAME averages the cells inside). */
export function avgPool(x: Tensor, options: PoolOptions = {}): Tensor {
  expectDType(x, "f32", "avgPool");
  const g = geo(x.shape, options, "VALID", "avgPool");
  const y = output(g.shape, "avgPool");
  launchPool(g, "avgpool_forward", "avg_forward", [x, y], y.size);
  return record(y, "avgPool", [x], (gy) => [avgPoolBackward(gy, x.shape, options)]);
}

/** Backward of {@linkcode avgPool} (linear; its gradient is the average pool again). */
export function avgPoolBackward(
  gy: Tensor,
  xShape: readonly number[],
  options: PoolOptions = {},
): Tensor {
  const g = geo(xShape, options, "VALID", "avgPoolBackward");
  if (gy.rank !== 4 || gy.shape.some((d, i) => d !== g.shape[i])) {
    throw new Error(`avgPoolBackward: gy has shape [${gy.shape}], expected [${g.shape}]`);
  }
  const gx = output(xShape, "avgPoolBackward");
  launchPool(g, "avgpool_backward", "avg_backward", [gy, gx], gx.size);
  return record(gx, "avgPoolBackward", [gy], (G) => [avgPool(G, options)]);
}
