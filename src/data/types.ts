/**
 * Dataset types, free of any file-system or npm dependency (shared with the GPU layers).
 * @module
 */

import type { DatasetName } from "../vocabulary.ts";

export type { DatasetName };

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
