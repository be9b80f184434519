/**
 * The attribution attack of docs/spec.md §8 (Ghorbani et al., "Interpretation of Neural Networks is
 * Fragile") on one image: iterated signed steps along an attack direction (computed with the
 * softplus surrogate's saliency, `attackDirection` in `directions.ts`) inside the L∞ ball of
 * radius ε, keeping the perturbed image whose ReLU saliency is most changed by the chosen measure.
 * Its settings and results, and `attributionAttack` for one image; the attack itself, of a
 * whole batch at once, is `attributionAttackBatch` (`attribution_batch.ts`).
 *
 * How docs/spec.md §8 is read here (it follows the reference implementation):
 * - The criterion of a step is the measure's value at the new image, computed from the ReLU
 *   network's saliency against the ReLU saliency of the original: `intersection` (top-`k_top`
 *   overlap), `spearman`, `kendall`, or `mass_center` (`−‖c₀ − c‖` on integer-truncated
 *   centres, both ReLU). Lower is a more successful attack. When the ReLU network's predicted
 *   label changed, the criterion is 1 (no success).
 * - The best image is the first one reaching the lowest criterion strictly below 1. When no
 *   step went below 1 the attack is "unchanged": all metrics are 1 and the best image is the
 *   original. For `mass_center` the criterion `−distance ≤ 0` is below 1 at every step that
 *   keeps the label, so that attack is "unchanged" only when every step flipped the label (or
 *   there are no steps); the metrics are then reported on the step that moved the centre
 *   furthest (or, when none moved it, on the first step).
 * - A criterion of `NaN` (a constant saliency map) never counts as an improvement.
 * - The `mass_center` measure compares ReLU centres on both sides, as docs/spec.md §8 says that
 *   measurements use the ReLU saliency (the reference code compares the perturbed ReLU centre
 *   with the floored softplus centre `c₀` that the direction uses).
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { type Config, dataSeed } from "../config.ts";
import type { Model, Params } from "../nn/model.ts";
import type {
  AttributionAttackMeasure,
  AttributionAttackMethod,
  SaliencyType,
} from "../vocabulary.ts";
import { attackConfigProblems, attributionAttackBatch } from "./attribution_batch.ts";

export {
  attackConfigProblems,
  attributionAttackBatch,
  type AttributionBatchOptions,
  repeatSeed,
  topKDegenerateWarning,
} from "./attribution_batch.ts";

/** Settings of {@linkcode attributionAttack} (docs/spec.md §8; config keys in brackets). */
export interface AttributionAttackConfig {
  /** Attack direction [`attribution_attack_method`]. */
  method: AttributionAttackMethod;
  /** Success measure that selects the best step [`attribution_attack_measure`]. */
  measure: AttributionAttackMeasure;
  /** Saliency attacked and measured [`saliency_type`]. */
  saliencyType: SaliencyType;
  /** IG steps of the saliency maps [`num_IG_steps`]. */
  igSteps: number;
  /** Size of the `topK` mask and of the `intersection` measure [`k_top`]. */
  kTop: number;
  /** k of the reported top-k intersection [`eval_k_top`]. */
  evalKTop: number;
  /** Step size α [`attribution_attack_step_size`]. */
  stepSize: number;
  /** Steps per attack [`attribution_attack_steps`]. */
  steps: number;
  /** L∞ radius ε on the dataset's pixel scale [`epsilon`]. */
  epsilon: number;
  /** Upper end of the pixel range (1 or 255; the lower end is 0). */
  pixelMax: number;
  /** Repeats of the attack; the one with the lowest Kendall τ counts [`attribution_attack_times`]. */
  times: number;
  /** Target map, H×W row-major (for the `target` method). */
  target?: Float32Array;
  /** Seed of the `random` directions: repeat `r`, step `s` use a pure function of (seed, r, s). */
  seed: number;
  /**
   * At most this many IG counterfactuals per image at once in the ReLU saliency maps (default:
   * all, or fewer where the memory planner's chunk holds fewer).
   */
  stepsPerChunk?: number;
}

/** The outcome of one repeat of the attack. */
export interface AttributionAttackRepeat {
  /** Top-`evalKTop` intersection of the original and the best image's ReLU saliency. */
  intersection: number;
  /** Spearman's ρ between the two saliency maps. */
  spearman: number;
  /** Kendall's τ-b between the two saliency maps. */
  kendall: number;
  /** The lowest criterion reached (1 when unchanged). */
  criterion: number;
  /** No step went below 1: all metrics are 1 and the best image is the original. */
  unchanged: boolean;
  /** Step (0-based) of the best image; −1 when unchanged. */
  bestStep: number;
  /** Steps at which the ReLU network's predicted label differed from the true one. */
  labelChanges: number;
}

/** Result for an image the ReLU network misclassifies: it is not attacked (docs/spec.md §8). */
export interface NotAttackedResult {
  /** Always `false`. */
  attacked: false;
  /** The true label. */
  label: number;
  /** The ReLU network's prediction for the original image. */
  predicted: number;
  /** Warnings (none for an image that was not attacked). */
  warnings: string[];
}

