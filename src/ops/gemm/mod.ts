/**
 * The windowed product engine behind `matmul` and the convolutions: `out[I,J] (+)= Σ_k
 * L[i,k]·U[k,j]` with U packed into 64 KiB uniform-buffer windows and L read per invocation
 * (see `shaders/gemm.wgsl`). Internal to the ops; the public ops fall back to their direct
 * kernels for products wider than {@linkcode MAX_WINDOW_COLS} columns.
 * @module
 */

export * from "./types.ts";
export * from "./settings.ts";
export * from "./choose.ts";
export * from "./pack.ts";
export * from "./products.ts";
export * from "./schema.ts";
