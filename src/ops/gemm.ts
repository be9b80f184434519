/**
 * The windowed product engine (see `src/ops/gemm/`), at its historical import path.
 * @module
 */

export * from "./gemm/mod.ts";
