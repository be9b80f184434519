/**
 * Training objectives (`nat`, `adv`, `ar`, `adv_ar`) and the PGD input gradients of docs/spec.md §4–5.
 * @module
 */

import { valueAndGrad } from "../autograd/grad.ts";
import { type Tensor, tidy } from "../tensor.ts";
import { add, cwLoss, meanXent, mul, xent } from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { familyOf } from "../nn/registry.ts";
import { accumulate, type ChunkOptions, igTermWithGrad, type PathConfig } from "./ig.ts";
import type { ChunkPlan } from "./planner.ts";
import { type LossFunc, OBJECTIVE_PARTS, type TrainingObjective } from "../vocabulary.ts";

/** Settings of the objectives. */
export interface ObjectiveConfig extends PathConfig, ChunkOptions {
  /** λ, the regulariser weight. */
  lambda: number;
  /** Weight-decay factor (ResNet family). */
  weightDecay?: number;
}

/** A batch: natural images, perturbed images and int32 labels. */
export interface Batch {
  /** Natural images `[B, H, W, C]`. */
  x: Tensor;
  /** Perturbed images (PGD output); required by `adv`, `ar`, `adv_ar`. */
  xadv?: Tensor;
  /** Labels `[B]` (int32). */
  y: Tensor;
}

/** A loss value, its parts and the gradient per parameter. */
export interface LossAndGrads {
  /** The training loss (scalar). */
  loss: Tensor;
  /** Gradient per parameter. */
  grads: Params;
  /** The classification part (`xent`, or `mean_xent` for the ResNet's natural objectives). */
  xent: Tensor;
  /** `IG_term`, for `ar` and `adv_ar`. */
  igTerm?: Tensor;
  /** The weight-decay loss `Σ ½‖W‖²` (ResNet family). */
  weightDecayLoss?: Tensor;
  /** The chunk plan of the path points, for `ar` and `adv_ar`. */
  plan?: ChunkPlan;
}

function needAdv(b: Batch, objective: string): Tensor {
  if (!b.xadv) throw new Error(`objective ${objective} needs perturbed inputs (batch.xadv)`);
  return b.xadv;
}

/**
 * The training loss of `objective` and its gradient w.r.t. every parameter. For `ar` and
 * `adv_ar` this includes the second-order gradient of `λ·IG_term`, computed in chunks.
 * MNIST family: `xent` summed over the batch; ResNet family: `nat`/`adv` use `mean_xent`,
 * and every objective adds `weight_decay · Σ ½‖W‖²`.
 */
export function lossAndGrads(
  model: Model,
  params: Params,
  batch: Batch,
  objective: TrainingObjective,
  cfg: ObjectiveConfig,
): LossAndGrads {
  const family = familyOf(model);
  const wd = family.weightDecay ? (cfg.weightDecay ?? 0) : 0;
  const { adversarial, igTerm } = OBJECTIVE_PARTS[objective];
  const classInput = adversarial ? needAdv(batch, objective) : batch.x;
  const useMean = family.lossReduction === "mean" && !igTerm;
  // the classification and weight-decay parts are kept from the differentiated pass itself
  let ce!: Tensor;
  let decay: Tensor | undefined;
  const parts = valueAndGrad<[Params], Params>((p: Params) => {
    const logits = model.logits(p, classInput);
    ce = (useMean ? meanXent(logits, batch.y) : xent(logits, batch.y)).keep();
    decay = model.weightDecayLoss(p)?.keep() ?? undefined;
    return decay && wd ? add(ce, mul(decay, wd)) : ce;
  })(params);
  if (!igTerm) {
    return { loss: parts.value, grads: parts.grads, xent: ce, weightDecayLoss: decay };
  }
  const ig = igTermWithGrad(model, params, batch.x, needAdv(batch, objective), batch.y, cfg, {
    params: true,
  }, cfg);
  const scaled: Params = {};
  for (const [k, g] of Object.entries(ig.params!)) {
    scaled[k] = mul(g, cfg.lambda);
    g.dispose();
  }
  const grads = accumulate(parts.grads, scaled);
  const loss = tidy(() => add(parts.value, mul(ig.value, cfg.lambda)));
  if (parts.value !== ce) parts.value.dispose(); // with no weight decay the loss is the xent itself
  return { loss, grads, xent: ce, igTerm: ig.value, weightDecayLoss: decay, plan: ig.plan };
}

/**
 * The gradient w.r.t. the adversarial input `xadv` of PGD loss `lossFunc` (docs/spec.md §5):
 * `xent`/`cw` at `xadv`; `ar*` is `IG_term(x, xadv)`; `adv_ar*` is
 * `xent(xadv) + λ·IG_term(x, xadv)`; the `_approx` forms use `approx_factor`.
 */
export function pgdGradient(
  model: Model,
  params: Params,
  x: Tensor,
  xadv: Tensor,
  y: Tensor,
  lossFunc: LossFunc,
  cfg: ObjectiveConfig,
): Tensor {
  const classGrad = (loss: (logits: Tensor, y: Tensor) => Tensor) =>
    valueAndGrad((xa: Tensor) => loss(model.logits(params, xa), y))(xadv);
  switch (lossFunc) {
    case "xent":
    case "cw": {
      const r = classGrad(lossFunc === "xent" ? xent : cwLoss);
      r.value.dispose();
      return r.grads;
    }
    case "ar":
    case "ar_approx":
    case "adv_ar":
    case "adv_ar_approx": {
      const path: PathConfig = {
        m: cfg.m,
        approxFactor: lossFunc.endsWith("_approx") ? cfg.approxFactor : 1,
      };
      const ig = igTermWithGrad(model, params, x, xadv, y, path, { xadv: true }, cfg);
      ig.value.dispose();
      if (lossFunc.startsWith("ar")) return ig.xadv!;
      const r = classGrad(xent);
      r.value.dispose();
      const out = tidy(() => add(r.grads, mul(ig.xadv!, cfg.lambda)));
      r.grads.dispose();
      ig.xadv!.dispose();
      return out;
    }
    default:
      throw new Error(
        `loss_func must be one of xent, cw, ar, ar_approx, adv_ar, adv_ar_approx; got ${
          JSON.stringify(lossFunc)
        }`,
      );
  }
}