/** Result for an attacked image: the metrics of the repeat with the lowest Kendall τ. */
export interface AttackedResult extends AttributionAttackRepeat {
  /** Always `true`. */
  attacked: true;
  /** The true label (also the prediction for the original image). */
  label: number;
  /** The ReLU network's prediction for the original image. */
  predicted: number;
  /** Which repeat counts (the first with the lowest Kendall τ; a NaN τ counts as lowest). */
  bestRepeat: number;
  /** Every repeat's outcome. */
  repeats: AttributionAttackRepeat[];
  /** ReLU saliency of the original image, H×W. */
  originalSaliency: Float32Array;
  /** ReLU saliency of the best perturbed image of the counted repeat, H×W. */
  attackedSaliency: Float32Array;
  /** The best perturbed image of the counted repeat, H×W×C (the original when unchanged). */
  perturbed: Float32Array;
  /** Number of non-zero entries of the original ReLU saliency. */
  nonZeroSaliency: number;
  /** Warnings, e.g. the degenerate `topK` case of docs/spec.md §8. */
  warnings: string[];
}

/** What {@linkcode attributionAttack} returns. */
export type AttributionAttackResult = AttackedResult | NotAttackedResult;

/**
 * Attacks the attribution of one image `x [1, H, W, C]` with true label `label` (docs/spec.md §8).
 *
 * Images the ReLU network misclassifies are not attacked (`{attacked: false}`). Otherwise,
 * `times` repeats of: `x̃ = x`; `steps` times `p = sign(direction at x̃)`,
 * `x̃ = clip(x + clip(x̃ + α·p − x, −ε, ε), 0, pixelMax)`, evaluate the criterion at `x̃`
 * (1 when the predicted label changed) and keep the `x̃` with the lowest criterion below 1
 * (see the module documentation for how each measure is read). The metrics (top-`evalKTop`
 * intersection, Spearman ρ, Kendall τ-b) are those of the best `x̃`'s ReLU saliency against
 * the original's, all 1 when nothing went below 1; the repeat with the lowest Kendall τ
 * counts. The `random` directions of repeat `r` are seeded by {@linkcode repeatSeed}.
 *
 * This is {@linkcode attributionAttackBatch} on a batch of one image. All tensor work runs on
 * the GPU; every tensor created here is released before returning.
 * @throws Error for invalid settings (naming each), or a `target` method without a target map.
 */
export async function attributionAttack(
  model: Model,
  params: Params,
  x: Tensor,
  label: number,
  cfg: AttributionAttackConfig,
): Promise<AttributionAttackResult> {
  const bad: string[] = [];
  if (x.rank !== 4 || x.shape[0] !== 1) {
    bad.push(`x must be one image [1, H, W, C], got [${x.shape}]`);
  }
  if (!Number.isInteger(label) || label < 0) {
    bad.push(`label must be a non-negative integer, got ${label}`);
  }
  bad.push(...attackConfigProblems(cfg, x.rank === 4 ? x.shape[1] * x.shape[2] : 0));
  if (bad.length) throw new Error(`attributionAttack: ${bad.join("; ")}`);
  const [r] = await attributionAttackBatch(model, params, x, [label], cfg);
  return r;
}

/** Averages of the attacked images' metrics (docs/spec.md §8: results are averaged over them). */
export interface AttributionAttackSummary {
  /** Images given. */
  images: number;
  /** Images attacked (those the ReLU network classifies correctly). */
  attacked: number;
  /** Attacked images whose counted repeat was unchanged. */
  unchanged: number;
  /** Mean top-`eval_k_top` intersection (NaN when nothing was attacked). */
  intersection: number;
  /** Mean Spearman ρ (NaN when nothing was attacked). */
  spearman: number;
  /** Mean Kendall τ-b (NaN when nothing was attacked). */
  kendall: number;
}

/** The fields of a per-image result that {@linkcode summarizeAttributionAttacks} averages. */
export interface AttackOutcome {
  /** Whether the image was attacked. */
  attacked: boolean;
  /** No step improved the criterion. */
  unchanged?: boolean;
  /** Top-`eval_k_top` intersection. */
  intersection?: number;
  /** Spearman ρ. */
  spearman?: number;
  /** Kendall τ-b. */
  kendall?: number;
}

/** Averages the metrics of the attacked images of `results` (a NaN metric makes its mean NaN). */
export function summarizeAttributionAttacks<R extends AttackOutcome>(
  results: readonly R[],
): AttributionAttackSummary {
  const hit = results.filter((r) => r.attacked);
  const mean = (f: (r: AttackOutcome) => number) =>
    hit.length ? hit.reduce((s, r) => s + f(r), 0) / hit.length : NaN;
  return {
    images: results.length,
    attacked: hit.length,
    unchanged: hit.filter((r) => r.unchanged).length,
    intersection: mean((r) => r.intersection!),
    spearman: mean((r) => r.spearman!),
    kendall: mean((r) => r.kendall!),
  };
}

/** The attack settings of a configuration (seeded by its data seed, `np_random_seed`). */
export function attributionAttackConfig(
  c: Config,
  pixelMax: number,
  target?: Float32Array,
): AttributionAttackConfig {
  return {
    method: c.attribution_attack_method,
    measure: c.attribution_attack_measure,
    saliencyType: c.saliency_type,
    igSteps: c.num_IG_steps,
    kTop: c.k_top,
    evalKTop: c.eval_k_top,
    stepSize: c.attribution_attack_step_size,
    steps: c.attribution_attack_steps,
    epsilon: c.epsilon,
    pixelMax,
    times: c.attribution_attack_times,
    target,
    seed: dataSeed(c),
  };
}
