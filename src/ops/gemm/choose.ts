/**
 * The choices inside a windowed product: which L reader (entry point of `shaders/gemm.wgsl`)
 * and how `matmul` reads L.
 * @module
 */

import { gemmSettings, TALL_ROWS, windowed } from "./settings.ts";
import type { LAccess } from "./types.ts";
import { MATMUL_READS } from "../codes.ts";

/** The entry points of `shaders/gemm.wgsl` that read L. */
export type LReader =
  | LAccess["entry"]
  | "conv_input_vk"
  | "conv_forward_vk"
  | "conv_filter_vk";

/**
 * The entry point for `l`: where the channels L is read along are a multiple of 4,
 * `conv_input_vk` (gy), `conv_forward_vk` and `conv_filter_vk` (x) read four of them per texel
 * fetch (see `shaders/gemm.wgsl`); the others read L one value at a time.
 */
export function chooseLReader(l: LAccess): LReader {
  const C = l.conv?.[3] ?? 0, O = l.conv?.[6] ?? 0;
  if (!gemmSettings.vector) return l.entry;
  if (l.entry === "conv_input" && O % 4 === 0) return "conv_input_vk";
  if (l.entry === "conv_forward" && C % 4 === 0) return "conv_forward_vk";
  if (l.entry === "conv_filter" && C % 4 === 0) return "conv_filter_vk";
  return l.entry;
}

/** How `matmul` reads L: in texels of four rows or of four steps where strides allow. */
export function chooseMatmulReads(l: LAccess, K: number): number {
  const SI = l.SI ?? 0, SK = l.SK ?? 0;
  if (!gemmSettings.vector) return MATMUL_READS.single;
  if (SI === 1 && l.I % 4 === 0 && SK % 4 === 0) return MATMUL_READS.row_quads;
  if (SK === 1 && SI % 4 === 0 && K % 4 === 0) return MATMUL_READS.step_quads;
  return MATMUL_READS.single;
}

/** conv_input_seg's invocations: blocks of 8 pixels of an image row (geometry words `conv`). */
export function segBlocks(conv: number[]): number {
  const [B, H, W] = conv;
  return B * H * Math.ceil(W / 8);
}

/**
 * Whether the input gradient of a convolution with geometry words `conv` (see {@linkcode
 * LAccess}) can run on `conv_input_seg`: stride 1, KW ≤ 5, O % 4 = 0, image rows of 7 pixels or
 * more, and rows enough for 8 per invocation.
 */
export function segFits(conv: number[]): boolean {
  const [B, H, W, C, , , O, S, KH, KW] = conv;
  const K = KH * KW * O;
  return gemmSettings.vector && S === 1 && KW <= 5 && O % 4 === 0 && W >= 7 &&
    B * H * W >= TALL_ROWS && windowed(B * H * W, C, K);
}
