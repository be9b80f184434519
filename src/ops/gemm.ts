/**
 * The windowed product engine behind `matmul` and the convolutions: `out[I,J] (+)= Σ_k
 * L[i,k]·U[k,j]` with U packed into 64 KiB uniform-buffer windows and L read per invocation
 * (see `shaders/gemm.wgsl` for the layout and why). Internal to the ops; the public ops fall
 * back to their direct kernels for products wider than {@linkcode MAX_WINDOW_COLS} columns.
 * @module
 */

import gemmWgsl from "../../shaders/gemm.wgsl" with { type: "text" };
import layoutWgsl from "../../shaders/layout.wgsl" with { type: "text" };
import { runtime, type UniformWindow, WINDOW_BYTES } from "../gpu/runtime.ts";
import type { Tensor } from "../tensor.ts";
import { kernel, launch, launchTexels, MAX_RANK, output, Params, viaTexels } from "./launch.ts";

const COLS = 32; // columns per invocation and workgroup (64 in the WIDE form)
/** Fewest rows of a product (or of a window of x) that run 8 rows per invocation. */
const TALL_ROWS = 256;
const WINDOW_FLOATS = WINDOW_BYTES / 4;
/** Windows of U bound per dispatch (bindings U0..U3 of gemm.wgsl). */
const PER_DISPATCH = 4;
/** Longest reduction that one pass over the windows of U covers, whatever the width. */
export const ONE_PASS_K = PER_DISPATCH * WINDOW_FLOATS / (2 * COLS);
/** Widest packed U (columns) the windows handle; wider products use the direct kernels. */
export const MAX_WINDOW_COLS = 4096;

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

/** Which L reader to use and its geometry words (see the entry points of `shaders/gemm.wgsl`). */
export interface LAccess {
  /**
   * Entry point: `matmul`, `conv_forward`, `conv_forward_xw`, `conv_input`, `conv_input_seg`
   * (U from {@linkcode segWeights}, see `shaders/gemm.wgsl`) or `conv_filter`.
   */
  entry:
    | "matmul"
    | "conv_forward"
    | "conv_forward_xw"
    | "conv_input"
    | "conv_input_seg"
    | "conv_filter";
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

/**
 * The entry point for `l`: where the channels L is read along are a multiple of 4,
 * `conv_input_vk` (gy), `conv_forward_vk` and `conv_filter_vk` (x) read four of them per texel
 * fetch (see `shaders/gemm.wgsl`); the others read L one value at a time.
 */
export function entryPoint(l: LAccess): string {
  const C = l.conv?.[3] ?? 0, O = l.conv?.[6] ?? 0;
  if (!gemmSettings.vector) return l.entry;
  if (l.entry === "conv_input" && O % 4 === 0) return "conv_input_vk";
  if (l.entry === "conv_forward" && C % 4 === 0) return "conv_forward_vk";
  if (l.entry === "conv_filter" && C % 4 === 0) return "conv_filter_vk";
  return l.entry;
}

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
   * vec4 reads where {@linkcode entryPoint} allows them, x in uniform windows for few-channel
   * forward convolutions, and their input gradient in one pass (`input_taps` in `conv.ts`,
   * instead of a per-tap product and col2im; tests compare both forms).
   */
  vector: true,
};

/** How `matmul` reads L (override MQ of `shaders/gemm.wgsl`): in texels of four rows or steps. */
function matmulQuads(l: LAccess, K: number): number {
  const SI = l.SI ?? 0, SK = l.SK ?? 0;
  if (!gemmSettings.vector) return 0;
  if (SI === 1 && l.I % 4 === 0 && SK % 4 === 0) return 1;
  if (SK === 1 && SI % 4 === 0 && K % 4 === 0) return 2;
  return 0;
}

/** conv_input_seg's invocations: blocks of 8 pixels of an image row (geometry words `conv`). */
function segBlocks(conv: number[]): number {
  const [B, H, W] = conv;
  return B * H * Math.ceil(W / 8);
}

