/**
 * Convolution geometry (TensorFlow SAME/VALID rules) shared by the ops and their strategies.
 * @module
 */

/** Padding modes with TensorFlow semantics. */
export type Padding = "SAME" | "VALID";

/** Options of the convolution ops. */
export interface ConvOptions {
  /** Stride in both spatial dimensions (default 1). */
  stride?: number;
  /** `SAME` (default) or `VALID`. */
  padding?: Padding;
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

/** The full geometry of one convolution: x `[B,H,W,C]`, w `[KH,KW,C,O]`, y `[B,OH,OW,O]`. */
export interface ConvGeo {
  /** Images. */
  B: number;
  /** Input rows. */
  H: number;
  /** Input columns. */
  W: number;
  /** Input channels. */
  C: number;
  /** Output rows. */
  OH: number;
  /** Output columns. */
  OW: number;
  /** Output channels. */
  O: number;
  /** Kernel rows. */
  KH: number;
  /** Kernel columns. */
  KW: number;
  /** Stride. */
  S: number;
  /** Padding above. */
  PT: number;
  /** Padding on the left. */
  PL: number;
}

/** The geometry of a convolution of x `xShape` with w `wShape`; throws naming `op` when bad. */
export function geometry(
  xShape: readonly number[],
  wShape: readonly number[],
  o: ConvOptions,
  op: string,
): ConvGeo {
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

/** The geometry words of the windowed entry points (see `LAccess.conv` in `../gemm/`). */
export function geoWords(g: ConvGeo): number[] {
  return [g.B, g.H, g.W, g.C, g.OH, g.OW, g.O, g.S, g.KH, g.KW, g.PT, g.PL];
}
