/**
 * The integrated-gradients regulariser of docs/spec.md §4 and its gradients, with the path points
 * processed in memory-bounded chunks.
 *
 * `IG = (x' − x) ⊙ (1/m) Σ_k g_k`, `g_k = ∂/∂z_k Σ pathloss(net(z_k), y)`,
 * `z_k = x + (k/m)(x' − x)`, `IG_term = ‖IG‖₁`. The approximate form keeps the `k` divisible
 * by `approx_factor` and divides by `m/approx_factor`.
 * @module
 */

import { noGrad } from "../autograd/tape.ts";
import { grad, valueAndGrad } from "../autograd/grad.ts";
import { runtime } from "../gpu/runtime.ts";
import { type Tensor, tidy } from "../tensor.ts";
import {
  abs,
  add,
  igPathLoss,
  mul,
  oneHot,
  pad,
  reshape,
  sign,
  slice,
  sub,
  sum,
} from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { pathPoints, repeatRows } from "../attribution/path.ts";
import { type ChunkPlan, planChunks } from "./planner.ts";

/** Path settings: `m` steps and the `approx_factor` (1 for the exact term). */
export interface PathConfig {
  /** Number of path steps `m`. */
  m: number;
  /** Keep only steps divisible by this factor (default 1). */
  approxFactor?: number;
}

/** Memory settings for the path points. */
export interface ChunkOptions {
  /** Memory budget in bytes for one chunk of path points. */
  memoryBudgetBytes?: number;
  /** Force at most this many path points per chunk. */
  maxChunkPoints?: number;
}

/** The path coefficients `k/m` used and the divisor of docs/spec.md §4. */
export function pathCoefficients(cfg: PathConfig): { alphas: number[]; divisor: number } {
  const m = cfg.m;
  const af = cfg.approxFactor ?? 1;
  if (!Number.isInteger(m) || m < 1) throw new Error(`m must be a positive integer, got ${m}`);
  if (!Number.isInteger(af) || af < 1 || af > m) {
    throw new Error(`approx_factor must be an integer in [1, m=${m}], got ${af}`);
  }
  const alphas: number[] = [];
  for (let k = af; k <= m; k += af) alphas.push(k / m);
  return { alphas, divisor: m / af };
}

/** A classifier as a function of its parameters and a batch of images. */
export type LogitsFn = (params: Params, x: Tensor) => Tensor;

/**
 * `Σ_k g_k` over the coefficients `alphas` for images `b0..b1`, as `[ka, nb, H, W, C]`
 * (`g_k` per coefficient) — differentiable when called inside a gradient.
 */
function pathGradients(
  net: LogitsFn,
  params: Params,
  x: Tensor,
  xadv: Tensor,
  onehot: Tensor,
  alphas: number[],
  b0: number,
  b1: number,
): Tensor {
  const [B, ...img] = x.shape;
  const nb = b1 - b0, ka = alphas.length;
  const xs = b0 === 0 && b1 === B ? x : slice(x, [b0, 0, 0, 0], [nb, ...img]);
  const xa = b0 === 0 && b1 === B ? xadv : slice(xadv, [b0, 0, 0, 0], [nb, ...img]);
  const y = b0 === 0 && b1 === B ? onehot : slice(onehot, [b0, 0], [nb, -1]);
  const z = pathPoints(xs, xa, alphas);
  const yz = repeatRows(y, ka);
  const g = grad((zz: Tensor) => sum(igPathLoss(net(params, zz), yz)))(z);
  return reshape(g, [ka, nb, ...img]);
}

/**
 * `IG_term` as one differentiable expression over all path points at once (no chunking):
 * differentiate it with `grad` for second-order gradients w.r.t. parameters or `xadv`.
 */
export function igTerm(
  net: LogitsFn,
  params: Params,
  x: Tensor,
  xadv: Tensor,
  labels: Tensor,
  cfg: PathConfig,
): Tensor {
  return sum(abs(integratedGradients(net, params, x, xadv, labels, cfg)));
}

/** The IG tensor `(x' − x) ⊙ (1/m) Σ_k g_k` of docs/spec.md §4 (all path points at once). */
export function integratedGradients(
  net: LogitsFn,
  params: Params,
  x: Tensor,
  xadv: Tensor,
  labels: Tensor,
  cfg: PathConfig,
): Tensor {
  const { alphas, divisor } = pathCoefficients(cfg);
  const onehot = labelsOneHot(labels, net, params, x);
  const g = sum(pathGradients(net, params, x, xadv, onehot, alphas, 0, x.shape[0]), 0);
  return mul(sub(xadv, x), mul(g, 1 / divisor));
}

function labelsOneHot(labels: Tensor, net: LogitsFn, params: Params, x: Tensor): Tensor {
  if (labels.dtype === "f32") return labels;
  // the class count comes from the network's output on one image
  const k = noGrad(() => tidy(() => net(params, slice(x, [0, 0, 0, 0], [1, -1, -1, -1])).shape[1]));
  return oneHot(labels, k);
}

