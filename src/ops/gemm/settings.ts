/**
 * Sizes and switches of the windowed product engine (`shaders/gemm.wgsl`).
 * @module
 */

import { WINDOW_BYTES } from "../launch.ts";

/** Columns per invocation and workgroup (64 in the WIDE form). */
export const COLS = 32;
/** Fewest rows of a product (or of a window of x) that run 8 rows per invocation. */
export const TALL_ROWS = 256;
/** Floats of one uniform window. */
export const WINDOW_FLOATS = WINDOW_BYTES / 4;
/** Windows of U bound per dispatch (bindings U0..U3 of gemm.wgsl). */
export const PER_DISPATCH = 4;
/** Longest reduction that one pass over the windows of U covers, whatever the width. */
export const ONE_PASS_K = PER_DISPATCH * WINDOW_FLOATS / (2 * COLS);
/** Widest packed U (columns) the windows handle; wider products use the direct kernels. */
export const MAX_WINDOW_COLS = 4096;

/**
 * Switches of the windowed engine (tests turn them off to compare against the direct kernels of
 * `shaders/matmul.wgsl` and `shaders/conv2d.wgsl`, which it must match).
 */
export const gemmSettings = {
  /** Products run on the windowed engine. */
  enabled: true,
  /**
   * Invocations per workgroup of the products (PWG of `shaders/gemm.wgsl`), or 0 for the
   * device profile's `productWorkgroup`.
   */
  workgroup: 0,
  /**
   * Whether the products read L, and the taps kernels of the convolutions gy, from a texel copy
   * (`true`) or from its storage buffer (`false`), or `undefined` for the device profile's
   * `streamTexels`.
   */
  lTexels: undefined as boolean | undefined,
  /**
   * vec4 reads where the L reader allows them (see `chooseLReader`), x in uniform windows for
   * few-channel forward convolutions, and their input gradient in one pass (the `taps`
   * strategies of the convolutions; tests compare both forms).
   */
  vector: true,
};

/** Whether a product with `J` columns runs on the windowed engine. */
export function windowed(I: number, J: number, K: number): boolean {
  return gemmSettings.enabled && I > 0 && J > 0 && K > 0 && J <= MAX_WINDOW_COLS;
}
