/**
 * Attribution: saliency maps.
 * @module
 */

export * from "./saliency.ts";