/** What {@linkcode igTermWithGrad} differentiates. */
export interface IgWrt {
  /** Gradient w.r.t. every parameter. */
  params?: boolean;
  /** Gradient w.r.t. the perturbed input `xadv`. */
  xadv?: boolean;
}

/** The regulariser's value and requested gradients. */
export interface IgResult {
  /** `IG_term` (a scalar). */
  value: Tensor;
  /** `∂IG_term/∂θ` per parameter, when requested. */
  params?: Params;
  /** `∂IG_term/∂x'`, when requested. */
  xadv?: Tensor;
  /** The chunk plan that was used. */
  plan: ChunkPlan;
}

/**
 * `IG_term` and its gradients (second order) with the path points in chunks planned from the
 * device limits and the memory budget. With one chunk the term is differentiated directly;
 * with several, a first pass without a graph computes `s = sign(IG)` and the value, and a
 * second pass adds up `∂/∂(θ, x') ⟨s ⊙ (x' − x)/divisor, g_k⟩` chunk by chunk (docs/spec.md §4):
 * the same gradient, with memory bounded by one chunk.
 */
export function igTermWithGrad(
  model: Model,
  params: Params,
  x: Tensor,
  xadv: Tensor,
  labels: Tensor,
  cfg: PathConfig,
  wrt: IgWrt,
  options: ChunkOptions = {},
): IgResult {
  const net: LogitsFn = (p, z) => model.logits(p, z);
  const { alphas, divisor } = pathCoefficients(cfg);
  const B = x.shape[0];
  const plan = planChunks(model, B, alphas.length, {
    maxTensorBytes: runtime().maxTensorBytes,
    memoryBudgetBytes: options.memoryBudgetBytes,
    maxChunkPoints: options.maxChunkPoints,
  });
  const onehot = oneHot(labels, model.numClasses);
  type Arg = { params?: Params; xadv?: Tensor };
  const arg: Arg = {};
  if (wrt.params) arg.params = params;
  if (wrt.xadv) arg.xadv = xadv;
  const unpack = (a: Arg) => ({ p: a.params ?? params, xa: a.xadv ?? xadv });

  if (plan.chunks.length === 1) {
    const { value, grads } = valueAndGrad<[Arg], Arg>((a: Arg) => {
      const { p, xa } = unpack(a);
      return igTerm(net, p, x, xa, onehot, cfg);
    })(arg);
    onehot.dispose();
    return { value, params: grads.params, xadv: grads.xadv, plan };
  }

  // pass 1: Σ_k g_k for every image, without a graph
  const gsum = tidy(() => {
    let acc: Tensor | null = null;
    for (const c of plan.chunks) {
      const part = tidy(() => {
        const g = sum(
          pathGradients(
            net,
            params,
            x,
            xadv,
            onehot,
            c.alphaIndex.map((i) => alphas[i]),
            c.b0,
            c.b1,
          ),
          0,
        );
        return c.b0 === 0 && c.b1 === B ? g : pad(g, [c.b0, 0, 0, 0], [B - c.b1, 0, 0, 0]);
      });
      const next: Tensor = acc ? add(acc, part) : part;
      if (acc) {
        acc.dispose();
        part.dispose();
      }
      acc = next;
    }
    return acc!;
  });
  const { s, value } = tidy(() => {
    const ig = mul(sub(xadv, x), mul(gsum, 1 / divisor));
    return { s: sign(ig), value: sum(abs(ig)) };
  });
  gsum.dispose();

  // pass 2: gradients of ⟨s ⊙ (x' − x)/divisor, g_k⟩, chunk by chunk
  let gParams: Params | undefined;
  let gX: Tensor | undefined;
  for (const c of plan.chunks) {
    const grads = valueAndGrad<[Arg], Arg>((a: Arg) => {
      const { p, xa } = unpack(a);
      const nb = c.b1 - c.b0;
      const whole = c.b0 === 0 && c.b1 === B;
      const sl = (t: Tensor) => (whole ? t : slice(t, [c.b0, 0, 0, 0], [nb, -1, -1, -1]));
      const coef = mul(mul(sl(s), sub(sl(xa), sl(x))), 1 / divisor);
      const g = pathGradients(
        net,
        p,
        x,
        xa,
        onehot,
        c.alphaIndex.map((i) => alphas[i]),
        c.b0,
        c.b1,
      );
      return sum(mul(reshape(coef, [1, ...coef.shape]), g));
    })(arg);
    grads.value.dispose();
    if (grads.grads.params) gParams = accumulate(gParams, grads.grads.params);
    if (grads.grads.xadv) gX = gX ? swapAdd(gX, grads.grads.xadv) : grads.grads.xadv;
  }
  s.dispose();
  onehot.dispose();
  return { value, params: gParams, xadv: gX, plan };
}

function swapAdd(a: Tensor, b: Tensor): Tensor {
  const r = add(a, b);
  a.dispose();
  b.dispose();
  return r;
}

/** Adds gradient records in place of the old ones (old tensors are released). */
export function accumulate(acc: Params | undefined, g: Params): Params {
  if (!acc) return g;
  const out: Params = {};
  for (const k of Object.keys(g)) out[k] = swapAdd(acc[k], g[k]);
  return out;
}
