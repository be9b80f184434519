/**
 * The parameter structs of `shaders/gemm.wgsl`, field by field (checked against the shader by
 * `tests/ops/schema_test.ts`).
 * @module
 */

/** `Params` of the products: rows, columns, the window range, strides, conv geometry. */
export const GEMM_PARAMS = {
  I: "u32",
  J: "u32",
  JW: "u32",
  jg: "u32",
  k0: "u32",
  kn: "u32",
  SI: "u32",
  SK: "u32",
  OSI: "u32",
  OSJ: "u32",
  B: "u32",
  H: "u32",
  W: "u32",
  C: "u32",
  OH: "u32",
  OW: "u32",
  O: "u32",
  S: "u32",
  KH: "u32",
  KW: "u32",
  PT: "u32",
  PL: "u32",
  XL: "u32",
  TS: "u32",
} as const;

/** `PackParams` of `pack` and `pack4_tex`. */
export const PACK_PARAMS = {
  K: "u32",
  J: "u32",
  JW: "u32",
  K2: "u32",
  S1: "u32",
  S2: "u32",
  SJ: "u32",
  G: "u32",
  base: "u32",
  TS: "u32",
  _b: "u32",
  _c: "u32",
} as const;

/** `SegParams` of `seg_weights`. */
export const SEG_PARAMS = {
  KH: "u32",
  KW: "u32",
  C: "u32",
  O: "u32",
  _a: "u32",
  _b: "u32",
  _c: "u32",
  _d: "u32",
  _e: "u32",
  _f: "u32",
  _g: "u32",
  _h: "u32",
} as const;

/** The conv geometry fields shared by the products' and the convolutions' parameters. */
export const CONV_GEOMETRY = [
  "B",
  "H",
  "W",
  "C",
  "OH",
  "OW",
  "O",
  "S",
  "KH",
  "KW",
  "PT",
  "PL",
] as const;
