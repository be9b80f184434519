/**
 * Helpers shared by the commands.
 * @module
 */

import { type Config, dataSeed } from "../config.ts";
import type { AttributionAttackConfig } from "../attacks/attribution.ts";

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

/** The attack settings of a configuration (seeded by its data seed, `np_random_seed`). */
export function attributionAttackConfig(
  c: Config,
  pixelMax: number,
  target?: Float32Array,
): AttributionAttackConfig {
  return {
    method: c.attribution_attack_method,
    measure: c.attribution_attack_measure,
    saliencyType: c.saliency_type,
    igSteps: c.num_IG_steps,
    kTop: c.k_top,
    evalKTop: c.eval_k_top,
    stepSize: c.attribution_attack_step_size,
    steps: c.attribution_attack_steps,
    epsilon: c.epsilon,
    pixelMax,
    times: c.attribution_attack_times,
    target,
    seed: dataSeed(c),
  };
}
