/**
 * Runs a `deno task` as `deno.json` defines it (through the launcher that narrows the
 * permissions), from the repository root, for the command-line tests.
 * @module
 */

const root = new URL("../../", import.meta.url);
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;

/** What a task printed and its exit code. */
export interface TaskRun {
  /** Exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/** Runs `deno task NAME ARGS…` with this `deno`, colours off. */
export async function runTask(name: string, args: string[]): Promise<TaskRun> {
  const task = tasks[name];
  if (task === undefined) throw new Error(`deno.json has no task ${JSON.stringify(name)}`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...task.split(/\s+/).slice(1), ...args],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}
