/**
 * The ResNet of docs/spec.md §2 (GTSRB 32×32×3 / 43 classes, Flower 128×128×3 / 17 classes).
 * @module
 */

import type { Tensor } from "../tensor.ts";
import {
  add,
  avgPool,
  conv2d,
  dense,
  leakyRelu,
  leakySoftplus,
  mean,
  mul,
  padChannels,
  square,
  standardize,
  sum,
} from "../ops/mod.ts";
import type { Activation, Model, Params, ParamSpec } from "./model.ts";

/** Options of {@linkcode resnet}. */
export interface ResnetOptions {
  /** Image height and width (32 for GTSRB, 128 for Flower). */
  size: number;
  /** Classes (43 for GTSRB, 17 for Flower). */
  numClasses: number;
  /** Input channels (default 3). */
  channels?: number;
}

const UNITS: [string, number, number, number, boolean][] = [
  ["unit_1_0", 16, 16, 1, true],
  ["unit_1_1", 16, 16, 1, false],
  ["unit_2_0", 16, 32, 2, false],
  ["unit_2_1", 32, 32, 1, false],
  ["unit_3_0", 32, 64, 2, false],
  ["unit_3_1", 64, 64, 1, false],
];

/**
 * Per-image standardisation, a 3×3 stem, six residual units without batch normalisation,
 * global average pooling and a dense layer. The activation is leaky ReLU (0.1) or its
 * surrogate `0.1·x + 0.9·softplus(x)`.
 */
export function resnet(options: ResnetOptions): Model {
  const { size, numClasses } = options;
  const ch = options.channels ?? 3;
  const he = (k: number, out: number) =>
    ({ kind: "normal", std: Math.sqrt(2 / (k * k * out)) }) as const;
  const specs: ParamSpec[] = [
    { name: "init_conv/DW", shape: [3, 3, ch, 16], init: he(3, 16), decay: true },
  ];
  for (const [name, inC, outC] of UNITS) {
    specs.push(
      { name: `${name}/sub1/conv1/DW`, shape: [3, 3, inC, outC], init: he(3, outC), decay: true },
      { name: `${name}/sub2/conv2/DW`, shape: [3, 3, outC, outC], init: he(3, outC), decay: true },
    );
  }
  specs.push(
    {
      name: "logit/DW",
      shape: [64, numClasses],
      init: { kind: "uniform", limit: Math.sqrt(3 / 64) },
      decay: true,
    },
    {
      name: "logit/biases",
      shape: [numClasses],
      init: { kind: "constant", value: 0 },
      decay: false,
    },
  );
  const s2 = Math.ceil(size / 2), s3 = Math.ceil(s2 / 2);
  return {
    kind: "resnet",
    inputShape: [size, size, ch],
    numClasses,
    specs,
    logits(p: Params, x: Tensor, activation: Activation = "relu"): Tensor {
      const act = activation === "relu"
        ? (t: Tensor) => leakyRelu(t, 0.1)
        : (t: Tensor) => leakySoftplus(t, 0.1);
      let h = conv2d(standardize(x), p["init_conv/DW"]);
      for (const [name, inC, outC, stride, activateBefore] of UNITS) {
        let shortcut: Tensor;
        if (activateBefore) {
          h = act(h);
          shortcut = h;
        } else {
          shortcut = h;
          h = act(h);
        }
        h = conv2d(h, p[`${name}/sub1/conv1/DW`], { stride });
        h = conv2d(act(h), p[`${name}/sub2/conv2/DW`]);
        if (inC !== outC) {
          shortcut = padChannels(
            avgPool(shortcut, { size: stride, stride }),
            (outC - inC) / 2,
            (outC - inC) / 2,
          );
        }
        h = add(h, shortcut);
      }
      h = mean(act(h), [1, 2]);
      return dense(h, p["logit/DW"], p["logit/biases"]);
    },
    weightDecayLoss(p: Params): Tensor {
      let acc: Tensor | null = null;
      for (const s of specs) {
        if (!s.decay) continue;
        const t = mul(sum(square(p[s.name])), 0.5);
        acc = acc ? add(acc, t) : t;
      }
      return acc!;
    },
    footprint: () => ({
      largest: size * size * 16,
      total: size * size * (3 * ch + 16 * 12) + s2 * s2 * 32 * 10 + s3 * s3 * 64 * 10 + 64 +
        numClasses,
    }),
  };
}
