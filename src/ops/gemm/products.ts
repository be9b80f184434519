/**
 * The windowed product `out[I,J] (+)= Σ_k L[i,k]·U[k,j]` with U packed into 64 KiB
 * uniform-buffer windows and L read per invocation (see `shaders/gemm.wgsl` for the layout and
 * why).
 * @module
 */

import layoutWgsl from "../../../shaders/layout.wgsl" with { type: "text" };
import { runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../tensor.ts";
import {
  dispatch,
  kernel,
  launch,
  launchTexels,
  MAX_RANK,
  output,
  Params,
  texelCopy,
  type UniformWindow,
  viaTexels,
} from "../launch.ts";
import { packParams } from "../schema.ts";
import { EPILOGUE } from "../codes.ts";
import { chooseLReader, chooseMatmulReads, segBlocks } from "./choose.ts";
import { pack } from "./pack.ts";
import { CONV_GEOMETRY, GEMM_PARAMS } from "./schema.ts";
import { COLS, gemmSettings, PER_DISPATCH, TALL_ROWS, WINDOW_FLOATS } from "./settings.ts";
import type { LAccess, UAccess } from "./types.ts";
import { GEMM_L_STORAGE, GEMM_L_TEXELS } from "./source.ts";

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
  // copied) and one more kernel copies them into place; per-element stores in the products
  // compile far more slowly on llvmpipe for no gain at run time.
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
    const name = "transpose4", code = layoutWgsl;
    if (viaTexels(l.I * Jp)) {
      const k = kernel({ name, code, entry: "transpose4_tex", inputs: 1, outputs: 1, textures: 1 });
      launchTexels(k, buffers, [rows.buffer], l.I * Jp * 4, params, blocks);
    } else {
      launch(kernel({ name, code, entry: name, inputs: 1, outputs: 1 }), buffers, params(), blocks);
    }
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
  const entry = chooseLReader(l);
  const profile = runtime().profile;
  const PWG = gemmSettings.workgroup || profile.productWorkgroup;
  // L from a texel copy or in place (see the device profile's streamTexels)
  const lTexels = gemmSettings.lTexels ?? profile.streamTexels;
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
  const geometry = Object.fromEntries(CONV_GEOMETRY.map((f, i) => [f, conv[i]])) as Record<
    typeof CONV_GEOMETRY[number],
    number
  >;
  // conv_input_seg: 8 neighbouring pixels of one image row per invocation
  const seg = entry === "conv_input_seg";
  // L as texels for the entries that read it so (see LT in gemm.wgsl)
  const texels = lTexels && entry !== "conv_forward_xw"
    ? texelCopy(l.src.buffer, l.src.size * 4, `${origin} (L texels)`)
    : null;
  for (const [xi, [r0, r1]] of ranges.entries()) {
    const n = r1 - r0;
    // rows per invocation: 8 (TALL, see gemm.wgsl) where there are rows enough, else 4
    const tall = seg || n >= TALL_ROWS;
    const invocations = seg ? segBlocks(l.conv!) : Math.ceil(n / (tall ? 8 : 4));
    const groups = Math.ceil(invocations / PWG);
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
        const params = packParams(GEMM_PARAMS, {
          I: xw ? r1 : l.I,
          J: Js,
          JW,
          jg: g * JW,
          k0,
          kn: Math.min(PER_DISPATCH * rows, K - k0),
          SI: xw ? r0 : (l.SI ?? 0),
          SK: l.SK ?? 0,
          OSI,
          OSJ: 1,
          ...geometry,
          XL: xw ? xw.leads[xi] : 0,
          TS: texels?.shift ?? 0,
        }, `gemm_${entry}`);
        const epilogue = w0 > 0
          ? EPILOGUE.accumulate
          : bias
          ? (biasRows ? EPILOGUE.bias_rows : EPILOGUE.bias_columns)
          : EPILOGUE.store;
        const k = kernel({
          name: `gemm_${entry}`,
          code: lTexels ? GEMM_L_TEXELS : GEMM_L_STORAGE,
          entry,
          inputs: 2,
          outputs: 1,
          constants: {
            WIDE: JW === 2 * COLS ? 1 : 0,
            TALL: tall ? 1 : 0,
            ...(entry === "matmul" ? { MQ: chooseMatmulReads(l, K) } : {}),
            EPILOGUE: epilogue,
            PWG,
            ...(seg ? { SKW: l.conv![9] } : {}),
          },
          windows: PER_DISPATCH + (xw ? 1 : 0),
          textures: texels ? 1 : 0,
        });
        dispatch(k, {
          buffers: [l.src.buffer, (bias ?? l.src).buffer, out.buffer],
          params,
          groups,
          windows: bound,
          textures: texels ? [texels.view] : [],
        });
      }
    }
  }
  texels?.dispose();
  packed?.dispose();
}