/**
 * Whether the input gradient of a convolution with geometry words `conv` (see {@linkcode
 * LAccess}) runs on `conv_input_seg`: stride 1, KW ≤ 5, O % 4 = 0, image rows of 7 pixels or
 * more, and rows enough for 8 per invocation.
 */
export function segFits(conv: number[]): boolean {
  const [B, H, W, C, , , O, S, KH, KW] = conv;
  const K = KH * KW * O;
  return gemmSettings.vector && S === 1 && KW <= 5 && O % 4 === 0 && W >= 7 &&
    B * H * W >= TALL_ROWS && windowed(B * H * W, C, K);
}

/**
 * w `[KH, KW, C, O]` as conv_input_seg's U: `[KH·8·O, C]`, row `((kh·O/4 + oq)·8 + kw)·4 + o4`
 * holding `w[kh, kw, :, 4·oq + o4]` (zero for kw ≥ KW).
 */
export function segWeights(w: Tensor, origin: string): Tensor {
  const [KH, KW, C, O] = w.shape;
  const out = output([KH * 8 * O, C], `${origin} (re-ordered w)`);
  launch(
    kernel({
      name: "gemm_seg_weights",
      code: gemmWgsl,
      entry: "seg_weights",
      inputs: 1,
      outputs: 1,
    }),
    [w.buffer, out.buffer],
    new Params().u32(KH, KW, C, O, 0, 0, 0, 0, 0, 0, 0, 0),
    KH * 8 * O * C,
  );
  return out;
}

/** Whether a product with `J` columns runs on the windowed engine. */
export function windowed(I: number, J: number, K: number): boolean {
  return gemmSettings.enabled && I > 0 && J > 0 && K > 0 && J <= MAX_WINDOW_COLS;
}

/**
 * U laid out in `G` column groups of `JW` columns, `[G][K][JW]` (columns past J zero), in a
 * tensor of at least `floats` floats (the rest unwritten).
 */
export function pack(u: UAccess, JW: number, G: number, floats: number, origin: string): Tensor {
  const packed = output([Math.max(floats, G * u.K * JW)], origin);
  const n = G * u.K * JW;
  const params = (shift = 0) =>
    new Params().u32(u.K, u.J, JW, u.K2, u.S1, u.S2, u.SJ, G, u.base ?? 0, shift, 0, 0);
  const buffers = [u.src.buffer, packed.buffer];
  // four per invocation, src from a texel copy, where the pack is large and reads most of src
  // (the copy is all of it); JW is a multiple of 4
  if (viaTexels(n) && u.src.size <= 4 * u.K * u.J) {
    const k = kernel({
      name: "gemm_pack",
      code: gemmWgsl,
      entry: "pack4_tex",
      inputs: 1,
      outputs: 1,
      textures: 1,
    });
    launchTexels(k, buffers, [u.src.buffer], u.src.size * 4, params, n / 4);
  } else {launch(
      kernel({ name: "gemm_pack", code: gemmWgsl, entry: "pack", inputs: 1, outputs: 1 }),
      buffers,
      params(),
      n,
    );}
  return packed;
}

/**
 * Computes `out[i·OSI + j·OSJ] = (bias) + Σ_k L[i,k]·U[k,j]` into a new tensor of `outShape`.
 * `bias` is indexed by j (`biasRows` false) or by i (`biasRows` true).
 */
