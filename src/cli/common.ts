/**
 * Helpers shared by the commands.
 * @module
 */

/** Reads a configuration file, with a clear error when it is missing. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `configuration file ${path} not found (see configs/ for the reference files)`,
      );
    }
    throw new Error(`cannot read configuration file ${path}: ${(e as Error).message}`);
  }
}

/** Prints an error without a stack trace (unless RAR_DEBUG is set) and exits with status 1. */
export function fail(e: unknown): never {
  const err = e as Error;
  const debug = (() => {
    try {
      return Deno.env.get("RAR_DEBUG");
    } catch {
      return undefined;
    }
  })();
  console.error(`error: ${debug ? err.stack : err.message}`);
  Deno.exit(1);
}
