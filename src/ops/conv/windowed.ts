/**
 * Convolutions as windowed products (`conv_*` entry points of `shaders/gemm.wgsl`, see
 * `../gemm/`): implicit im2col rows read per invocation, the other operand in uniform windows.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import { CONV_GY_TEXELS as convWgsl } from "./source.ts";
import { kernel, launch, output, WINDOW_BYTES } from "../launch.ts";
import { gemm, gemmSettings, ONE_PASS_K, segWeights, windowed } from "../gemm/mod.ts";
import { convWords } from "./direct.ts";
import { type ConvGeo, geoWords } from "./geometry.ts";
import { imageWindows } from "./windows.ts";

/** Whether the forward convolution fits the windowed engine. */
export function forwardWindowedFit(g: ConvGeo): boolean {
  return windowed(g.B * g.OH * g.OW, g.O, g.KH * g.KW * g.C);
}

/**
 * Whether x can be read from windows of whole images (`conv_forward_xw`): few channels (one x
 * value per 32 FMAs), an image within a window, and one pass over w.
 */
export function forwardXwFit(g: ConvGeo): boolean {
  const K = g.KH * g.KW * g.C;
  return forwardWindowedFit(g) && g.C < 8 && g.H * g.W * g.C <= WINDOW_BYTES / 4 &&
    K <= ONE_PASS_K && gemmSettings.vector;
}

/** `conv2d` as a windowed product: rows (b, oh, ow), w as [K, O] in the windows. */
export function forwardWindowed(x: Tensor, w: Tensor, g: ConvGeo, bias?: Tensor): Tensor {
  const M = g.B * g.OH * g.OW, K = g.KH * g.KW * g.C;
  return gemm(
    { entry: "conv_forward", src: x, I: M, conv: geoWords(g) },
    { src: w, K, J: g.O, K2: K, S1: 0, S2: g.O, SJ: 1 },
    [g.B, g.OH, g.OW, g.O],
    g.O,
    1,
    "conv2d",
    bias,
  );
}

/** {@linkcode forwardWindowed} with x read from windows of whole images (`conv_forward_xw`). */
export function forwardWindowedXw(x: Tensor, w: Tensor, g: ConvGeo, bias?: Tensor): Tensor {
  const M = g.B * g.OH * g.OW, K = g.KH * g.KW * g.C;
  const xs = imageWindows(x, g.H * g.W * g.C);
  const y = gemm(
    {
      entry: "conv_forward_xw",
      src: x,
      I: M,
      conv: geoWords(g),
      xWindows: { windows: xs.windows, leads: xs.leads, rowsPerWindow: xs.perWindow * g.OH * g.OW },
    },
    { src: w, K, J: g.O, K2: K, S1: 0, S2: g.O, SJ: 1 },
    [g.B, g.OH, g.OW, g.O],
    g.O,
    1,
    "conv2d",
    bias,
  );
  xs.dispose();
  return y;
}

/** Whether the input gradient fits the windowed engine as `[B·H·W, C]`. */
export function inputWindowedFit(g: ConvGeo): boolean {
  return windowed(g.B * g.H * g.W, g.C, g.KH * g.KW * g.O);
}

/** The input gradient as a windowed product: rows (b, ih, iw), w as [(kh, kw, o), c]. */
export function inputWindowed(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  g: ConvGeo,
): Tensor {
  const M = g.B * g.H * g.W, K = g.KH * g.KW * g.O;
  return gemm(
    { entry: "conv_input", src: gy, I: M, conv: geoWords(g) },
    { src: w, K, J: g.C, K2: g.O, S1: g.C * g.O, S2: 1, SJ: g.O },
    [...xShape],
    g.C,
    1,
    "conv2dBackpropInput",
  );
}

/**
 * The input gradient on `conv_input_seg` (see `segFits`): rows (b, ih, iw) in blocks of 8
 * neighbouring pixels, w re-ordered by `segWeights` in the windows.
 */
export function inputSeg(gy: Tensor, w: Tensor, xShape: readonly number[], g: ConvGeo): Tensor {
  const u = segWeights(w, "conv2dBackpropInput");
  const K = u.shape[0];
  const gx = gemm(
    { entry: "conv_input_seg", src: gy, I: g.B * g.H * g.W, conv: geoWords(g) },
    { src: u, K, J: g.C, K2: K, S1: 0, S2: g.C, SJ: 1 },
    [...xShape],
    g.C,
    1,
    "conv2dBackpropInput",
  );
  u.dispose();
  return gx;
}

/** Whether the col2im form fits: few input channels and the per-tap product windowed. */
export function col2imFit(g: ConvGeo): boolean {
  return g.C < 8 && windowed(g.B * g.OH * g.OW, g.KH * g.KW * g.C, g.O);
}

/**
 * The input gradient for few input channels: z[(b,oh,ow), (kh,kw,c)] = Σ_o gy·w as one
 * product (every gy value feeds all KH·KW·C taps), then each input pixel adds up its taps
 * (`col2im`). The direct form would use only C of every 32 columns of the windowed engine.
 */
export function inputCol2im(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  g: ConvGeo,
): Tensor {
  const P = g.B * g.OH * g.OW, taps = g.KH * g.KW * g.C;
  const z = gemm(
    { entry: "matmul", src: gy, I: P, SI: g.O, SK: 1 },
    { src: w, K: g.O, J: taps, K2: g.O, S1: 0, S2: 1, SJ: g.O },
    [P, taps],
    taps,
    1,
    "conv2dBackpropInput (taps)",
  );
  const gx = output([...xShape], "conv2dBackpropInput");
  const n = g.B * g.H * g.W * g.C;
  launch(
    kernel({ name: "conv2d_col2im", code: convWgsl, entry: "col2im", inputs: 1, outputs: 1 }),
    [z.buffer, gx.buffer],
    convWords(g, n, 0),
    n,
  );
  z.dispose();
  return gx;
}

/** Whether the filter gradient fits the windowed engine as `[KH·KW·C, O]`. */
export function filterWindowedFit(g: ConvGeo): boolean {
  return windowed(g.KH * g.KW * g.C, g.O, g.B * g.OH * g.OW);
}

/** The filter gradient as a windowed product: rows (kh, kw, c), gy as [(b, oh, ow), o]. */
export function filterWindowed(
  x: Tensor,
  gy: Tensor,
  wShape: readonly number[],
  g: ConvGeo,
): Tensor {
  const M = g.KH * g.KW * g.C, K = g.B * g.OH * g.OW;
  return gemm(
    { entry: "conv_filter", src: x, I: M, conv: geoWords(g) },
    { src: gy, K, J: g.O, K2: K, S1: 0, S2: g.O, SJ: 1 },
    [...wShape],
    g.O,
    1,
    "conv2dBackpropFilter",
  );
}
