/**
 * Data layer: IDX and NumPy (`.npy`/`.npz`) readers, OpenCV-compatible histogram
 * equalisation, dataset loaders and seeded mini-batch sampling. Produces host arrays;
 * the GPU engine is not involved.
 * @module
 */

export * from "./idx.ts";
export * from "./npy.ts";
export * from "./npz.ts";
export * from "./equalize.ts";
export * from "./datasets.ts";
export * from "./batches.ts";
