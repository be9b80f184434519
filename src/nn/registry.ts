/**
 * The model registry: each model family of docs/spec.md §2 described once — the datasets it serves
 * (their image shape and classes come from the dataset facts), how it trains (loss reduction,
 * optimiser, weight decay, the configuration keys of its optimiser), how a configuration
 * without a `dataset` key is recognised as its, and its builder. Everything that depends on
 * the family (the configuration reader, the trainer, the objectives, the commands) asks here.
 *
 * Adding a model: write its builder (a function returning a {@link Model}), add its name to
 * {@link ModelFamily} and one entry to {@link MODEL_REGISTRY}.
 *
 * ```ts
 * import { familyOf, modelForDataset } from "./src/nn/registry.ts";
 * const model = modelForDataset("gtsrb");
 * console.log(model.kind, familyOf(model).optimizer); // "resnet" "momentum"
 * ```
 * @module
 */

import type { Config } from "../config/schema.ts";
import { IMAGE_SHAPE, NUM_CLASSES } from "../data/types.ts";
import type { DatasetName } from "../vocabulary.ts";
import type { Model } from "./model.ts";
import { mnistCnn } from "./mnist_cnn.ts";
import { resnet } from "./resnet.ts";

/** The input a family's builder is asked to take: one example's shape and the classes. */
export interface ModelInput {
  /** `[H, W, C]` of one image. */
  shape: readonly [number, number, number];
  /** Number of classes. */
  classes: number;
}

/** One model family: what every family-dependent decision needs to know. */
export interface ModelFamilyEntry {
  /** Its name in messages, e.g. "the MNIST family". */
  readonly title: string;
  /** The datasets whose models are of this family (each dataset belongs to one family). */
  readonly datasets: readonly DatasetName[];
  /**
   * The dataset whose reference values fill the keys a configuration of this family leaves
   * out when it has no `dataset` key.
   */
  readonly referenceDataset: DatasetName;
  /**
   * A key whose presence marks a configuration without a `dataset` key as this family's
   * (`step_size_schedule` for the ResNet); the family without one is the default.
   */
  readonly marker?: keyof Config;
  /**
   * Reduction of the cross-entropy of the `nat` and `adv` objectives over the batch (docs/spec.md §4):
   * `sum` or `mean`. The `ar` and `adv_ar` objectives always sum it.
   */
  readonly lossReduction: "sum" | "mean";
  /** Whether the training loss adds `weight_decay · Σ ½‖W‖²` (docs/spec.md §6). */
  readonly weightDecay: boolean;
  /**
   * The optimiser (docs/spec.md §6): Adam with `learning_rate`, or momentum with
   * `step_size_schedule` and `momentum`.
   */
  readonly optimizer: "adam" | "momentum";
  /** The configuration keys this family's training reads (its optimiser's and weight decay). */
  readonly trainingKeys: readonly (keyof Config)[];
  /** Of {@link trainingKeys}, those training cannot do without. */
  readonly requiredTrainingKeys: readonly (keyof Config)[];
  /**
   * The warning for another family's training key given in a configuration of this one:
   * `key` quoted, `why` says how the family was chosen (e.g. `dataset "mnist"`).
   */
  ignoredKey(key: string, why: string): string;
  /** Builds the model for one example's shape and the number of classes. */
  build(input: ModelInput): Model;
}

/** A model family: a key of {@link MODEL_REGISTRY}, and the `kind` of its models. */
export type ModelFamily = "mnist_cnn" | "resnet";

/** Every model family, by name (the `kind` of its models). */
export const MODEL_REGISTRY: Readonly<Record<ModelFamily, ModelFamilyEntry>> = {
  mnist_cnn: {
    title: "the MNIST family",
    datasets: ["mnist", "fashion_mnist"],
    referenceDataset: "mnist",
    lossReduction: "sum",
    weightDecay: false,
    optimizer: "adam",
    trainingKeys: ["learning_rate"],
    requiredTrainingKeys: [],
    ignoredKey: (key, why) =>
      `${key} is ignored: the MNIST family (${why}) trains with Adam ("learning_rate")`,
    build: ({ shape, classes }) =>
      mnistCnn({ size: shape[0], channels: shape[2], numClasses: classes }),
  },
  resnet: {
    title: "the ResNet family",
    datasets: ["gtsrb", "flower"],
    referenceDataset: "gtsrb",
    marker: "step_size_schedule",
    lossReduction: "mean",
    weightDecay: true,
    optimizer: "momentum",
    trainingKeys: ["step_size_schedule", "weight_decay", "momentum"],
    requiredTrainingKeys: ["step_size_schedule", "weight_decay", "momentum"],
    ignoredKey: (key) =>
      `${key} is ignored by the ResNet family, which follows "step_size_schedule"`,
    build: ({ shape, classes }) =>
      resnet({ size: shape[0], channels: shape[2], numClasses: classes }),
  },
};

/** Every model family, in registry order. */
export const MODEL_FAMILIES: readonly ModelFamily[] = Object.keys(MODEL_REGISTRY) as ModelFamily[];

/** The registry entry of a family. */
export function familyEntry(family: ModelFamily): ModelFamilyEntry {
  return MODEL_REGISTRY[family];
}

/** The registry entry of a model's family. */
export function familyOf(model: Model): ModelFamilyEntry {
  return familyEntry(model.kind);
}

/**
 * The family of a dataset's model.
 * @throws Error naming the dataset when no family serves it.
 */
export function familyOfDataset(name: DatasetName): ModelFamily {
  for (const f of MODEL_FAMILIES) {
    if ((MODEL_REGISTRY[f].datasets as readonly string[]).includes(name)) return f;
  }
  throw new Error(`no model family serves dataset ${JSON.stringify(name)}`);
}

/**
 * The family of a configuration: its dataset's when it names one, else the family whose
 * {@link ModelFamilyEntry.marker} key it has, else the family without a marker.
 * `has` says whether the configuration gives a key.
 */
export function familyOfConfig(
  dataset: DatasetName | undefined,
  has: (key: keyof Config) => boolean,
): ModelFamily {
  if (dataset !== undefined) return familyOfDataset(dataset);
  const entries = MODEL_FAMILIES.map((f) => [f, familyEntry(f)] as const);
  for (const [f, e] of entries) if (e.marker !== undefined && has(e.marker)) return f;
  return entries.find(([, e]) => e.marker === undefined)![0];
}

/** The model of a dataset (docs/spec.md §2): its family's builder on the dataset's shape and classes. */
export function modelForDataset(name: DatasetName): Model {
  return familyEntry(familyOfDataset(name)).build({
    shape: IMAGE_SHAPE[name],
    classes: NUM_CLASSES[name],
  });
}
