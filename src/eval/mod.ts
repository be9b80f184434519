/**
 * Evaluation: natural and adversarial accuracy (SPEC §10).
 * @module
 */

export * from "./accuracy.ts";
export * from "./batch.ts";
