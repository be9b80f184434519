/**
 * Convolutions with few input channels by unrolled taps (`forward_taps`, `input_taps`,
 * `filter_taps` and `filter_rows` of `shaders/conv2d.wgsl`): w or x sit in uniform windows and
 * the kernels walk blocks of pixels, so each loaded value serves many products.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import { runtime } from "../../gpu/runtime.ts";
import { CONV_GY_STORAGE, CONV_GY_TEXELS as convWgsl } from "./source.ts";
import { dispatch, kernel, output, texelCopy, type Texels, WINDOW_BYTES } from "../launch.ts";
import { sum } from "../reduce.ts";
import { reshape } from "../layout.ts";
import { packParams } from "../schema.ts";
import { gemmSettings, windowed } from "../gemm/mod.ts";
import type { ConvGeo } from "./geometry.ts";
import { FILTER_PARAMS, INPUT_PARAMS } from "./schema.ts";
import { imageWindows, wWindow } from "./windows.ts";

/**
 * Whether `input_taps` takes this input gradient: stride 1, few input channels, whole vec4 of gy
 * channels, taps within its unrolled bounds and w within one uniform window.
 */
export function inputTapsFit(g: ConvGeo): boolean {
  const settings = gemmSettings.enabled && gemmSettings.vector;
  return settings && g.S === 1 && g.C < 8 && g.O % 4 === 0 && g.KH <= 5 && g.KW <= 5 &&
    g.KH * g.KW * g.C * g.O <= WINDOW_BYTES / 4;
}

/** Whether `forward_taps` takes this convolution: `input_taps`'s conditions, images in a window. */
export function forwardTapsFit(g: ConvGeo): boolean {
  return inputTapsFit(g) && g.H * g.W * g.C <= WINDOW_BYTES / 4;
}

/** Whether `filter_taps` (and at stride 1 `filter_rows`) take this filter gradient. */
export function filterTapsFit(g: ConvGeo): boolean {
  const M = g.KH * g.KW * g.C, K = g.B * g.OH * g.OW;
  return M <= 32 && g.O <= 64 && g.H * g.W * g.C <= WINDOW_BYTES / 4 && windowed(M, g.O, K);
}

/** gy from a texel copy (the profile's `streamTexels`) or in place, for the taps kernels. */
interface GyReader {
  /** The shader variant. */
  code: string;
  /** The texel copy, if any. */
  texels: Texels | null;
}

/** Reads gy as the device profile asks: from a texel copy or in place. */
function gyReader(gy: Tensor, what: string): GyReader {
  const texels = gemmSettings.lTexels ?? runtime().profile.streamTexels;
  return texels
    ? { code: convWgsl, texels: texelCopy(gy.buffer, gy.size * 4, what) }
    : { code: CONV_GY_STORAGE, texels: null };
}

/**
 * Blocks of at most `maxRows` × `maxPixels` over an image of `height` × `width`, sized to divide
 * it evenly (28 × 28 with 8 × 16: 4 × 2 blocks of 7 × 14).
 */
function pixelBlocks(
  height: number,
  width: number,
  maxRows: number,
  maxPixels: number,
): { bh: number; bw: number; rows: number; pixels: number } {
  const bh = Math.ceil(height / maxRows), bw = Math.ceil(width / maxPixels);
  return { bh, bw, rows: Math.ceil(height / bh), pixels: Math.ceil(width / bw) };
}

/** The `InputParams` words of `input_taps` and `forward_taps`. */
function tapsWords(
  g: ConvGeo,
  bw: number,
  bh: number,
  units: number,
  B0: number,
  XL: number,
  TS = 0,
): Uint32Array {
  const { B, H, W, C, OH, OW, KH, PT, PL } = g;
  return packParams(
    INPUT_PARAMS,
    { B, H, W, C, OH, OW, O4: g.O / 4, KH, PT, PL, bw, bh, units, B0, XL, TS },
    "conv2d taps",
  );
}

/**
 * A stride-1 convolution with few input channels (`forward_taps`): each invocation takes a
 * block of up to 4 rows × 8 pixels and four output channels (28×28: 4 × 7), and loads each x
 * value about three times instead of once per tap. w sits in a uniform window, x in windows of
 * whole images (one dispatch per window).
 */
export function forwardTaps(x: Tensor, w: Tensor, g: ConvGeo, bias?: Tensor): Tensor {
  const y = output([g.B, g.OH, g.OW, g.O], "conv2d");
  const { bh, bw, rows: FRB, pixels: FPB } = pixelBlocks(g.OH, g.OW, 4, 8);
  const perImage = bh * bw * (g.O / 4);
  const k = kernel({
    name: "conv2d_forward_taps",
    code: convWgsl,
    entry: "forward_taps",
    inputs: 2,
    outputs: 1,
    constants: { FPB, FRB, IKH: g.KH, IKW: g.KW, BIAS: bias ? 1 : 0 },
    windows: 2,
  });
  const ww = wWindow(w);
  const xw = imageWindows(x, g.H * g.W * g.C);
  for (const [i, window] of xw.windows.entries()) {
    const b0 = i * xw.perWindow;
    const units = Math.min(xw.perWindow, g.B - b0) * perImage;
    // x's storage binding is unused (x is read from its window)
    dispatch(k, {
      buffers: [x.buffer, (bias ?? x).buffer, y.buffer],
      params: tapsWords(g, bw, bh, units, b0, xw.leads[i]),
      groups: Math.ceil(units / 64),
      windows: [{ buffer: ww.buffer, offset: 0 }, window],
    });
  }
  xw.dispose();
  ww.dispose();
  return y;
}

