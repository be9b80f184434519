/**
 * The RAR mathematics: the IG regulariser, objectives and chunk planning.
 * @module
 */

export * from "./planner.ts";
export * from "./ig.ts";
export * from "./objectives.ts";
