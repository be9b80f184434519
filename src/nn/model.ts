/**
 * The model interface shared by the MNIST CNN and the ResNet.
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { ModelFamily } from "./registry.ts";

/** Parameters by their names in docs/spec.md §2 (e.g. `W_conv1`, `unit_1_0/sub1/conv1/DW`). */
export type Params = Record<string, Tensor>;

/** `relu`: the network itself; `softplus`: its smooth surrogate over the same parameters. */
export type Activation = "relu" | "softplus";

/** How a parameter is initialised. */
export type Init =
  | { kind: "truncated_normal"; std: number }
  | { kind: "normal"; std: number }
  | { kind: "uniform"; limit: number }
  | { kind: "constant"; value: number };

/** Name, shape and initialiser of one parameter. */
export interface ParamSpec {
  /** Its name in docs/spec.md §2. */
  name: string;
  /** Shape (HWIO for kernels, `[in, out]` for dense weights). */
  shape: number[];
  /** Initialiser. */
  init: Init;
  /** Whether it counts in the weight-decay loss. */
  decay: boolean;
}

/** Per-example activation sizes, used to plan memory for batched path points. */
export interface Footprint {
  /** Elements of the largest single activation of one example. */
  largest: number;
  /** Elements of all forward activations of one example. */
  total: number;
}

/** A classifier of the paper. */
export interface Model {
  /** Its family: the key of its entry in the model registry (`MODEL_REGISTRY`). */
  readonly kind: ModelFamily;
  /** Input shape of one example `[H, W, C]`. */
  readonly inputShape: readonly [number, number, number];
  /** Number of classes. */
  readonly numClasses: number;
  /** Parameter specifications, in the order of docs/spec.md §2. */
  readonly specs: readonly ParamSpec[];
  /** Logits `[B, classes]` for images `x [B, H, W, C]`. */
  logits(params: Params, x: Tensor, activation?: Activation): Tensor;
  /** `Σ ½‖W‖²` over the decayed parameters, or null when the family uses none. */
  weightDecayLoss(params: Params): Tensor | null;
  /** Activation sizes of one example. */
  footprint(): Footprint;
}
