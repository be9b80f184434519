/**
 * Neural-network building blocks composed from differentiable ops: the activations and
 * surrogates of the paper's models, per-image standardisation and the losses of docs/spec.md §3.
 * @module
 */

import type { Tensor } from "../tensor.ts";
import {
  add,
  affine,
  clip,
  div,
  log,
  maximum,
  mul,
  neg,
  relu,
  softplus,
  sqrt,
  sub,
} from "./elementwise.ts";
import { max, mean, sum } from "./reduce.ts";
import { full, logSoftmax, oneHot, softmax } from "./rows.ts";

/** The surrogate of leaky ReLU: `alpha·x + (1 − alpha)·softplus(x)`. */
export function leakySoftplus(x: Tensor, alpha = 0.1): Tensor {
  return add(mul(x, alpha), mul(softplus(x), 1 - alpha));
}

/**
 * Per-image standardisation of NHWC images (TensorFlow `per_image_standardization`):
 * `(x − mean) / max(std, 1/sqrt(H·W·C))` with `std = sqrt(max(E[x²] − mean², 0))`.
 */
export function standardize(x: Tensor): Tensor {
  const axes = x.shape.map((_, i) => i).slice(1);
  const n = x.size / x.shape[0];
  const mu = mean(x, axes, true);
  const variance = relu(sub(mean(mul(x, x), axes, true), mul(mu, mu)));
  const std = sqrt(variance);
  const adjusted = maximum(std, full(std.shape, 1 / Math.sqrt(n)));
  return div(sub(x, mu), adjusted);
}

/**
 * Labels as a one-hot float matrix: int32 labels `[B]` are encoded; a float32 `[B, classes]`
 * tensor is taken as already one-hot (it may be a broadcast of labels over path points).
 */
function oneHotLabels(logits: Tensor, labels: Tensor, op: string): Tensor {
  if (logits.rank !== 2) {
    throw new Error(`${op}: logits must be [batch, classes], got [${logits.shape}]`);
  }
  const [b, k] = logits.shape;
  if (labels.dtype === "f32") {
    if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== k) {
      throw new Error(`${op}: one-hot labels must be [${b}, ${k}], got [${labels.shape}]`);
    }
    return labels;
  }
  if (labels.rank !== 1 || labels.shape[0] !== b) {
    throw new Error(`${op}: labels must be int32 [${b}], got [${labels.shape}]`);
  }
  return oneHot(labels, k);
}

/** Per-example softmax cross-entropy (int32 or one-hot labels): `−log softmax(z)[y]`, shape `[B]`. */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const onehot = oneHotLabels(logits, labels, "softmaxCrossEntropy");
  return neg(sum(mul(onehot, logSoftmax(logits)), -1));
}

/** `xent` of docs/spec.md §3: softmax cross-entropy summed over the batch (a scalar). */
export function xent(logits: Tensor, labels: Tensor): Tensor {
  return sum(softmaxCrossEntropy(logits, labels));
}

/** `mean_xent`: softmax cross-entropy averaged over the batch. */
export function meanXent(logits: Tensor, labels: Tensor): Tensor {
  return mean(softmaxCrossEntropy(logits, labels));
}

/**
 * The IG path loss of docs/spec.md §3, per example: `−log(clip(softmax(z)[y], 1e−10, 1))`;
 * the gradient is 0 where the clip is active.
 */
export function igPathLoss(logits: Tensor, labels: Tensor): Tensor {
  const p = sum(mul(oneHotLabels(logits, labels, "igPathLoss"), softmax(logits)), -1);
  return neg(log(clip(p, 1e-10, 1)));
}

/** The Carlini–Wagner loss of docs/spec.md §3: `−Σ relu(z_y − max_{j≠y} z_j + 50)`. */
export function cwLoss(logits: Tensor, labels: Tensor, confidence = 50): Tensor {
  const mask = oneHotLabels(logits, labels, "cwLoss");
  const correct = sum(mul(mask, logits), -1);
  const wrong = max(sub(logits, mul(mask, 1e4)), -1);
  return neg(sum(relu(affine(sub(correct, wrong), 1, confidence))));
}
