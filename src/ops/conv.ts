/**
 * The convolution ops (see `src/ops/conv/`), at their historical import path.
 * @module
 */

export * from "./conv/mod.ts";
