/**
 * Re-laying out U for the windows: `pack` into column groups, `segWeights` for
 * `conv_input_seg`.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import { kernel, launch, launchTexels, output, viaTexels } from "../launch.ts";
import { packParams } from "../schema.ts";
import { PACK_PARAMS, SEG_PARAMS } from "./schema.ts";
import type { UAccess } from "./types.ts";
import { GEMM_L_TEXELS as gemmWgsl } from "./source.ts";

/**
 * U laid out in `G` column groups of `JW` columns, `[G][K][JW]` (columns past J zero), in a
 * tensor of at least `floats` floats (the rest unwritten).
 */
export function pack(u: UAccess, JW: number, G: number, floats: number, origin: string): Tensor {
  const packed = output([Math.max(floats, G * u.K * JW)], origin);
  const n = G * u.K * JW;
  const words = (TS = 0) =>
    packParams(PACK_PARAMS, {
      K: u.K,
      J: u.J,
      JW,
      K2: u.K2,
      S1: u.S1,
      S2: u.S2,
      SJ: u.SJ,
      G,
      base: u.base ?? 0,
      TS,
      _b: 0,
      _c: 0,
    }, "gemm_pack");
  const buffers = [u.src.buffer, packed.buffer];
  // four per invocation, src from a texel copy, where the profile reads large inputs so and the
  // pack reads most of src (the copy is all of it); JW is a multiple of 4
  if (viaTexels(n) && u.src.size <= 4 * u.K * u.J) {
    const k = kernel({
      name: "gemm_pack",
      code: gemmWgsl,
      entry: "pack4_tex",
      inputs: 1,
      outputs: 1,
      textures: 1,
    });
    launchTexels(k, buffers, [u.src.buffer], u.src.size * 4, words, n / 4);
  } else {
    const k = kernel({ name: "gemm_pack", code: gemmWgsl, entry: "pack", inputs: 1, outputs: 1 });
    launch(k, buffers, words(), n);
  }
  return packed;
}

/**
 * w `[KH, KW, C, O]` as conv_input_seg's U: `[KH·8·O, C]`, row `((kh·O/4 + oq)·8 + kw)·4 + o4`
 * holding `w[kh, kw, :, 4·oq + o4]` (zero for kw ≥ KW).
 */
export function segWeights(w: Tensor, origin: string): Tensor {
  const [KH, KW, C, O] = w.shape;
  const out = output([KH * 8 * O, C], `${origin} (re-ordered w)`);
  const zero = { _a: 0, _b: 0, _c: 0, _d: 0, _e: 0, _f: 0, _g: 0, _h: 0 };
  launch(
    kernel({
      name: "gemm_seg_weights",
      code: gemmWgsl,
      entry: "seg_weights",
      inputs: 1,
      outputs: 1,
    }),
    [w.buffer, out.buffer],
    packParams(SEG_PARAMS, { KH, KW, C, O, ...zero }, "gemm_seg_weights"),
    KH * 8 * O * C,
  );
  return out;
}
