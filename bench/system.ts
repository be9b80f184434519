/**
 * One system's run of W1–W4, in its own process (so WebGPU devices of different stacks never
 * share a process and a crash stays contained). Started by `peers.ts`:
 *
 *   deno run … bench/system.ts <system> <out-dir> [--quick] [--reps N] [--workloads W1,W4]
 *
 * Writes `<out-dir>/report.json` (see `SystemReport`) and the raw float32 outputs beside it.
 * @module
 */

import {
  type BenchSettings,
  benchSettings,
  errorText,
  runSystem,
  type SystemReport,
  type Workload,
  type WorkloadId,
  WORKLOADS,
} from "./workloads.ts";

type System = {
  head: Omit<SystemReport, "workloads">;
  setup: (id: WorkloadId) => Workload | Promise<Workload>;
};

/** Each system's module is imported only in its own process. */
const FACTORIES: Record<string, (s: BenchSettings) => Promise<System>> = {
  ours: async (s) => (await import("./ours.ts")).oursSystem(s),
  jax: async (s) => (await import("./jax.ts")).jaxSystem(s),
  "jax-argnums": async (s) => (await import("./jax.ts")).jaxSystem(s, "argnums"),
  tfjs: async (s) => (await import("./tfjs.ts")).tfjsSystem(s, "webgpu"),
  "tfjs-wasm": async (s) => (await import("./tfjs.ts")).tfjsSystem(s, "wasm"),
  "tfjs-cpu": async (s) => (await import("./tfjs.ts")).tfjsSystem(s, "cpu"),
};

if (import.meta.main) {
  const [system, dir, ...rest] = Deno.args;
  const quick = rest.includes("--quick");
  const wi = rest.indexOf("--workloads");
  const only = wi >= 0 ? rest[wi + 1].split(",") as WorkloadId[] : [...WORKLOADS];
  const settings = benchSettings(quick);
  const ri = rest.indexOf("--reps");
  if (ri >= 0) settings.reps = Number(rest[ri + 1]);
  if (!FACTORIES[system] || !dir) {
    console.error(`usage: system.ts <${Object.keys(FACTORIES).join("|")}> <out-dir> [--quick]`);
    Deno.exit(2);
  }
  try {
    const sys = await FACTORIES[system](settings);
    await runSystem(dir, sys.head, settings, sys.setup, only);
  } catch (e) {
    const report: SystemReport = {
      system,
      label: system,
      device: "?",
      error: errorText(e),
      workloads: {},
    };
    Deno.writeTextFileSync(`${dir}/report.json`, JSON.stringify(report, null, 1));
    console.error(`[${system}] could not start: ${report.error}`);
  }
  // peers' devices and timers may keep the event loop alive
  Deno.exit(0);
}
