/**
 * 2-D convolution (NHWC, HWIO, TensorFlow SAME/VALID padding) and its two gradients.
 * The three ops are each other's adjoints, so derivatives of any order are convolutions.
 * Kernels: the windowed products of `shaders/gemm.wgsl` (`conv_forward`, `conv_input`,
 * `conv_filter`, and `conv_forward_xw` for few input channels; see `gemm.ts`), and
 * `shaders/conv2d.wgsl`: `forward_taps`, `input_taps`, `col2im`, `filter_taps` and `filter_rows`
 * for few input channels, and the direct `forward`, `backprop_input`, `backprop_filter` for
 * products wider than the windows.
 * @module
 */

import convWgsl from "../../shaders/conv2d.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, expectRank, kernel, launch, launchGroups, output, Params } from "./launch.ts";
import { sum } from "./reduce.ts";
import { add } from "./elementwise.ts";
import { gemm, gemmSettings, ONE_PASS_K, pack, segFits, segWeights, windowed } from "./gemm.ts";
import { runtime, type UniformWindow, WINDOW_BYTES } from "../gpu/runtime.ts";
import { reshape } from "./layout.ts";

/** Padding modes with TensorFlow semantics. */
export type Padding = "SAME" | "VALID";

/** Options of the convolution ops. */
export interface ConvOptions {
  /** Stride in both spatial dimensions (default 1). */
  stride?: number;
  /** `SAME` (default) or `VALID`. */
  padding?: Padding;
}

/** Options of {@linkcode conv2d}: geometry and an optional fused bias. */
export interface Conv2dOptions extends ConvOptions {
  /** A bias `[O]` added to every output pixel inside the kernel. */
  bias?: Tensor;
}

/** Output size and padding before, for one spatial dimension (TensorFlow rules). */
export function convGeometry(
  size: number,
  k: number,
  stride: number,
  padding: Padding,
): { out: number; before: number } {
  if (padding === "SAME") {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + k - size, 0);
    return { out, before: Math.floor(total / 2) };
  }
  if (padding === "VALID") {
    return { out: Math.max(Math.ceil((size - k + 1) / stride), 0), before: 0 };
  }
  throw new Error(`padding must be "SAME" or "VALID", got ${JSON.stringify(padding)}`);
}

interface Geo {
  B: number;
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  O: number;
  KH: number;
  KW: number;
  S: number;
  PT: number;
  PL: number;
}

function geometry(
  xShape: readonly number[],
  wShape: readonly number[],
  o: ConvOptions,
  op: string,
): Geo {
  if (xShape.length !== 4) throw new Error(`${op}: input must be NHWC (rank 4), got [${xShape}]`);
  if (wShape.length !== 4) throw new Error(`${op}: kernel must be HWIO (rank 4), got [${wShape}]`);
  const [B, H, W, C] = xShape;
  const [KH, KW, CI, O] = wShape;
  if (CI !== C) {
    throw new Error(`${op}: input has ${C} channels but kernel [${wShape}] expects ${CI}`);
  }
  const S = o.stride ?? 1;
  if (!Number.isInteger(S) || S < 1) {
    throw new Error(`${op}: stride must be a positive integer, got ${S}`);
  }
  const pad = o.padding ?? "SAME";
  const gh = convGeometry(H, KH, S, pad);
  const gw = convGeometry(W, KW, S, pad);
  return { B, H, W, C, OH: gh.out, OW: gw.out, O, KH, KW, S, PT: gh.before, PL: gw.before };
}

function params(g: Geo, M: number, N: number, b0 = 0): Params {
  return new Params().u32(
    g.B,
    g.H,
    g.W,
    g.C,
    g.OH,
    g.OW,
    g.O,
    g.S,
    g.KH,
    g.KW,
    g.PT,
    g.PL,
    M,
    N,
    Math.ceil(N / 32),
    b0,
  );
}