export function gemm(
  l: LAccess,
  u: UAccess,
  outShape: number[],
  OSI: number,
  OSJ: number,
  origin: string,
  bias?: Tensor,
  biasRows = false,
): Tensor {
  const out = output(outShape, origin);
  // the kernels store whole vec4: out[i, j..j+3] contiguous and 16-byte aligned
  if (OSJ === 1 && OSI % 4 === 0 && u.J % 4 === 0) {
    products(l, u, out, OSI, u.J, origin, bias, biasRows);
    return out;
  }
  // Any other layout (a transposed product, columns not a multiple of 4): the product goes to
  // contiguous rows of whole vec4 (the columns rounded up to 4; the padding columns are never
  // copied) and one more kernel copies them into place. On llvmpipe per-element stores
  // took 6-8 times as long to compile (up to 17 s a pipeline) as the vec4 stores, for no gain
  // at run time.
  const Jp = Math.ceil(u.J / 4) * 4;
  const rows = output([l.I * Jp], `${origin} (rows)`);
  products(l, u, rows, Jp, Jp, origin, bias, biasRows);
  // out is [I, J] (OSI = J, OSJ = 1) or [J, I] (OSI = 1, OSJ = I), put in place from the rows
  // by `shaders/layout.wgsl`: `transpose4` in 4 × 4 blocks for [J, I] with I % 4 = 0, else the
  // strided `copy`
  const a = OSJ === 1 && OSI === u.J ? [Jp, 1] : OSI === 1 && OSJ === l.I ? [1, Jp] : null;
  if (!a) throw new Error(`${origin}: output strides ${OSI}, ${OSJ} are not a dense layout`);
  if (OSI === 1 && l.I % 4 === 0) {
    // [J, I] from whole vec4 rows: 4 × 4 blocks
    const blocks = (l.I / 4) * (Jp / 4);
    const params = (shift = 0) =>
      new Params().u32(blocks, 2, 0, shift).vec([l.I, u.J], MAX_RANK, 1).vec([Jp], MAX_RANK)
        .vec([], MAX_RANK);
    const buffers = [rows.buffer, out.buffer];
    if (viaTexels(l.I * Jp)) {
      const k = kernel({
        name: "transpose4",
        code: layoutWgsl,
        entry: "transpose4_tex",
        inputs: 1,
        outputs: 1,
        textures: 1,
      });
      launchTexels(k, buffers, [rows.buffer], l.I * Jp * 4, params, blocks);
    } else {launch(
        kernel({
          name: "transpose4",
          code: layoutWgsl,
          entry: "transpose4",
          inputs: 1,
          outputs: 1,
        }),
        buffers,
        params(),
        blocks,
      );}
  } else {
    const shape = OSJ === 1 ? [l.I, u.J] : [u.J, l.I];
    launch(
      kernel({ name: "copy", code: layoutWgsl, entry: "copy", inputs: 1, outputs: 1 }),
      [rows.buffer, out.buffer],
      new Params().u32(l.I * u.J, 2, 0, 0).vec(shape, MAX_RANK, 1).vec(a, MAX_RANK)
        .vec([], MAX_RANK),
      l.I * u.J,
    );
  }
  rows.dispose();
  return out;
}

/**
 * The dispatches of {@linkcode gemm} into `out`: `out[i·OSI + j] = (bias) + Σ_k L[i,k]·U[k,j]`
 * for the columns j < `Js` (J rounded up to 4; columns of U past J are zero), as whole vec4.
 */
