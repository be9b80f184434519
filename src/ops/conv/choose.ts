/**
 * The convolution strategies by name, and the choosers that pick one per call: the first
 * strategy, in order of preference, that fits the geometry. `direct` fits every geometry and is
 * the portable reference.
 * @module
 */

import type { DeviceProfile } from "../../gpu/profile.ts";
import type { Tensor } from "../../tensor.ts";
import { segFits } from "../gemm/mod.ts";
import { directFilter, directForward, directInput } from "./direct.ts";
import { type ConvGeo, geoWords } from "./geometry.ts";
import {
  filterTaps,
  filterTapsFit,
  forwardTaps,
  forwardTapsFit,
  inputTaps,
  inputTapsFit,
} from "./taps.ts";
import {
  col2imFit,
  filterWindowed,
  filterWindowedFit,
  forwardWindowed,
  forwardWindowedFit,
  forwardWindowedXw,
  forwardXwFit,
  inputCol2im,
  inputSeg,
  inputWindowed,
  inputWindowedFit,
} from "./windowed.ts";

/** A named way to compute one convolution direction. */
export interface Strategy<Run> {
  /** Whether it can take this geometry on this device. */
  fits(g: ConvGeo, profile: DeviceProfile): boolean;
  /** Computes the result. */
  run: Run;
}

/** Computes `conv2d` (x, w, geometry, fused bias). */
export type ForwardRun = (x: Tensor, w: Tensor, g: ConvGeo, bias?: Tensor) => Tensor;
/** Computes `conv2dBackpropInput` (gy, w, x's shape, geometry). */
export type InputRun = (gy: Tensor, w: Tensor, xShape: readonly number[], g: ConvGeo) => Tensor;
/** Computes `conv2dBackpropFilter` (x, gy, w's shape, geometry). */
export type FilterRun = (x: Tensor, gy: Tensor, wShape: readonly number[], g: ConvGeo) => Tensor;

const always = () => true;

/** Forward strategies, in order of preference. */
export const CONV_FORWARD = {
  /** `forward_taps`: blocks of pixels, w and x in uniform windows (stride 1, C < 8). */
  taps: { fits: forwardTapsFit, run: forwardTaps },
  /** `conv_forward_xw`: the windowed product reading x from windows of whole images. */
  windowed_xw: { fits: forwardXwFit, run: forwardWindowedXw },
  /** `conv_forward(_vk)`: the windowed product. */
  windowed: { fits: forwardWindowedFit, run: forwardWindowed },
  /** `forward`: the portable direct kernel. */
  direct: { fits: always, run: directForward },
} as const satisfies Record<string, Strategy<ForwardRun>>;

/** Input-gradient strategies, in order of preference. */
export const CONV_INPUT = {
  /** `input_taps`: one pass over blocks of pixels (stride 1, C < 8). */
  taps: { fits: inputTapsFit, run: inputTaps },
  /** A per-tap product and `col2im` (C < 8). */
  col2im: { fits: col2imFit, run: inputCol2im },
  /** `conv_input_seg`: blocks of 8 pixels of an image row. */
  seg: { fits: (g: ConvGeo) => segFits(geoWords(g)), run: inputSeg },
  /** `conv_input(_vk)`: the windowed product. */
  windowed: { fits: inputWindowedFit, run: inputWindowed },
  /** `backprop_input`: the portable direct kernel. */
  direct: { fits: always, run: directInput },
} as const satisfies Record<string, Strategy<InputRun>>;

/** Filter-gradient strategies, in order of preference. */
export const CONV_FILTER = {
  /** `filter_rows`: whole output rows per invocation (stride 1, KH·KW·C ≤ 32). */
  rows: {
    fits: (g: ConvGeo) => g.S === 1 && filterTapsFit(g),
    run: (x: Tensor, gy: Tensor, s: readonly number[], g: ConvGeo) => filterTaps(x, gy, s, g, true),
  },
  /** `filter_taps`: slices of output pixels per invocation (KH·KW·C ≤ 32). */
  taps: {
    fits: filterTapsFit,
    run: (x: Tensor, gy: Tensor, s: readonly number[], g: ConvGeo) =>
      filterTaps(x, gy, s, g, false),
  },
  /** `conv_filter(_vk)`: the windowed product. */
  windowed: { fits: filterWindowedFit, run: filterWindowed },
  /** `backprop_filter`: the portable direct kernel, in batch ranges. */
  direct: { fits: always, run: directFilter },
} as const satisfies Record<string, Strategy<FilterRun>>;

/** Names of the forward strategies. */
export type ConvForwardName = keyof typeof CONV_FORWARD;
/** Names of the input-gradient strategies. */
export type ConvInputName = keyof typeof CONV_INPUT;
/** Names of the filter-gradient strategies. */
export type ConvFilterName = keyof typeof CONV_FILTER;

/** The first strategy of `table` (in its order) that fits. */
function first<N extends string>(
  table: Record<N, Strategy<unknown>>,
  g: ConvGeo,
  profile: DeviceProfile,
): N {
  for (const name of Object.keys(table) as N[]) if (table[name].fits(g, profile)) return name;
  throw new Error("no convolution strategy fits"); // unreachable: `direct` always fits
}

/** The forward strategy for this geometry on this device. */
export function chooseConvForward(g: ConvGeo, profile: DeviceProfile): ConvForwardName {
  return first(CONV_FORWARD, g, profile);
}

/** The input-gradient strategy for this geometry on this device. */
export function chooseConvInput(g: ConvGeo, profile: DeviceProfile): ConvInputName {
  return first(CONV_INPUT, g, profile);
}

/** The filter-gradient strategy for this geometry on this device. */
export function chooseConvFilter(g: ConvGeo, profile: DeviceProfile): ConvFilterName {
  return first(CONV_FILTER, g, profile);
}