function run(
  entry: string,
  a: Tensor,
  b: Tensor,
  outShape: number[],
  g: Geo,
  M: number,
  N: number,
  b0 = 0,
  bias?: Tensor,
): Tensor {
  const out = output(outShape, `conv2d_${entry}`);
  if (out.size === 0) return out;
  const fwd = entry === "forward";
  const k = kernel({
    name: `conv2d_${entry}`,
    code: convWgsl,
    entry,
    inputs: fwd ? 3 : 2,
    outputs: 1,
    constants: fwd ? { BIAS: bias ? 1 : 0 } : undefined,
  });
  launchGroups(
    k,
    fwd ? [a.buffer, b.buffer, (bias ?? a).buffer, out.buffer] : [a.buffer, b.buffer, out.buffer],
    params(g, M, N, b0),
    Math.ceil(M / 32) * Math.ceil(N / 32),
  );
  return out;
}

/**
 * Loop iterations one `backprop_filter` invocation may run. llvmpipe, Mesa's software Vulkan
 * driver, ends every shader loop after 65535 iterations in total per invocation
 * (LP_MAX_TGSI_LOOP_ITERATIONS, shared by nested loops), which silently truncated the sum over
 * (b, oh, ow); larger batches are split into batch ranges whose partial gradients are added.
 */
const FILTER_LOOP_BUDGET = 60000;

function backpropFilterRaw(x: Tensor, gy: Tensor, wShape: number[], g: Geo): Tensor {
  const M = g.KH * g.KW * g.C;
  const perImage = g.OH * g.OW + g.OH + 1;
  const step = Math.max(1, Math.floor(FILTER_LOOP_BUDGET / perImage));
  let total: Tensor | null = null;
  for (let b0 = 0; b0 === 0 || b0 < g.B; b0 += step) {
    const part = run(
      "backprop_filter",
      x,
      gy,
      wShape,
      { ...g, B: Math.min(g.B, b0 + step) },
      M,
      g.O,
      b0,
    );
    if (!total) total = part;
    else {
      const sum = add(total, part);
      total.dispose();
      part.dispose();
      total = sum;
    }
  }
  return total!;
}

/**
 * The input gradient for few input channels: z[(b,oh,ow), (kh,kw,c)] = Σ_o gy·w as one
 * product (every gy value feeds all KH·KW·C taps), then each input pixel adds up its taps.
 * The direct form would use only C of every 32 columns of the windowed engine.
 */
function backpropInputCol2im(gy: Tensor, w: Tensor, xShape: readonly number[], g: Geo): Tensor {
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
    params(g, n, 0),
    n,
  );
  z.dispose();
  return gx;
}

/**
 * Whether {@linkcode backpropInputTaps} takes this input gradient: stride 1, few input channels,
 * whole vec4 of gy channels, taps within its unrolled bounds and w within one uniform window.
 */
function inputTapsFit(g: Geo): boolean {
  const settings = gemmSettings.enabled && gemmSettings.vector;
  return settings && g.S === 1 && g.C < 8 && g.O % 4 === 0 && g.KH <= 5 && g.KW <= 5 &&
    g.KH * g.KW * g.C * g.O <= WINDOW_BYTES / 4;
}

/**
 * The input gradient of a stride-1 convolution with few input channels in one pass
 * (`input_taps`): each invocation takes a block of up to 8 rows × 16 pixels of one channel,
 * the blocks sized to divide the image evenly (28×28: 7 × 14), so each gy value is loaded about
 * twice. The col2im form loads gy once, but for a 25-column product (7 of its 32 columns idle),
 * and then 25 products per pixel. w sits in a uniform window, gy is read from a texel copy.
 */