function products(
  l: LAccess,
  u: UAccess,
  out: Tensor,
  OSI: number,
  Js: number,
  origin: string,
  bias: Tensor | undefined,
  biasRows: boolean,
): void {
  const { K, J } = u;
  // column groups of JW columns; a window holds `rows` rows of one group. Window offsets are
  // multiples of 256 bytes (every device's uniform offset alignment): JW = 64 always, and
  // JW = 32 only with one group, whose windows start at multiples of 512 rows.
  const JW = J <= COLS ? COLS : 2 * COLS;
  const G = Math.ceil(J / JW);
  const rows = WINDOW_FLOATS / JW;
  const windows = Math.ceil(K / rows);
  // U already in the packed layout (one group, rows of JW contiguous columns, e.g. gy of a
  // filter gradient): its windows are bound in place, and only a last window that would reach
  // past the end of its buffer is copied.
  const inPlace = G === 1 && u.J === JW && u.SJ === 1 && u.S1 === 0 && u.K2 === K &&
    u.S2 === JW && !u.base;
  const lastK0 = (windows - 1) * rows;
  const tailCopied = inPlace && lastK0 * JW + WINDOW_FLOATS > u.src.buffer.size / 4;
  const packed = inPlace
    ? (tailCopied
      ? pack({ ...u, K: K - lastK0, base: lastK0 * JW }, JW, 1, WINDOW_FLOATS, `${origin} (tail)`)
      : null)
    // the packed U, padded so the last window's full 64 KiB binding stays inside the buffer
    : pack(u, JW, G, (G - 1) * K * JW + lastK0 * JW + WINDOW_FLOATS, `${origin} (packed operand)`);
  const windowAt = (g: number, k0: number): UniformWindow =>
    !inPlace
      ? { buffer: packed!.buffer, offset: (g * K + k0) * JW * 4 }
      : tailCopied && k0 === lastK0
      ? { buffer: packed!.buffer, offset: 0 }
      : { buffer: u.src.buffer, offset: k0 * JW * 4 };
  const rt = runtime();
  const entry = entryPoint(l);
  const PWG = gemmSettings.workgroup || rt.profile.productWorkgroup;
  const xw = l.xWindows;
  if (xw && windows > PER_DISPATCH) {
    throw new Error(`${origin}: x windows need one pass over U, got ${windows} windows of it`);
  }
  // row ranges of the dispatches: all rows, or those of each window of x
  const ranges: [number, number][] = [];
  for (let r0 = 0; r0 < l.I; r0 += xw ? xw.rowsPerWindow : l.I) {
    ranges.push([r0, xw ? Math.min(l.I, r0 + xw.rowsPerWindow) : l.I]);
  }
  const conv = l.conv ?? new Array(12).fill(0);
  // conv_input_seg: 8 neighbouring pixels of one image row per invocation
  const seg = entry === "conv_input_seg";
  // L as texels for the entries that read it so (see LT in gemm.wgsl)
  const texels = entry !== "conv_forward_xw"
    ? rt.texels(l.src.buffer, l.src.size * 4, `${origin} (L texels)`)
    : null;
  for (const [xi, [r0, r1]] of ranges.entries()) {
    const n = r1 - r0;
    // rows per invocation: 8 (TALL, see gemm.wgsl) where there are rows enough, else 4
    const tall = seg || n >= TALL_ROWS;
    const invocations = seg ? segBlocks(l.conv!) : Math.ceil(n / (tall ? 8 : 4));
    const groups = rt.grid(Math.ceil(invocations / PWG));
    for (let g = 0; g < G; g++) {
      // up to PER_DISPATCH successive windows per dispatch (unused bindings repeat the first)
      for (let w0 = 0; w0 < windows; w0 += PER_DISPATCH) {
        const k0 = w0 * rows;
        const bound: UniformWindow[] = [];
        for (let w = w0; w < Math.min(windows, w0 + PER_DISPATCH); w++) {
          bound.push(windowAt(g, w * rows));
        }
        while (bound.length < PER_DISPATCH) bound.push(bound[0]);
        if (xw) bound.push(xw.windows[xi]);
        const params = new Params().u32(
          xw ? r1 : l.I,
          Js,
          JW,
          g * JW,
          k0,
          Math.min(PER_DISPATCH * rows, K - k0),
          xw ? r0 : (l.SI ?? 0),
          l.SK ?? 0,
          OSI,
          1,
          ...conv,
          xw ? xw.leads[xi] : 0,
          texels?.shift ?? 0,
        ).build();
        const epilogue = w0 > 0 ? 1 : bias ? (biasRows ? 3 : 2) : 0;
        const k = kernel({
          name: `gemm_${entry}`,
          code: gemmWgsl,
          entry,
          inputs: 2,
          outputs: 1,
          constants: {
            WIDE: JW === 2 * COLS ? 1 : 0,
            TALL: tall ? 1 : 0,
            ...(entry === "matmul" ? { MQ: matmulQuads(l, K) } : {}),
            EPILOGUE: epilogue,
            PWG,
            ...(seg ? { SKW: l.conv![9] } : {}),
          },
          windows: PER_DISPATCH + (xw ? 1 : 0),
          textures: texels ? 1 : 0,
        });
        rt.dispatch(
          k,
          [l.src.buffer, (bias ?? l.src).buffer, out.buffer],
          params,
          groups,
          bound,
          texels ? [texels.view] : [],
        );
      }
    }
  }
  texels?.dispose();
  packed?.dispose();
}
