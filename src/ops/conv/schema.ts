/**
 * The parameter structs of `shaders/conv2d.wgsl`, field by field (checked against the shader by
 * `tests/ops/schema_test.ts`).
 * @module
 */

/** `Params` of the direct kernels and `col2im`: geometry, the product's M × N, B0. */
export const CONV_PARAMS = {
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
  M: "u32",
  N: "u32",
  tiles_n: "u32",
  B0: "u32",
} as const;

/** `FilterParams` of `filter_taps` and `filter_rows`. */
export const FILTER_PARAMS = {
  B0: "u32",
  slices: "u32",
  PS: "u32",
  KT: "u32",
  H: "u32",
  W: "u32",
  C: "u32",
  OH: "u32",
  OW: "u32",
  O: "u32",
  S: "u32",
  KW: "u32",
  PT: "i32",
  PL: "i32",
  units: "u32",
  XL: "u32",
  TS: "u32",
} as const;

/** `InputParams` of `input_taps` and `forward_taps`. */
export const INPUT_PARAMS = {
  B: "u32",
  H: "u32",
  W: "u32",
  C: "u32",
  OH: "u32",
  OW: "u32",
  O4: "u32",
  KH: "u32",
  PT: "i32",
  PL: "i32",
  bw: "u32",
  bh: "u32",
  units: "u32",
  B0: "u32",
  XL: "u32",
  TS: "u32",
} as const;
