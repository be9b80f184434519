/**
 * The project's enumerations, each defined once: a const array (the values in the order the
 * configuration reader lists them in its messages) and the type derived from it. The
 * configuration, the command line and the library modules all import them from here.
 *
 * ```ts
 * import { TRAINING_OBJECTIVES, type TrainingObjective } from "./src/vocabulary.ts";
 * const objective: TrainingObjective = "adv_ar";
 * console.log(TRAINING_OBJECTIVES.includes(objective)); // true
 * ```
 * @module
 */

/** Datasets the engine knows: the values of the configuration key `dataset` (docs/spec.md §11). */
export const DATASET_NAMES = ["mnist", "fashion_mnist", "gtsrb", "flower"] as const;
/** A dataset's name (the configuration vocabulary; the loaded data is `Dataset`). */
export type DatasetName = typeof DATASET_NAMES[number];

/**
 * Training objectives (docs/spec.md §4), the values of `training_objective`: natural training, Madry's
 * PGD training, IG-NORM and IG-SUM-NORM.
 */
export const TRAINING_OBJECTIVES = ["nat", "adv", "ar", "adv_ar"] as const;
/** A training objective (docs/spec.md §4). */
export type TrainingObjective = typeof TRAINING_OBJECTIVES[number];

/** The parts of a training objective's loss (docs/spec.md §4). */
export interface ObjectiveParts {
  /** The classification loss is taken at the PGD point `x'` (else at the clean input `x`). */
  readonly adversarial: boolean;
  /** The loss adds `λ·IG_term(x, x')` (IG-NORM, IG-SUM-NORM). */
  readonly igTerm: boolean;
}

/** What each training objective is made of (docs/spec.md §4); every objective but `nat` runs PGD. */
export const OBJECTIVE_PARTS: Readonly<Record<TrainingObjective, ObjectiveParts>> = {
  nat: { adversarial: false, igTerm: false },
  adv: { adversarial: true, igTerm: false },
  ar: { adversarial: false, igTerm: true },
  adv_ar: { adversarial: true, igTerm: true },
};

/** Whether training with `objective` runs PGD (for its adversarial loss or its IG term). */
export function objectiveRunsPgd(objective: TrainingObjective): boolean {
  const p = OBJECTIVE_PARTS[objective];
  return p.adversarial || p.igTerm;
}

/** Losses PGD can maximise (docs/spec.md §3–5), the values of `loss_func`. */
export const LOSS_FUNCS = ["xent", "cw", "ar", "ar_approx", "adv_ar", "adv_ar_approx"] as const;
/** A loss PGD maximises (docs/spec.md §3–5). */
export type LossFunc = typeof LOSS_FUNCS[number];

/**
 * Losses the PGD of the adversarial-accuracy evaluation maximises (docs/spec.md §10); a configuration
 * whose `loss_func` is another one is evaluated with `xent` ({@link evalLossFunc}).
 */
export const EVAL_LOSS_FUNCS = ["xent", "cw"] as const satisfies readonly LossFunc[];
/** A loss of the adversarial-accuracy evaluation (docs/spec.md §10). */
export type EvalLossFunc = typeof EVAL_LOSS_FUNCS[number];

/** The evaluation loss of a configuration's `loss_func`: itself when it is one, else `xent`. */
export function evalLossFunc(lossFunc: LossFunc): EvalLossFunc {
  return isOneOf(EVAL_LOSS_FUNCS, lossFunc) ? lossFunc : "xent";
}

/** Attribution-attack directions (docs/spec.md §8), the values of `attribution_attack_method`. */
export const ATTRIBUTION_ATTACK_METHODS = ["random", "topK", "mass_center", "target"] as const;
/** An attribution-attack direction (docs/spec.md §8). */
export type AttributionAttackMethod = typeof ATTRIBUTION_ATTACK_METHODS[number];

/** Attribution-attack success measures (docs/spec.md §8), the values of `attribution_attack_measure`. */
export const ATTRIBUTION_ATTACK_MEASURES = [
  "kendall",
  "intersection",
  "spearman",
  "mass_center",
] as const;
/** An attribution-attack success measure (docs/spec.md §8). */
export type AttributionAttackMeasure = typeof ATTRIBUTION_ATTACK_MEASURES[number];

/** Saliency maps (docs/spec.md §7), the values of `saliency_type`: Integrated Gradients, the gradient. */
export const SALIENCY_TYPES = ["ig", "simple_gradient"] as const;
/** A saliency map (docs/spec.md §7). */
export type SaliencyType = typeof SALIENCY_TYPES[number];

/** Whether `value` is one of `values` (narrows an unknown string to the vocabulary's type). */
export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (values as readonly string[]).includes(value);
}
