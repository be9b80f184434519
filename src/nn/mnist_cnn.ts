/**
 * The MNIST CNN of docs/spec.md §2 (MNIST and Fashion-MNIST).
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { conv2d, dense, maxPool, maxPoolRelu, relu, reshape, softplus } from "../ops/mod.ts";
import type { Activation, Model, Params, ParamSpec } from "./model.ts";

/** Options of {@linkcode mnistCnn}. */
export interface MnistCnnOptions {
  /** Image height and width (default 28). */
  size?: number;
  /** Input channels (default 1). */
  channels?: number;
  /** Classes (default 10). */
  numClasses?: number;
}

/**
 * `conv5x5(1→32)+b → act → maxpool → conv5x5(32→64)+b → act → maxpool → flatten →
 * dense(→1024)+b → act → dense(→10)+b`; `act` is relu or softplus (the surrogate).
 */
export function mnistCnn(options: MnistCnnOptions = {}): Model {
  const size = options.size ?? 28;
  const ch = options.channels ?? 1;
  const classes = options.numClasses ?? 10;
  const s1 = Math.ceil(size / 2), s2 = Math.ceil(s1 / 2);
  const flat = s2 * s2 * 64;
  const tn = { kind: "truncated_normal", std: 0.1 } as const;
  const b01 = { kind: "constant", value: 0.1 } as const;
  const specs: ParamSpec[] = [
    { name: "W_conv1", shape: [5, 5, ch, 32], init: tn, decay: false },
    { name: "b_conv1", shape: [32], init: b01, decay: false },
    { name: "W_conv2", shape: [5, 5, 32, 64], init: tn, decay: false },
    { name: "b_conv2", shape: [64], init: b01, decay: false },
    { name: "W_fc1", shape: [flat, 1024], init: tn, decay: false },
    { name: "b_fc1", shape: [1024], init: b01, decay: false },
    { name: "W_fc2", shape: [1024, classes], init: tn, decay: false },
    { name: "b_fc2", shape: [classes], init: b01, decay: false },
  ];
  return {
    kind: "mnist_cnn",
    inputShape: [size, size, ch],
    numClasses: classes,
    specs,
    logits(p: Params, x: Tensor, activation: Activation = "relu"): Tensor {
      const act = activation === "relu" ? relu : softplus;
      // relu commutes with max-pooling exactly, value and gradient (the first arg-max of the
      // window is the same cell, and relu' is 0 there exactly when the window's max is ≤ 0), so
      // relu runs on the pooled tensor, inside the pooling kernels (maxPoolRelu). softplus keeps
      // the stated order.
      const actPool = (z: Tensor) => activation === "relu" ? maxPoolRelu(z) : maxPool(act(z));
      let h = actPool(conv2d(x, p.W_conv1, { bias: p.b_conv1 }));
      h = actPool(conv2d(h, p.W_conv2, { bias: p.b_conv2 }));
      h = reshape(h, [x.shape[0], flat]);
      h = act(dense(h, p.W_fc1, p.b_fc1));
      return dense(h, p.W_fc2, p.b_fc2);
    },
    weightDecayLoss: () => null,
    footprint: () => ({
      largest: size * size * 32,
      total: size * size * (ch + 2 * 32) + s1 * s1 * (32 + 2 * 64) + s2 * s2 * 64 + 2 * 1024 +
        classes,
    }),
  };
}
