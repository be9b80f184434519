/**
 * Attack directions of the attribution attacks (docs/spec.md §8, Ghorbani et al.): `topK`,
 * `mass_center`, `target` and `random`. Directions use the softplus surrogate's saliency
 * (the ReLU network has no useful second derivative); the reference quantities (top-k mask,
 * original centre) come from the ReLU network or the surrogate as docs/spec.md §8 states.
 * @module
 */

import { grad } from "../autograd/grad.ts";
import { type Tensor, tensor, tidy } from "../tensor.ts";
import {
  abs,
  affine,
  concat,
  floor,
  mul,
  randomUniform,
  reshape,
  sign,
  square,
  step,
  sub,
  sum,
  topKMask,
} from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { saliencyMap, type SaliencyOptions } from "../attribution/saliency.ts";
import type { AttributionAttackMethod, SaliencyType } from "../vocabulary.ts";

/** What an attack direction needs to know. */
export interface DirectionSetup {
  /** The model. */
  model: Model;
  /** Its parameters. */
  params: Params;
  /** The original images `[B, H, W, C]` (usually B = 1). */
  x: Tensor;
  /** Their labels (int32 `[B]`). */
  labels: Tensor;
  /** Saliency used by the attack. */
  saliencyType: SaliencyType;
  /** `num_IG_steps`. */
  steps: number;
  /** `k_top` (for `topK`). */
  kTop: number;
  /** Target map `[H, W]` or `[B, H, W]` (for `target`). */
  target?: Tensor;
  /** A given top-k mask `[B, H·W]` for `topK` instead of the ReLU saliency's own. */
  referenceMask?: Tensor;
}

/**
 * `(Σ S·row, Σ S·col) / (H·W)` per map for saliency maps `S [B, H, W]`, as `[B, 2]`
 * (differentiable in S).
 */
export function massCenter(S: Tensor): Tensor {
  const [, H, W] = S.shape;
  const rows = new Float32Array(H * W), cols = new Float32Array(H * W);
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      rows[h * W + w] = h / (H * W);
      cols[h * W + w] = w / (H * W);
    }
  }
  const flat = reshape(S, [S.shape[0], H * W]);
  const grid = tensor(new Float32Array([...rows, ...cols]), [2, H * W]);
  return sum(mul(reshape(flat, [S.shape[0], 1, H * W]), grid), -1);
}

/** The top-`kTop` mask `[B, H·W]` of the ReLU network's saliency of the original images. */
export function topKReferenceMask(setup: DirectionSetup): Tensor {
  return tidy(() => {
    const S = saliencyMap(
      setup.model,
      setup.params,
      setup.x,
      setup.labels,
      setup.saliencyType,
      opts(setup, "relu"),
    );
    return topKMask(reshape(S, [S.shape[0], -1]), setup.kTop);
  });
}

/**
 * Number of non-zero entries of each saliency map `S [B, H, W]` (computed on the GPU).
 * With `k_top` at least this count, the `topK` mask covers every non-zero entry and the
 * `topK` direction is zero (see {@linkcode topKDegenerate}).
 */
export async function countNonZeroSaliency(S: Tensor): Promise<number[]> {
  if (S.rank !== 3) {
    throw new Error(`countNonZeroSaliency: expected a saliency map [B, H, W], got [${S.shape}]`);
  }
  const counts = tidy(() => sum(step(abs(S)), [1, 2]));
  try {
    return Array.from(await counts.data(), (v) => Math.round(v));
  } finally {
    counts.dispose();
  }
}

/**
 * Whether the `topK` attack is degenerate for an image (docs/spec.md §8): with `kTop` at least the
 * number `nonZero` of non-zero saliency entries, the mask covers all of them and the `topK`
 * direction is exactly zero, so the attack leaves the image unchanged.
 */
export function topKDegenerate(nonZero: number, kTop: number): boolean {
  return kTop >= nonZero;
}

function opts(s: DirectionSetup, activation: "relu" | "softplus"): SaliencyOptions {
  return { activation, steps: s.steps };
}

/** The ±1 pattern of a `random` direction for `shape`, seeded by `seed` and the step number. */
function randomSigns(shape: readonly number[], seed: number, step: number): Tensor {
  return sign(randomUniform(shape, -1, 1, (seed * 1000003 + step * 7919 + 1) >>> 0));
}

/**
 * Prepares the direction function of `method` for the images of `setup`: the returned function
 * maps the current perturbed images to the attack direction before `sign` (same shape as x).
 * `random` directions are ±1 patterns seeded by `seed` and the step number: one seed for the
 * whole batch, or one per image, image b then drawing the pattern that the one-image direction
 * with seed `seed[b]` draws.
 */
export function attackDirection(
  method: AttributionAttackMethod,
  setup: DirectionSetup,
  seed: number | readonly number[] = 0,
): { direction: (xt: Tensor, step: number) => Tensor; dispose: () => void; reference?: Tensor } {
  const { model, params, labels } = setup;
  const softS = (xt: Tensor) =>
    saliencyMap(model, params, xt, labels, setup.saliencyType, opts(setup, "softplus"));
  switch (method) {
    case "topK": {
      const given = setup.referenceMask;
      const mask = given ? reshape(given, [setup.x.shape[0], -1]) : topKReferenceMask(setup);
      // The saliency sums to H·W, so −∂(Σ M⊙S)/∂x = +∂(Σ (1−M)⊙S)/∂x. This form is exactly
      // zero when M covers every non-zero saliency entry (docs/spec.md §8), instead of rounding noise
      // whose sign would turn the attack into a random one.
      const rest = affine(mask, -1, 1);
      return {
        reference: mask,
        direction: (xt) =>
          tidy(() => grad((z: Tensor) => sum(mul(rest, reshape(softS(z), rest.shape))))(xt)),
        dispose: () => {
          rest.dispose();
          if (mask !== given) mask.dispose();
        },
      };
    }
    case "mass_center": {
      const c0 = tidy(() => floor(massCenter(softS(setup.x))));
      return {
        reference: c0,
        direction: (xt) =>
          tidy(() => grad((z: Tensor) => sum(square(sub(massCenter(softS(z)), c0))))(xt)),
        dispose: () => c0.dispose(),
      };
    }
    case "target": {
      const T = setup.target;
      if (!T) throw new Error("the target attack needs a target map (H×W)");
      const [B, H, W] = setup.x.shape;
      if (T.size !== H * W && T.size !== B * H * W) {
        throw new Error(`the target map has shape [${T.shape}], expected [${H}, ${W}]`);
      }
      const t3 = reshape(T, [T.size === H * W ? 1 : B, H, W]);
      return {
        direction: (xt) => tidy(() => grad((z: Tensor) => sum(mul(t3, softS(z))))(xt)),
        dispose: () => {
          if (t3 !== T) t3.dispose();
        },
      };
    }
    case "random": {
      if (typeof seed !== "number" && seed.length !== setup.x.shape[0]) {
        throw new Error(
          `random directions: ${seed.length} seeds for ${setup.x.shape[0]} images`,
        );
      }
      return {
        direction: (xt, step) =>
          tidy(() => {
            if (typeof seed === "number") return randomSigns(xt.shape, seed, step);
            const one = [1, ...xt.shape.slice(1)];
            return concat(seed.map((s) => randomSigns(one, s, step)), 0);
          }),
        dispose: () => {},
      };
    }
    default:
      throw new Error(
        `attribution_attack_method must be one of random, topK, mass_center, target; got ${
          JSON.stringify(method)
        }`,
      );
  }
}
