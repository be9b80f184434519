/**
 * Saliency maps of docs/spec.md §7: integrated gradients with a zero reference, and simple gradients.
 * Both are differentiable in the input, which the attribution attacks use (second order).
 * @module
 */

import { grad } from "../autograd/grad.ts";
import type { Tensor } from "../tensor.ts";
import { pathPoints, repeatRows } from "./path.ts";
import { abs, add, div, mul, oneHot, reshape, sum } from "../ops/mod.ts";
import type { Activation, Model, Params } from "../nn/model.ts";
import { SALIENCY_TYPES, type SaliencyType } from "../vocabulary.ts";

/** Options of the saliency functions. */
export interface SaliencyOptions {
  /** Network or surrogate (default `relu`). */
  activation?: Activation;
  /** `num_IG_steps` (default 100). */
  steps?: number;
  /** At most this many counterfactuals per image at once (default: all). */
  stepsPerChunk?: number;
}

/** `Σ_b logit_{c_b}(x_b)` as a function of `x`, for int32 or one-hot labels. */
function labelLogitSum(
  model: Model,
  params: Params,
  x: Tensor,
  onehot: Tensor,
  act: Activation,
): Tensor {
  return sum(mul(model.logits(params, x, act), onehot));
}

function toOneHot(model: Model, labels: Tensor): Tensor {
  return labels.dtype === "i32" ? oneHot(labels, model.numClasses) : labels;
}

/**
 * The integrated-gradients tensor `ḡ ⊙ x` for images `x [B,H,W,C]` and labels `[B]`:
 * `ḡ = mean_i ∂logit_c(x_i)/∂x_i` over `x_i = (i/n)·x`, `i = 1..n` (docs/spec.md §7).
 */
export function integratedGradientsZero(
  model: Model,
  params: Params,
  x: Tensor,
  labels: Tensor,
  options: SaliencyOptions = {},
): Tensor {
  const n = options.steps ?? 100;
  const act = options.activation ?? "relu";
  const per = Math.max(1, Math.min(options.stepsPerChunk ?? n, n));
  const [B, ...img] = x.shape;
  const onehot = toOneHot(model, labels);
  let acc: Tensor | null = null;
  for (let i0 = 1; i0 <= n; i0 += per) {
    const ks: number[] = [];
    for (let i = i0; i < Math.min(i0 + per, n + 1); i++) ks.push(i / n);
    const z = pathPoints(null, x, ks);
    const yz = repeatRows(onehot, ks.length);
    const g = grad((zz: Tensor) => labelLogitSum(model, params, zz, yz, act))(z);
    const part = sum(reshape(g, [ks.length, B, ...img]), 0);
    acc = acc ? add(acc, part) : part;
  }
  return mul(mul(acc!, 1 / n), x);
}

/** `∂logit_c/∂x` for images `x` and labels. */
export function simpleGradient(
  model: Model,
  params: Params,
  x: Tensor,
  labels: Tensor,
  options: SaliencyOptions = {},
): Tensor {
  const onehot = toOneHot(model, labels);
  return grad((xx: Tensor) =>
    labelLogitSum(model, params, xx, onehot, options.activation ?? "relu")
  )(x);
}

/**
 * A saliency map `[B, H, W]`: `s = Σ_channels |attribution|`, normalised to sum to `H·W`
 * per image (docs/spec.md §7).
 */
export function saliencyMap(
  model: Model,
  params: Params,
  x: Tensor,
  labels: Tensor,
  type: SaliencyType,
  options: SaliencyOptions = {},
): Tensor {
  const attribution = type === "ig"
    ? integratedGradientsZero(model, params, x, labels, options)
    : type === "simple_gradient"
    ? simpleGradient(model, params, x, labels, options)
    : (() => {
      throw new Error(
        `saliency_type must be ${SALIENCY_TYPES.map((t) => JSON.stringify(t)).join(" or ")}, ` +
          `got ${JSON.stringify(type)}`,
      );
    })();
  const [, H, W] = x.shape;
  const s = sum(abs(attribution), -1);
  return mul(div(s, sum(s, [1, 2], true)), H * W);
}
