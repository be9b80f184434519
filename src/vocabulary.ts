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

/** Datasets the engine knows: the values of the configuration key `dataset` (SPEC §11). */
export const DATASET_NAMES = ["mnist", "fashion_mnist", "gtsrb", "flower"] as const;
/** A dataset's name (the configuration vocabulary; the loaded data is `Dataset`). */
export type DatasetName = typeof DATASET_NAMES[number];

/**
 * Training objectives (SPEC §4), the values of `training_objective`: natural training, Madry's
 * PGD training, IG-NORM and IG-SUM-NORM.
 */
export const TRAINING_OBJECTIVES = ["nat", "adv", "ar", "adv_ar"] as const;
/** A training objective (SPEC §4). */
export type TrainingObjective = typeof TRAINING_OBJECTIVES[number];

/** Losses PGD can maximise (SPEC §3–5), the values of `loss_func`. */
export const LOSS_FUNCS = ["xent", "cw", "ar", "ar_approx", "adv_ar", "adv_ar_approx"] as const;
/** A loss PGD maximises (SPEC §3–5). */
export type LossFunc = typeof LOSS_FUNCS[number];

/** Attribution-attack directions (SPEC §8), the values of `attribution_attack_method`. */
export const ATTRIBUTION_ATTACK_METHODS = ["random", "topK", "mass_center", "target"] as const;
/** An attribution-attack direction (SPEC §8). */
export type AttributionAttackMethod = typeof ATTRIBUTION_ATTACK_METHODS[number];

/** Attribution-attack success measures (SPEC §8), the values of `attribution_attack_measure`. */
export const ATTRIBUTION_ATTACK_MEASURES = [
  "kendall",
  "intersection",
  "spearman",
  "mass_center",
] as const;
/** An attribution-attack success measure (SPEC §8). */
export type AttributionAttackMeasure = typeof ATTRIBUTION_ATTACK_MEASURES[number];

/** Saliency maps (SPEC §7), the values of `saliency_type`: Integrated Gradients, the gradient. */
export const SALIENCY_TYPES = ["ig", "simple_gradient"] as const;
/** A saliency map (SPEC §7). */
export type SaliencyType = typeof SALIENCY_TYPES[number];

/** Whether `value` is one of `values` (narrows an unknown string to the vocabulary's type). */
export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (values as readonly string[]).includes(value);
}