function backpropInputTaps(gy: Tensor, w: Tensor, xShape: readonly number[], g: Geo): Tensor {
  const gx = output([...xShape], "conv2dBackpropInput");
  const { bh, bw, rows: RB, pixels: PB } = pixelBlocks(g.H, g.W, 8, 16);
  const units = g.B * bh * bw * g.C;
  const consts = { PB, RB, IKH: g.KH, IKW: g.KW };
  const k = kernel({
    name: "conv2d_input_taps",
    code: convWgsl,
    entry: "input_taps",
    inputs: 2,
    outputs: 1,
    constants: consts,
    windows: 1,
    textures: 1,
  });
  const ww = wWindow(w);
  const rt = runtime();
  const gyt = rt.texels(gy.buffer, gy.size * 4, "conv2dBackpropInput gy");
  const words = tapsWords(g, bw, bh, units, 0, 0, gyt.shift);
  // the storage inputs are unused (input_taps shares forward_taps's layout: x, bias, y, w;
  // it reads gy from its texels)
  rt.dispatch(
    k,
    [gy.buffer, gy.buffer, gx.buffer],
    words,
    rt.grid(Math.ceil(units / 16)),
    [{ buffer: ww.buffer, offset: 0 }],
    [gyt.view],
  );
  gyt.dispose();
  ww.dispose();
  return gx;
}

/**
 * Whether {@linkcode forwardTaps} takes this convolution: the conditions of `input_taps`, and
 * whole images of x within one uniform window.
 */
function forwardTapsFit(g: Geo): boolean {
  return inputTapsFit(g) && g.H * g.W * g.C <= WINDOW_BYTES / 4;
}

/**
 * A stride-1 convolution with few input channels (`forward_taps`): each invocation takes a
 * block of up to 4 rows × 8 pixels and four output channels (28×28: 4 × 7), and loads each x
 * value about three times instead of once per tap. w sits in a uniform window, x in windows of
 * whole images (one dispatch per window).
 */
