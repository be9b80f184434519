/**
 * A reference for the attribution attack's tests: the one-image algorithm as it was before the
 * batched attack, written with the engine's ops and kept here unchanged.
 * @module
 */

import { type Tensor, tensor, tidy } from "../../src/tensor.ts";
import { add, argMax, clip, mul, reshape, sign, sub, topKMask } from "../../src/ops/mod.ts";
import type { Model, Params } from "../../src/nn/model.ts";
import { saliencyMap } from "../../src/attribution/saliency.ts";
import {
  kendallTauB,
  massCenterMeasure,
  spearman,
  topKIntersection,
} from "../../src/attribution/metrics.ts";
import {
  attackDirection,
  countNonZeroSaliency,
  type DirectionSetup,
  topKDegenerate,
} from "../../src/attacks/directions.ts";
import {
  type AttributionAttackConfig,
  type AttributionAttackRepeat,
  type AttributionAttackResult,
  repeatSeed,
  topKDegenerateWarning,
} from "../../src/attacks/attribution.ts";

/** First index of the lowest value, a NaN counting as lowest (NumPy's `argmin`). */
function argminNumpy(v: number[]): number {
  const nan = v.findIndex(Number.isNaN);
  if (nan >= 0) return nan;
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[best]) best = i;
  return best;
}

interface Once extends AttributionAttackRepeat {
  perturbed: Float32Array;
  saliency: Float32Array;
}

/**
 * The one-image attack of docs/spec.md §8 as the engine ran it before the batched attack (one
 * image, its tensors on the GPU from step to step), kept as the independent reference that
 * `attributionAttackBatch` and `attributionAttack` are compared with. Settings are not
 * validated here.
 */
export async function referenceAttack(
  model: Model,
  params: Params,
  x: Tensor,
  label: number,
  cfg: AttributionAttackConfig,
): Promise<AttributionAttackResult> {
  const [, H, W] = x.shape;
  const warnings: string[] = [];
  const owned: Tensor[] = [];
  const own = <T extends Tensor | undefined>(t: T): T => {
    if (t) owned.push(t.keep());
    return t;
  };
  const disposers: (() => void)[] = [];
  try {
    const labels = own(tensor(new Int32Array([label]), [1]));
    const predict = async (xt: Tensor): Promise<number> => {
      const p = tidy(() => argMax(model.logits(params, xt)));
      try {
        return (await p.data())[0];
      } finally {
        p.dispose();
      }
    };
    const saliencyOf = (xt: Tensor): Tensor =>
      tidy(() =>
        saliencyMap(model, params, xt, labels, cfg.saliencyType, {
          activation: "relu",
          steps: cfg.igSteps,
          stepsPerChunk: cfg.stepsPerChunk,
        })
      );
    const hostSaliency = async (xt: Tensor): Promise<Float32Array> => {
      const s = saliencyOf(xt);
      try {
        return new Float32Array(await s.data());
      } finally {
        s.dispose();
      }
    };

    const predicted = await predict(x);
    if (predicted !== label) return { attacked: false, label, predicted, warnings };

    const s0 = own(saliencyOf(x));
    const original = new Float32Array(await s0.data());
    const [nonZero] = await countNonZeroSaliency(s0);
    if (cfg.method === "topK" && topKDegenerate(nonZero, cfg.kTop)) {
      warnings.push(topKDegenerateWarning(cfg.kTop, nonZero));
    }
    const setup: DirectionSetup = {
      model,
      params,
      x,
      labels,
      saliencyType: cfg.saliencyType,
      steps: cfg.igSteps,
      kTop: cfg.kTop,
      // as [1, H, W]: attackDirection then needs no reshaped view of it
      target: own(cfg.target ? tensor(cfg.target, [1, H, W]) : undefined),
      // the ReLU top-k mask of the original, from the saliency computed above
      referenceMask: own(
        cfg.method === "topK" ? tidy(() => topKMask(reshape(s0, [1, H * W]), cfg.kTop)) : undefined,
      ),
    };

    const measure = (s: Float32Array): number => {
      switch (cfg.measure) {
        case "intersection":
          return topKIntersection(original, s, cfg.kTop);
        case "spearman":
          return spearman(original, s);
        case "kendall":
          return kendallTauB(original, s);
        case "mass_center":
          return massCenterMeasure(original, s, H, W);
      }
    };

    const shared = cfg.method === "random" ? null : attackDirection(cfg.method, setup);
    if (shared) disposers.push(shared.dispose);
    const { stepSize: alpha, epsilon: eps, pixelMax } = cfg;

    const once = async (repeat: number): Promise<Once> => {
      const dir = shared ?? attackDirection("random", setup, repeatSeed(cfg.seed, repeat));
      let xt: Tensor = tidy(() => add(x, 0)).keep();
      let best: { step: number; criterion: number; x: Float32Array; s: Float32Array } | null = null;
      let labelChanges = 0;
      try {
        for (let step = 0; step < cfg.steps; step++) {
          const prev = xt;
          xt = tidy(() => {
            const p = sign(dir.direction(prev, step));
            const delta = clip(sub(add(prev, mul(p, alpha)), x), -eps, eps);
            return clip(add(x, delta), 0, pixelMax);
          }).keep();
          prev.dispose();
          let criterion = 1;
          let s: Float32Array | null = null;
          if (await predict(xt) !== label) {
            labelChanges++;
          } else {
            s = await hostSaliency(xt);
            criterion = measure(s);
          }
          if (criterion < (best?.criterion ?? 1)) {
            best = { step, criterion, x: new Float32Array(await xt.data()), s: s! };
          }
        }
      } finally {
        xt.dispose();
        if (!shared) dir.dispose();
      }
      if (!best) {
        return {
          intersection: 1,
          spearman: 1,
          kendall: 1,
          criterion: 1,
          unchanged: true,
          bestStep: -1,
          labelChanges,
          perturbed: new Float32Array(await x.data()),
          saliency: original,
        };
      }
      return {
        intersection: topKIntersection(original, best.s, cfg.evalKTop),
        spearman: spearman(original, best.s),
        kendall: kendallTauB(original, best.s),
        criterion: best.criterion,
        unchanged: false,
        bestStep: best.step,
        labelChanges,
        perturbed: best.x,
        saliency: best.s,
      };
    };

    const runs: Once[] = [];
    for (let r = 0; r < cfg.times; r++) {
      const o = await once(r);
      // keep the host arrays of the repeat that can still count only
      const keepIdx = argminNumpy([...runs.map((q) => q.kendall), o.kendall]);
      runs.push(o);
      for (let i = 0; i < runs.length; i++) {
        if (i !== keepIdx) {
          runs[i].perturbed = new Float32Array(0);
          runs[i].saliency = new Float32Array(0);
        }
      }
    }
    const repeats: AttributionAttackRepeat[] = runs.map((o) => ({
      intersection: o.intersection,
      spearman: o.spearman,
      kendall: o.kendall,
      criterion: o.criterion,
      unchanged: o.unchanged,
      bestStep: o.bestStep,
      labelChanges: o.labelChanges,
    }));
    const bestRepeat = argminNumpy(repeats.map((o) => o.kendall));
    const chosen = runs[bestRepeat];
    return {
      attacked: true,
      label,
      predicted,
      ...repeats[bestRepeat],
      bestRepeat,
      repeats,
      originalSaliency: original,
      attackedSaliency: chosen.saliency,
      perturbed: chosen.perturbed,
      nonZeroSaliency: nonZero,
      warnings,
    };
  } finally {
    for (const d of disposers) d();
    for (const t of owned) t.dispose();
  }
}
