/**
 * Attribution: saliency maps and the statistics comparing them.
 * @module
 */

export * from "./saliency.ts";
export * from "./metrics.ts";
export * from "./path.ts";
