/**
 * Attacks: attribution-attack directions.
 * @module
 */

export * from "./directions.ts";
export * from "./pgd.ts";