/**
 * The input gradient of a stride-1 convolution with few input channels in one pass
 * (`input_taps`): each invocation takes a block of up to 8 rows × 16 pixels of one channel,
 * the blocks sized to divide the image evenly (28×28: 7 × 14), so each gy value is loaded about
 * twice. w sits in a uniform window, gy is read from a texel copy.
 */
export function inputTaps(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  g: ConvGeo,
): Tensor {
  const gx = output([...xShape], "conv2dBackpropInput");
  const { bh, bw, rows: RB, pixels: PB } = pixelBlocks(g.H, g.W, 8, 16);
  const units = g.B * bh * bw * g.C;
  const gyr = gyReader(gy, "conv2dBackpropInput gy");
  const k = kernel({
    name: "conv2d_input_taps",
    code: gyr.code,
    entry: "input_taps",
    inputs: 2,
    outputs: 1,
    constants: { PB, RB, IKH: g.KH, IKW: g.KW },
    windows: 1,
    textures: gyr.texels ? 1 : 0,
  });
  const ww = wWindow(w);
  // input_taps shares forward_taps's layout (x, bias, y, w): gy is bound as x, read there or from
  // its texels
  dispatch(k, {
    buffers: [gy.buffer, gy.buffer, gx.buffer],
    params: tapsWords(g, bw, bh, units, 0, 0, gyr.texels?.shift ?? 0),
    groups: Math.ceil(units / 16),
    windows: [{ buffer: ww.buffer, offset: 0 }],
    textures: gyr.texels ? [gyr.texels.view] : [],
  });
  gyr.texels?.dispose();
  ww.dispose();
  return gx;
}

/**
 * The filter gradient for few taps (KH·KW·C ≤ 32, e.g. a first layer on grey images): partial
 * sums per image from `filter_taps` (`rows` false) or, at stride 1, `filter_rows` (`rows` true),
 * whose uniform window holds whole images of x, then one sum over the images. `filter_rows`
 * takes whole output rows and moves the taps along them, loading one new column of x per pixel.
 */
export function filterTaps(
  x: Tensor,
  gy: Tensor,
  wShape: readonly number[],
  g: ConvGeo,
  rows: boolean,
): Tensor {
  if (rows && g.S !== 1) throw new Error("conv2dBackpropFilter: filter_rows needs stride 1");
  const KT = g.KH * g.KW * g.C;
  const xw = imageWindows(x, g.H * g.W * g.C);
  const perWindow = xw.perWindow;
  const pixels = g.OH * g.OW;
  // slices of each image's output pixels: enough workgroups for every core, short loops; a
  // workgroup takes SPW (image, slice) units (eight channels per invocation, see the shader)
  const spw = Math.floor(16 / Math.ceil(g.O / 8));
  let slices = Math.max(1, Math.min(Math.ceil(pixels / 64), Math.ceil(16 * spw / g.B)));
  let PS = Math.ceil(pixels / slices);
  // filter_rows: slices of whole rows (PS counts rows), whose taps move along each row
  if (rows) {
    PS = Math.ceil(g.OH / Math.min(g.OH, slices));
    slices = Math.ceil(g.OH / PS);
  }
  const part = output([g.B * slices, KT * g.O], "conv2dBackpropFilter (partial sums)");
  const VEC_O = g.O % 4 === 0 ? 1 : 0;
  const gyr = gyReader(gy, "conv2dBackpropFilter gy");
  const textures = gyr.texels ? 1 : 0;
  const k = rows
    ? kernel({
      name: "conv2d_filter_rows",
      code: gyr.code,
      entry: "filter_rows",
      inputs: 1,
      outputs: 1,
      constants: { KT, VEC_O, FKH: g.KH, FKW: g.KW, FC: g.C },
      windows: 1,
      textures,
    })
    : kernel({
      name: "conv2d_filter_taps",
      code: gyr.code,
      entry: "filter_taps",
      inputs: 1,
      outputs: 1,
      constants: { KT, VEC_O },
      windows: 1,
      textures,
    });
  // gy is read in place or from its texels (FGT in the shader)
  const { H, W, C, OH, OW, O, S, KW, PT, PL } = g;
  for (let w = 0; w < xw.windows.length; w++) {
    const B0 = w * perWindow;
    const nb = Math.min(perWindow, g.B - B0);
    const params = packParams(FILTER_PARAMS, {
      B0,
      slices,
      PS,
      KT,
      H,
      W,
      C,
      OH,
      OW,
      O,
      S,
      KW,
      PT,
      PL,
      units: nb * slices,
      XL: xw.leads[w],
      TS: gyr.texels?.shift ?? 0,
    }, "conv2dBackpropFilter taps");
    dispatch(k, {
      buffers: [gy.buffer, part.buffer],
      params,
      groups: Math.ceil(nb * slices / spw),
      windows: [xw.windows[w]],
      textures: gyr.texels ? [gyr.texels.view] : [],
    });
  }
  gyr.texels?.dispose();
  xw.dispose();
  const gw = reshape(sum(part, [0]), [...wShape]);
  part.dispose();
  return gw;
}
