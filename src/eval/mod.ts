/**
 * Evaluation: natural and adversarial accuracy (docs/spec.md §10).
 * @module
 */

export * from "./accuracy.ts";
export * from "./batch.ts";
