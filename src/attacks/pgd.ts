/**
 * L∞ projected gradient descent (docs/spec.md §5), on the GPU.
 * @module
 */

import { type Tensor, tidy } from "../tensor.ts";
import { add, clip, maximum, minimum, mul, randomUniform, sign } from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { type ObjectiveConfig, pgdGradient } from "../rar/objectives.ts";
import type { LossFunc } from "../vocabulary.ts";

/** Settings of {@linkcode pgd}. */
export interface PgdConfig {
  /** ε, the L∞ radius (on the dataset's pixel scale). */
  epsilon: number;
  /** Number of steps `k`. */
  numSteps: number;
  /** Step size `a`. */
  stepSize: number;
  /** Start at a uniformly random point of the ε-ball. */
  randomStart: boolean;
  /** Loss to maximise. */
  lossFunc: LossFunc;
  /** Upper end of the pixel range (1 or 255; the lower end is 0). */
  pixelMax: number;
  /** Seed of the random start (a pure function of it). */
  seed: number;
  /** Settings of the `ar*`/`adv_ar*` losses (m, approx_factor, λ, memory). */
  objective?: ObjectiveConfig;
}

/**
 * Adversarial examples for `x` with labels `y`: start at `x` (or `x + U(−ε, ε)` clipped to the
 * pixel range), then `numSteps` times `x' += a·sign(∂loss/∂x')`, projected to the ε-ball
 * around `x` and to the pixel range. For `ar*` losses the loss uses `x` as the natural input.
 */
export function pgd(model: Model, params: Params, x: Tensor, y: Tensor, cfg: PgdConfig): Tensor {
  const { epsilon: eps, stepSize: a } = cfg;
  const lo = tidy(() => maximum(add(x, -eps), mul(x, 0)));
  const hi = tidy(() => minimum(add(x, eps), add(mul(x, 0), cfg.pixelMax)));
  let xa: Tensor = cfg.randomStart
    ? tidy(() => clip(add(x, randomUniform(x.shape, -eps, eps, cfg.seed)), 0, cfg.pixelMax))
    : tidy(() => add(x, 0));
  const obj = cfg.objective ?? { lambda: 1, m: 10, approxFactor: 1 };
  for (let i = 0; i < cfg.numSteps; i++) {
    const next = tidy(() => {
      const g = pgdGradient(model, params, x, xa, y, cfg.lossFunc, obj);
      return minimum(maximum(add(xa, mul(sign(g), a)), lo), hi);
    });
    xa.dispose();
    xa = next;
  }
  lo.dispose();
  hi.dispose();
  return xa;
}
