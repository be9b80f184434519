/**
 * All ops. Each family lives in its own module with its WGSL kernel in `shaders/`.
 * @module
 */

export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./layout.ts";
export * from "./matmul.ts";
export * from "./conv.ts";
export * from "./pool.ts";
export * from "./rows.ts";
export * from "./nn.ts";
