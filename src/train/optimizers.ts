/**
 * Optimisers of docs/spec.md §6, updating parameters in place on the GPU: Adam in its TensorFlow 1
 * form (MNIST family) and momentum with a piecewise-constant learning rate (ResNet family).
 * @module
 */

import optimizerWgsl from "../../shaders/optimizer.wgsl" with { type: "text" };
import { type Tensor, tensor } from "../tensor.ts";
import { type Kernel, kernel, launchTexels, Params as Words } from "../ops/launch.ts";
import { zeros } from "../ops/mod.ts";
import type { Params } from "../nn/model.ts";

/** State tensors of an optimiser, by `<slot>:<parameter>` name (saved in checkpoints). */
export type OptimizerState = Record<string, Tensor>;

/** An optimiser over a fixed set of parameters. */
export interface Optimizer {
  /** Number of updates applied so far. */
  readonly step: number;
  /** Applies one update to `params` in place with gradients `grads`. */
  update(params: Params, grads: Params): void;
  /** The learning rate used by the next update. */
  learningRate(): number;
  /** State tensors (e.g. `adam_m:W_conv1`). */
  state(): OptimizerState;
  /** Restores state tensors (host data) and the step count. */
  restore(
    step: number,
    state: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
  ): void;
}

function slots(params: Params, names: string[]): OptimizerState {
  const s: OptimizerState = {};
  for (const [k, p] of Object.entries(params)) {
    for (const n of names) s[`${n}:${k}`] = zeros(p.shape);
  }
  return s;
}

function restoreSlots(
  state: OptimizerState,
  saved: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
): void {
  for (const [k, t] of Object.entries(state)) {
    const e = saved.get(k);
    if (!e) throw new Error(`checkpoint: optimiser state ${k} is missing`);
    if (e.data.length !== t.size) {
      throw new Error(
        `checkpoint: optimiser state ${k} has ${e.data.length} values, expected [${t.shape}]`,
      );
    }
    const fresh = tensor(new Float32Array(e.data), t.shape);
    t.dispose();
    state[k] = fresh;
  }
}

/** Options of {@linkcode adam}. */
export interface AdamOptions {
  /** Learning rate (docs/spec.md §6: 1e-4). */
  learningRate?: number;
  /** β₁ (0.9). */
  beta1?: number;
  /** β₂ (0.999). */
  beta2?: number;
  /** ε (1e-8), added to `sqrt(v)` as in TensorFlow 1. */
  epsilon?: number;
}

/** Adam with `lr_t = lr·sqrt(1−β₂ᵗ)/(1−β₁ᵗ)` and `θ −= lr_t·m/(sqrt(v)+ε)`. */
export function adam(params: Params, options: AdamOptions = {}): Optimizer {
  const lr = options.learningRate ?? 1e-4;
  const b1 = options.beta1 ?? 0.9, b2 = options.beta2 ?? 0.999, eps = options.epsilon ?? 1e-8;
  let step = 0;
  const st = slots(params, ["adam_m", "adam_v"]);
  const k = kernel({
    name: "adam",
    code: optimizerWgsl,
    entry: "adam",
    inputs: 1,
    outputs: 3,
    textures: 4,
  });
  return {
    get step() {
      return step;
    },
    learningRate: () => lr,
    update(p: Params, g: Params) {
      const t = step + 1;
      const lrT = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      for (const name of Object.keys(p)) {
        const n = p[name].size;
        update4(
          k,
          [g[name], p[name], st[`adam_m:${name}`], st[`adam_v:${name}`]],
          n,
          [lrT, b1, b2, eps],
        );
      }
      step = t;
    },
    state: () => st,
    restore(s, saved) {
      restoreSlots(st, saved);
      step = s;
    },
  };
}

/** The learning rate of a `step_size_schedule` at update `step` (TensorFlow piecewise_constant). */
export function scheduledRate(
  schedule: readonly (readonly [number, number])[],
  step: number,
): number {
  let lr = schedule[0][1];
  for (let i = 1; i < schedule.length; i++) if (step > schedule[i][0]) lr = schedule[i][1];
  return lr;
}

/** Options of {@linkcode momentum}. */
export interface MomentumOptions {
  /** `[[step, lr], …]`; the first pair's step is ignored. */
  schedule: readonly (readonly [number, number])[];
  /** μ. */
  momentum: number;
}

/**
 * One update kernel of `shaders/optimizer.wgsl` over `n` parameters: `ts` are g, θ and the
 * slots (the buffers, and texel copies of them that the kernel reads), `f` its four floats.
 */
function update4(k: Kernel, ts: Tensor[], n: number, f: number[]): void {
  const n4 = Math.ceil(n / 4);
  const buffers = ts.map((t) => t.buffer);
  launchTexels(k, buffers, buffers, n4 * 16, (s) => new Words().u32(n4, s, 0, 0).f32(...f), n4);
}

/** Momentum SGD: `acc = μ·acc + g; θ −= lr·acc`, lr from the schedule. */
export function momentum(params: Params, options: MomentumOptions): Optimizer {
  let step = 0;
  const st = slots(params, ["momentum"]);
  const k = kernel({
    name: "momentum",
    code: optimizerWgsl,
    entry: "momentum",
    inputs: 1,
    outputs: 2,
    textures: 3,
  });
  return {
    get step() {
      return step;
    },
    learningRate: () => scheduledRate(options.schedule, step),
    update(p: Params, g: Params) {
      const lr = scheduledRate(options.schedule, step);
      for (const name of Object.keys(p)) {
        const n = p[name].size;
        const acc = st[`momentum:${name}`];
        update4(k, [g[name], p[name], acc], n, [lr, options.momentum, 0, 0]);
      }
      step++;
    },
    state: () => st,
    restore(s, saved) {
      restoreSlots(st, saved);
      step = s;
    },
  };
}
