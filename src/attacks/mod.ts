/**
 * Attacks: attribution-attack directions, PGD and the attribution attack.
 * @module
 */

export * from "./directions.ts";
export * from "./pgd.ts";
export * from "./attribution.ts";
