/**
 * The operands of a windowed product: how U and L are read from their tensors.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import type { UniformWindow } from "../launch.ts";

/** How U is read from its source tensor: `U[k,j] = src[(k / K2)·S1 + (k % K2)·S2 + j·SJ]`. */
export interface UAccess {
  /** The source tensor. */
  src: Tensor;
  /** Rows (reduction length). */
  K: number;
  /** Columns. */
  J: number;
  /** Inner period of k. */
  K2: number;
  /** Stride of `k / K2`. */
  S1: number;
  /** Stride of `k % K2`. */
  S2: number;
  /** Stride of j. */
  SJ: number;
  /** Offset of U[0,0] in src (default 0). */
  base?: number;
}

/** The L readers of `shaders/gemm.wgsl` a caller names (see `chooseLReader` for the rest). */
export type LEntry =
  | "matmul"
  | "conv_forward"
  | "conv_forward_xw"
  | "conv_input"
  | "conv_input_seg"
  | "conv_filter";

/** Which L reader to use and its geometry words (see the entry points of `shaders/gemm.wgsl`). */
export interface LAccess {
  /**
   * Entry point: `matmul`, `conv_forward`, `conv_forward_xw`, `conv_input`, `conv_input_seg`
   * (U from `segWeights`, see `shaders/gemm.wgsl`) or `conv_filter`.
   */
  entry: LEntry;
  /** The L source tensor. */
  src: Tensor;
  /** Rows. */
  I: number;
  /** matmul: stride of i. */
  SI?: number;
  /** matmul: stride of k. */
  SK?: number;
  /** Convolutions: [B, H, W, C, OH, OW, O, S, KH, KW, PT, PL]. */
  conv?: number[];
  /**
   * `conv_forward_xw`: whole images of x in 64 KiB windows (window w holds the images of rows
   * [w·rowsPerWindow, (w+1)·rowsPerWindow), from float `leads[w]` of the window on), one
   * dispatch per window. The product must take one pass over U (at most four windows of it).
   */
  xWindows?: { windows: UniformWindow[]; leads: number[]; rowsPerWindow: number };
}
