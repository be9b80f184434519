/**
 * Pooling: max-pool (with its backward and the backward of that backward) and average pool.
 * Kernel: `shaders/pool.wgsl`.
 * @module
 */

import poolWgsl from "../../shaders/pool.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { convGeometry, type Padding } from "./conv.ts";
import { expectDType, expectRank, kernel, launch, output, Params } from "./launch.ts";

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
  params: (n: number) => Params;
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
    params: (n) => new Params().u32(B, H, W, C, gh.out, gw.out, K, S, gh.before, gw.before, n, 0),
  };
}

/** Max-pool (window 2, stride 2, SAME by default); padded cells never win. */
export function maxPool(x: Tensor, options: PoolOptions = {}): Tensor {
  expectDType(x, "f32", "maxPool");
  const g = geo(x.shape, options, "SAME", "maxPool");
  const y = output(g.shape, "maxPool");
  const n = g.v4 ? y.size / 4 : y.size;
  launch(
    kernel(`maxpool_forward${g.v4}`, poolWgsl, `max_forward${g.v4}`, 1, 1, { K: g.K }),
    [x.buffer, y.buffer],
    g.params(n),
    n,
  );
  return record(y, "maxPool", [x], (gy) => [maxPoolBackward(x, gy, options)]);
}

/**
 * Backward of max-pool: routes `gy` to the first arg-max of each window of `x`.
 * Linear in gy (its gradient is {@linkcode maxPoolGather}); piecewise constant in x.
 */
export function maxPoolBackward(x: Tensor, gy: Tensor, options: PoolOptions = {}): Tensor {
  const g = geo(x.shape, options, "SAME", "maxPoolBackward");
  expectRank(gy, 4, "maxPoolBackward", "gy");
  if (gy.shape.some((d, i) => d !== g.shape[i])) {
    throw new Error(`maxPoolBackward: gy has shape [${gy.shape}], expected [${g.shape}]`);
  }
  const gx = output(x.shape, "maxPoolBackward");
  if (g.tiles) {
    const n = g.v4 ? gy.size / 4 : gy.size;
    launch(
      kernel(`maxpool_backward_tiled${g.v4}`, poolWgsl, `max_backward_tiled${g.v4}`, 2, 1, {
        K: g.K,
      }),
      [x.buffer, gy.buffer, gx.buffer],
      g.params(n),
      n,
    );
  } else {
    launch(
      kernel("maxpool_backward", poolWgsl, "max_backward", 2, 1, { K: g.K }),
      [x.buffer, gy.buffer, gx.buffer],
      g.params(gx.size),
      gx.size,
    );
  }
  return record(gx, "maxPoolBackward", [x, gy], (G, needs) => [
    null,
    needs[1] ? maxPoolGather(x, G, options) : null,
  ]);
}

/**
 * Picks `v` at the first arg-max of each window of `x` (shape of the pooled output).
 * Linear in v (its gradient is {@linkcode maxPoolBackward}); piecewise constant in x.
 */
export function maxPoolGather(x: Tensor, v: Tensor, options: PoolOptions = {}): Tensor {
  const g = geo(x.shape, options, "SAME", "maxPoolGather");
  if (v.shape.some((d, i) => d !== x.shape[i]) || v.rank !== 4) {
    throw new Error(`maxPoolGather: v has shape [${v.shape}], expected [${x.shape}]`);
  }
  const y = output(g.shape, "maxPoolGather");
  const n = g.v4 ? y.size / 4 : y.size;
  launch(
    kernel(`maxpool_gather${g.v4}`, poolWgsl, `max_gather${g.v4}`, 2, 1, { K: g.K }),
    [x.buffer, v.buffer, y.buffer],
    g.params(n),
    n,
  );
  return record(y, "maxPoolGather", [x, v], (G, needs) => [
    null,
    needs[1] ? maxPoolBackward(x, G, options) : null,
  ]);
}

/** Average pool (window 2, stride 2, VALID by default; SAME averages the cells inside). */
export function avgPool(x: Tensor, options: PoolOptions = {}): Tensor {
  expectDType(x, "f32", "avgPool");
  const g = geo(x.shape, options, "VALID", "avgPool");
  const y = output(g.shape, "avgPool");
  launch(
    kernel("avgpool_forward", poolWgsl, "avg_forward", 1, 1, { K: g.K }),
    [x.buffer, y.buffer],
    g.params(y.size),
    y.size,
  );
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
  launch(
    kernel("avgpool_backward", poolWgsl, "avg_backward", 1, 1, { K: g.K }),
    [gy.buffer, gx.buffer],
    g.params(gx.size),
    gx.size,
  );
  return record(gx, "avgPoolBackward", [gy], (G) => [avgPool(G, options)]);
}
