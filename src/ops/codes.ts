/**
 * Op codes shared with the shaders: each table names the values of one pipeline constant, and
 * the shader declares the same names as WGSL constants (`const OP_RELU = 6u;`, the key upper-cased
 * after the table's prefix). `tests/ops/schema_test.ts` checks that both sides agree.
 * @module
 */

/** `OP` of `shaders/unary.wgsl` (constants `OP_NEG`, …). */
export const UNARY = {
  neg: 0,
  abs: 1,
  sign: 2,
  exp: 3,
  log: 4,
  sqrt: 5,
  relu: 6,
  step: 7,
  leaky_relu: 8,
  leaky_step: 9,
  softplus: 10,
  sigmoid: 11,
  affine: 12,
  clip: 13,
  inside: 14,
  square: 15,
  reciprocal: 16,
  floor: 17,
} as const;

/** `OP` of `shaders/binary.wgsl` (constants `OP_ADD`, …). */
export const BINARY = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  greater: 6,
  greater_equal: 7,
  equal: 8,
  div_no_nan: 9,
  less: 10,
  relu_grad: 11,
} as const;

/**
 * `MODE` of `shaders/binary.wgsl`, how the inputs are indexed (constants `MODE_GENERAL`, …):
 * `general` by strides over the output's shape; `same` both of the output's shape; a `repeats`
 * input repeats over the trailing `period` elements, a `blocks` input is constant over blocks of
 * `period` elements, and the other input has the output's shape; `a_blocks_b_repeats` and
 * `a_repeats_b_blocks` combine two such inputs into the output (an outer product).
 */
export const BINARY_MODE = {
  general: 0,
  same: 1,
  b_repeats: 2,
  b_blocks: 3,
  a_repeats: 4,
  a_blocks: 5,
  a_blocks_b_repeats: 6,
  a_repeats_b_blocks: 7,
} as const;

/** `OP` of `shaders/reduce.wgsl` (constants `OP_SUM`, …). */
export const REDUCE = { sum: 0, max: 1, min: 2 } as const;

/**
 * `EPILOGUE` of `shaders/gemm.wgsl`, what a product does with its sums (constants
 * `EPILOGUE_STORE`, …): store them, add them to the output, or store them plus a bias indexed by
 * column or by row.
 */
export const EPILOGUE = { store: 0, accumulate: 1, bias_columns: 2, bias_rows: 3 } as const;

/**
 * `MQ` of `shaders/gemm.wgsl`, how `matmul` reads L (constants `MQ_SINGLE`, …): one value at a
 * time, or texels of four rows, or texels of four steps of the reduction.
 */
export const MATMUL_READS = { single: 0, row_quads: 1, step_quads: 2 } as const;

/** The WGSL name of code `key` of a table with constant prefix `prefix` (`OP_LEAKY_RELU`). */
export function wgslCodeName(prefix: string, key: string): string {
  return `${prefix}_${key.toUpperCase()}`;
}