function forwardTaps(x: Tensor, w: Tensor, g: Geo, bias?: Tensor): Tensor {
  const y = output([g.B, g.OH, g.OW, g.O], "conv2d");
  const { bh, bw, rows: FRB, pixels: FPB } = pixelBlocks(g.OH, g.OW, 4, 8);
  const perImage = bh * bw * (g.O / 4);
  const k = kernel({
    name: "conv2d_forward_taps",
    code: convWgsl,
    entry: "forward_taps",
    inputs: 2,
    outputs: 1,
    constants: {
      FPB,
      FRB,
      IKH: g.KH,
      IKW: g.KW,
      BIAS: bias ? 1 : 0,
    },
    windows: 2,
  });
  const ww = wWindow(w);
  const xw = imageWindows(x, g.H * g.W * g.C);
  const rt = runtime();
  for (const [i, window] of xw.windows.entries()) {
    const b0 = i * xw.perWindow;
    const units = Math.min(xw.perWindow, g.B - b0) * perImage;
    const words = tapsWords(g, bw, bh, units, b0, xw.leads[i]);
    // x's storage binding is unused (x is read from its window)
    rt.dispatch(
      k,
      [x.buffer, (bias ?? x).buffer, y.buffer],
      words,
      rt.grid(Math.ceil(units / 64)),
      [
        { buffer: ww.buffer, offset: 0 },
        window,
      ],
    );
  }
  xw.dispose();
  ww.dispose();
  return y;
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

/** The `InputParams` words of `input_taps` and `forward_taps` (see `shaders/conv2d.wgsl`). */
function tapsWords(
  g: Geo,
  bw: number,
  bh: number,
  units: number,
  b0: number,
  lead: number,
  textureShift = 0,
): Uint32Array {
  return new Params().u32(g.B, g.H, g.W, g.C, g.OH, g.OW, g.O / 4, g.KH, g.PT, g.PL)
    .u32(bw, bh, units, b0, lead, textureShift).build();
}

/** w copied to the start of a uniform window (its buffer holds the window's 64 KiB). */
function wWindow(w: Tensor): Tensor {
  const n = w.size;
  return pack({ src: w, K: 1, J: n, K2: 1, S1: 0, S2: 0, SJ: 1 }, n, 1, WINDOW_BYTES / 4, "w");
}

/**
 * The filter gradient for few taps (KH·KW·C ≤ 32, e.g. a first layer on grey images): partial
 * sums per image from `filter_taps`, whose uniform window holds whole images of x, then one
 * sum over the images. At stride 1, `filter_rows` takes whole output rows and moves the taps
 * along them, loading one new column of x per pixel (conv1's filter gradient at batch 50:
 * 12.8 → 9.9 ms; most of the rest is the gy loads).
 */
function backpropFilterTaps(x: Tensor, gy: Tensor, wShape: readonly number[], g: Geo): Tensor {
  const KT = g.KH * g.KW * g.C;
  const image = g.H * g.W * g.C;
  const xw = imageWindows(x, image);
  const perWindow = xw.perWindow;
  const pixels = g.OH * g.OW;
  // slices of each image's output pixels: enough workgroups for every core, short loops; a
  // workgroup takes SPW (image, slice) units (eight channels per invocation, see the shader)
  const spw = Math.floor(16 / Math.ceil(g.O / 8));
  let slices = Math.max(1, Math.min(Math.ceil(pixels / 64), Math.ceil(16 * spw / g.B)));
  let PS = Math.ceil(pixels / slices);
  // at stride 1, slices of whole rows (PS counts rows), whose taps move along each row
  const rows = g.S === 1;
  if (rows) {
    PS = Math.ceil(g.OH / Math.min(g.OH, slices));
    slices = Math.ceil(g.OH / PS);
  }
  const part = output([g.B * slices, KT * g.O], "conv2dBackpropFilter (partial sums)");
  const windows = xw.windows.length;
  const VEC_O = g.O % 4 === 0 ? 1 : 0;
  const k = rows
    ? kernel({
      name: "conv2d_filter_rows",
      code: convWgsl,
      entry: "filter_rows",
      inputs: 1,
      outputs: 1,
      constants: {
        KT,
        VEC_O,
        FKH: g.KH,
        FKW: g.KW,
        FC: g.C,
      },
      windows: 1,
      textures: 1,
    })
    : kernel({
      name: "conv2d_filter_taps",
      code: convWgsl,
      entry: "filter_taps",
      inputs: 1,
      outputs: 1,
      constants: { KT, VEC_O },
      windows: 1,
      textures: 1,
    });
  const rt = runtime();
  // gy is read from its texels (FGT in the shader), the storage binding is unused
  const gyt = rt.texels(gy.buffer, gy.size * 4, "conv2dBackpropFilter gy");
  for (let w = 0; w < windows; w++) {
    const b0 = w * perWindow;
    const nb = Math.min(perWindow, g.B - b0);
    const words = new Params().u32(b0, slices, PS, KT, g.H, g.W, g.C, g.OH, g.OW, g.O, g.S, g.KW)
      .u32(g.PT, g.PL, nb * slices, xw.leads[w], gyt.shift).build();
    rt.dispatch(
      k,
      [gy.buffer, part.buffer],
      words,
      rt.grid(Math.ceil(nb * slices / spw)),
      [xw.windows[w]],
      [gyt.view],
    );
  }
  gyt.dispose();
  xw.dispose();
  const gw = reshape(sum(part, [0]), [...wShape]);
  part.dispose();
  return gw;
}

/** Whole images of x in 64 KiB uniform windows (see {@linkcode imageWindows}). */
interface ImageWindows {
  /** Images per window: window w holds images [w·perWindow, (w+1)·perWindow). */
  perWindow: number;
  /** The windows, in order. */
  windows: UniformWindow[];
  /** Floats of each window before its first image. */
  leads: number[];
  /** Releases the copied part, if any. */
  dispose(): void;
}

/**
 * x in windows of whole images for `filter_taps`, `forward_taps` and `conv_forward_xw`, the
 * images spread evenly over the fewest windows. Each window is bound in place at the last
 * 256-byte-aligned offset at or before its first image (at most 63 floats before it: its
 * `lead`), or where that binding would reach past the end of x's buffer, at the buffer's last
 * 64 KiB (buffers are whole 256-byte units, so that offset is aligned too). Only where that
 * cannot hold the images (x smaller than one window, or an image too large to leave room for a
 * lead) are the windows copied, each to the start of a window of its own.
 */
function imageWindows(x: Tensor, image: number): ImageWindows {
  const floats = WINDOW_BYTES / 4;
  const B = x.shape[0];
  const bufferFloats = x.buffer.size / 4;
  const perWindow = Math.ceil(B / Math.ceil(B / Math.max(1, Math.floor((floats - 63) / image))));
  const windows: UniformWindow[] = [];
  const leads: number[] = [];
  let inPlace = bufferFloats >= floats;
  for (let b0 = 0; b0 < B && inPlace; b0 += perWindow) {
    const start = b0 * image, end = Math.min(B, b0 + perWindow) * image;
    const offset = Math.min(Math.floor(start / 64) * 64, bufferFloats - floats);
    windows.push({ buffer: x.buffer, offset: offset * 4 });
    leads.push(start - offset);
    inPlace = end - offset <= floats;
  }
  if (inPlace) return { perWindow, windows, leads, dispose: () => {} };
  const count = Math.ceil(B / perWindow), stride = perWindow * image;
  const copied = pack(
    { src: x, K: count, J: Math.min(stride, floats), K2: 1, S1: stride, S2: 0, SJ: 1 },
    floats,
    1,
    count * floats,
    "x windows (copied)",
  );
  return {
    perWindow,
    windows: Array.from({ length: count }, (_, w) => ({
      buffer: copied.buffer,
      offset: w * WINDOW_BYTES,
    })),
    leads: new Array(count).fill(0),
    dispose: () => copied.dispose(),
  };
}

/** The geometry words of the windowed entry points (see `shaders/gemm.wgsl`). */
function geoWords(g: Geo): number[] {
  return [g.B, g.H, g.W, g.C, g.OH, g.OW, g.O, g.S, g.KH, g.KW, g.PT, g.PL];
}

function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) expectDType(t, "f32", op);
}

