/**
 * Small helpers shared by the data modules (not re-exported by `mod.ts`).
 * @module
 */

/** The message of a caught value. */
export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
