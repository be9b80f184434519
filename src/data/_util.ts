/**
 * Small helpers shared by the data modules (not re-exported by `mod.ts`).
 * @module
 */

/** The message of a caught value. */
export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads a whole file; a missing file is an error saying so with its path. */
export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path} not found`);
    throw e;
  }
}
