/**
 * Starts `train.ts`, `attack.ts`, `experiment.ts` or `prepare.ts` with only the permissions its
 * command line needs (`permissions.ts`): the `deno task train|attack|explain|experiment|prepare`
 * entry point.
 *
 *   deno run --allow-read --allow-run=deno src/cli/launch.ts train|attack|experiment|prepare ARGS…
 *
 * This launcher reads the configuration the command line names (to learn `model_dir` and
 * `data_path`) and runs the `deno` found on PATH, which must be the Deno running it; it
 * writes nothing. Ctrl-C reaches the command directly from the terminal (the launcher
 * ignores it and waits); SIGTERM is passed on.
 * @module
 */

import { fileURLToPath } from "node:url";
import { fail } from "./common.ts";
import { permissionFlags, taskPermissions } from "./permissions.ts";

const SCRIPTS = {
  train: "train.ts",
  attack: "attack.ts",
  experiment: "experiment.ts",
  prepare: "prepare.ts",
} as const;

/** Refuses a `deno` on PATH that is not this Deno's version (it runs the command). */
async function checkDeno(): Promise<void> {
  let out;
  try {
    out = await new Deno.Command("deno", { args: ["--version"], stderr: "null" }).output();
  } catch (e) {
    throw new Error(
      `cannot run deno from PATH (${(e as Error).message}): the task starts the command with ` +
        `the deno found on PATH; add the directory of ${Deno.execPath()} to PATH`,
    );
  }
  const version = /^deno (\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1];
  if (version !== Deno.version.deno) {
    throw new Error(
      `the deno on PATH is version ${version ?? "unknown"}, this task runs under ` +
        `${Deno.version.deno} (${Deno.execPath()}): put the same deno first on PATH`,
    );
  }
}

async function main(): Promise<number> {
  const [script, ...args] = Deno.args;
  if (!Object.hasOwn(SCRIPTS, script ?? "")) {
    throw new Error(
      `launch.ts: expected train, attack, experiment or prepare, got ${JSON.stringify(script)}`,
    );
  }
  const command = script as keyof typeof SCRIPTS;
  const permissions = await taskPermissions(command, args);
  await checkDeno();
  const path = fileURLToPath(new URL(SCRIPTS[command], import.meta.url));
  const child = new Deno.Command("deno", {
    args: ["run", ...permissionFlags(permissions), path, ...args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const ignore = () => {};
  const term = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", ignore);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", term);
  const status = await child.status;
  Deno.removeSignalListener("SIGINT", ignore);
  if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", term);
  return status.code;
}

try {
  Deno.exit(await main());
} catch (e) {
  fail(e);
}
