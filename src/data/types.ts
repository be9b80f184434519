/**
 * Dataset types and the facts of each dataset (classes, image shape, pixel range), free of any
 * file-system or npm dependency (shared with the configuration and the model registry).
 * @module
 */

import type { DatasetName } from "../vocabulary.ts";

export type { DatasetName };

/** Number of classes of each dataset. */
export const NUM_CLASSES: Readonly<Record<DatasetName, number>> = {
  mnist: 10,
  fashion_mnist: 10,
  gtsrb: 43,
  flower: 17,
};

/**
 * Shape `[H, W, C]` of one image of each dataset: the input shape of its model (SPEC §2),
 * which every loaded image must have (the ResNet's global average would take any size).
 */
export const IMAGE_SHAPE: Readonly<Record<DatasetName, readonly [number, number, number]>> = {
  mnist: [28, 28, 1],
  fashion_mnist: [28, 28, 1],
  gtsrb: [32, 32, 3],
  flower: [128, 128, 3],
};

/** Pixel range of each dataset's model inputs (see {@link Dataset.pixelMax}). */
export const PIXEL_MAX: Readonly<Record<DatasetName, number>> = {
  mnist: 1,
  fashion_mnist: 1,
  gtsrb: 255,
  flower: 255,
};

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