/**
 * `y = conv2d(x, w) (+ bias)`: x `[B,H,W,C]`, w `[KH,KW,C,O]`, bias `[O]` → y `[B,OH,OW,O]`.
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  checkF32("conv2d", x, w);
  const g = geometry(x.shape, w.shape, options, "conv2d");
  const bias = options.bias;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.O)) {
    throw new Error(`conv2d: bias must have shape [${g.O}], got [${bias.shape}]`);
  }
  const geo: ConvOptions = { stride: options.stride, padding: options.padding };
  const M = g.B * g.OH * g.OW, K = g.KH * g.KW * g.C;
  const image = g.H * g.W * g.C;
  // few input channels at stride 1: blocks of pixels (forward_taps); otherwise the windowed
  // product, with x read from windows of whole images where it has few channels (one x value
  // per 32 FMAs)
  const taps = forwardTapsFit(g);
  const onEngine = !taps && windowed(M, g.O, K);
  const xWindows = g.C < 8 && image <= WINDOW_BYTES / 4 && K <= ONE_PASS_K && gemmSettings.vector;
  const xs = onEngine && xWindows ? imageWindows(x, image) : null;
  const y = taps ? forwardTaps(x, w, g, bias) : onEngine
    // rows (b, oh, ow), w as [K, O] in the windows
    ? gemm(
      xs
        ? {
          entry: "conv_forward_xw",
          src: x,
          I: M,
          conv: geoWords(g),
          xWindows: {
            windows: xs.windows,
            leads: xs.leads,
            rowsPerWindow: xs.perWindow * g.OH * g.OW,
          },
        }
        : { entry: "conv_forward", src: x, I: M, conv: geoWords(g) },
      { src: w, K, J: g.O, K2: K, S1: 0, S2: g.O, SJ: 1 },
      [g.B, g.OH, g.OW, g.O],
      g.O,
      1,
      "conv2d",
      bias,
    )
    : run("forward", x, w, [g.B, g.OH, g.OW, g.O], g, M, g.O, 0, bias);
  xs?.dispose();
  return record(y, "conv2d", bias ? [x, w, bias] : [x, w], (gy, needs) => [
    needs[0] ? conv2dBackpropInput(gy, w, x.shape, geo) : null,
    needs[1] ? conv2dBackpropFilter(x, gy, w.shape, geo) : null,
    ...(bias ? [needs[2] ? sum(gy, [0, 1, 2]) : null] : []),
  ]);
}

/** Gradient of `⟨gy, conv2d(x, w)⟩` with respect to x (x has `xShape`). Linear in gy and in w. */
export function conv2dBackpropInput(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  options: ConvOptions = {},
): Tensor {
  checkF32("conv2dBackpropInput", gy, w);
  expectRank(gy, 4, "conv2dBackpropInput", "gy");
  const g = geometry(xShape, w.shape, options, "conv2dBackpropInput");
  checkGy(gy, g, "conv2dBackpropInput");
  const M = g.B * g.H * g.W, K = g.KH * g.KW * g.O;
  const taps = g.KH * g.KW * g.C;
  const gx = inputTapsFit(g)
    ? backpropInputTaps(gy, w, xShape, g)
    : g.C < 8 && windowed(g.B * g.OH * g.OW, taps, g.O)
    ? backpropInputCol2im(gy, w, xShape, g)
    : segFits(geoWords(g))
    ? backpropInputSeg(gy, w, xShape, g)
    : windowed(M, g.C, K)
    // rows (b, ih, iw), w as [(kh, kw, o), c] in the windows
    ? gemm(
      { entry: "conv_input", src: gy, I: M, conv: geoWords(g) },
      { src: w, K, J: g.C, K2: g.O, S1: g.C * g.O, S2: 1, SJ: g.O },
      [...xShape],
      g.C,
      1,
      "conv2dBackpropInput",
    )
    : run("backprop_input", gy, w, [...xShape], g, M, g.C);
  return record(gx, "conv2dBackpropInput", [gy, w], (G, needs) => [
    needs[0] ? conv2d(G, w, options) : null,
    needs[1] ? conv2dBackpropFilter(G, gy, w.shape, options) : null,
  ]);
}

/**
 * The input gradient on `conv_input_seg` (see `segFits`): rows (b, ih, iw) in blocks of 8
 * neighbouring pixels, w re-ordered by `segWeights` in the windows.
 */
function backpropInputSeg(gy: Tensor, w: Tensor, xShape: readonly number[], g: Geo): Tensor {
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

/** Gradient of `⟨gy, conv2d(x, w)⟩` with respect to w (w has `wShape`). Linear in x and in gy. */
export function conv2dBackpropFilter(
  x: Tensor,
  gy: Tensor,
  wShape: readonly number[],
  options: ConvOptions = {},
): Tensor {
  checkF32("conv2dBackpropFilter", x, gy);
  expectRank(gy, 4, "conv2dBackpropFilter", "gy");
  const g = geometry(x.shape, wShape, options, "conv2dBackpropFilter");
  checkGy(gy, g, "conv2dBackpropFilter");
  const M = g.KH * g.KW * g.C, K = g.B * g.OH * g.OW;
  const gw = M <= 32 && g.O <= 64 && g.H * g.W * g.C <= WINDOW_BYTES / 4 && windowed(M, g.O, K)
    ? backpropFilterTaps(x, gy, wShape, g)
    : windowed(M, g.O, K)
    // rows (kh, kw, c), gy as [(b, oh, ow), o] in the windows
    ? gemm(
      { entry: "conv_filter", src: x, I: M, conv: geoWords(g) },
      { src: gy, K, J: g.O, K2: K, S1: 0, S2: g.O, SJ: 1 },
      [...wShape],
      g.O,
      1,
      "conv2dBackpropFilter",
    )
    : backpropFilterRaw(x, gy, [...wShape], g);
  return record(gw, "conv2dBackpropFilter", [x, gy], (G, needs) => [
    needs[0] ? conv2dBackpropInput(gy, G, x.shape, options) : null,
    needs[1] ? conv2d(x, G, options) : null,
  ]);
}

function checkGy(gy: Tensor, g: Geo, op: string): void {
  const want = [g.B, g.OH, g.OW, g.O];
  if (gy.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${op}: gradient has shape [${gy.shape}], expected [${want}]`);
  }
}
