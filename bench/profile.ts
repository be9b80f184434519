/**
 * Where one workload's time goes: runs W1–W4 (see `workloads.ts`) once on this engine while
 * recording every dispatch, then replays each launch alone (submit and wait) and prints the
 * time per kernel (summed over the step's launches), the launch count and the share of the
 * step. Each launch is replayed a few times in one submission and the cost of an empty
 * submission is subtracted, so the sum approximates the batched step. The wall-clock of the
 * recorded call is printed beside it: the difference is what is not kernel work (encoding and
 * submitting dispatches, waits for the GPU, host work).
 *
 * W5 is profiled as a one-step attack (W5's settings with one step: the originals' prediction
 * and ReLU saliency, the top-k mask, one direction, step, prediction and ReLU saliency) of one
 * image, then of W5's images batched, so that the two splits compare per image.
 *
 *   deno task bench:profile [W1 W2 W3 W4 W5] [--launches KERNEL[,KERNEL…]]
 *
 * `--launches` also lists every launch of the named kernels in step order: its time, workgroup
 * grid and parameter words (for the windowed products, decoded: rows, columns, column group and
 * its start, first k and k count), which shows a product that runs on too few workgroups or a
 * copy that takes longer than the product it follows.
 * @module
 */

import { init } from "../src/init.ts";
import type { DispatchRecord } from "../src/gpu/runtime.ts";
import { attackStepWorkload, oursSystem } from "./ours.ts";
import { benchSettings, type Workload, type WorkloadId, WORKLOADS } from "./workloads.ts";

/** Per-kernel totals of one replayed workload. */
export interface KernelShare {
  /** Kernel name and entry point. */
  name: string;
  /** Launches in the step. */
  launches: number;
  /** Summed replay time in ms. */
  ms: number;
  /** Work of the windowed products (2·rows·columns·k of each launch's window), else 0. */
  flops: number;
}

/** One replayed launch of a kernel named in `--launches`. */
export interface LaunchTiming {
  /** Kernel name. */
  name: string;
  /** Replay time in ms. */
  ms: number;
  /** Workgroup grid. */
  groups: [number, number, number];
  /** Parameter words. */
  params: Uint32Array;
}

/** What {@linkcode profileWorkload} measured. */
export interface Profile {
  /** Per kernel, slowest first. */
  shares: KernelShare[];
  /** The launches of the kernels named in `detail`, in step order. */
  launches: LaunchTiming[];
  /** Wall-clock ms of the recorded call. */
  wallMs: number;
}

/**
 * Runs workload `id` once while tracing and replays every launch alone; the launches of the
 * kernels in `detail` are also returned one by one. W5 runs a one-step attack of `images`
 * images (default W5's).
 */
export async function profileWorkload(
  id: WorkloadId,
  detail: ReadonlySet<string> = new Set(),
  images?: number,
): Promise<Profile> {
  const settings = benchSettings(false);
  const w = id === "W5"
    ? await attackStepWorkload(settings, images ?? settings.attack.images)
    : await (await oursSystem(settings)).setup(id);
  return await profileRun(w, detail);
}

async function profileRun(w: Workload, detail: ReadonlySet<string>): Promise<Profile> {
  const rt = await init();
  await w.run(true); // compile everything once
  const trace: DispatchRecord[] = [];
  rt.trace = trace;
  const t0 = performance.now();
  await w.run(false);
  await rt.sync();
  const wallMs = performance.now() - t0;
  rt.trace = null;
  const totals = new Map<string, KernelShare>();
  const launches: LaunchTiming[] = [];
  // each launch REPS times in one submission, less the cost of an empty submission
  const REPS = 4;
  const idle: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await rt.sync();
    idle.push(performance.now() - t0);
  }
  const overhead = idle.sort((a, b) => a - b)[2];
  for (const d of trace) {
    const name = d.kernel.name;
    const t0 = performance.now();
    for (let r = 0; r < REPS; r++) {
      rt.dispatch(d.kernel, d.buffers, d.params, d.groups, d.windows, d.textures);
    }
    await rt.sync();
    const ms = Math.max(0, performance.now() - t0 - overhead) / REPS;
    if (detail.has(name)) launches.push({ name, ms, groups: d.groups, params: d.params });
    const s = totals.get(name) ?? { name, launches: 0, ms: 0, flops: 0 };
    s.launches++;
    s.ms += ms;
    // windowed product words: 0 rows I, 1 columns J, 2 group width JW, 3 group start, 5 k count,
    // 6 the first row where x sits in windows (conv_forward_xw: rows [word 6, I)), 19 KW
    if (name.startsWith("gemm_") && name !== "gemm_pack") {
      const w = d.params;
      const rows = name === "gemm_conv_forward_xw" ? w[0] - w[6] : w[0];
      // conv_input_seg's k runs over 8 kw slots of which KW (word 19) hold taps
      const taps = name === "gemm_conv_input_seg" ? w[19] / 8 : 1;
      s.flops += 2 * rows * Math.min(w[2], w[1] - w[3]) * w[5] * taps;
    }
    totals.set(name, s);
  }
  w.dispose?.();
  return { shares: [...totals.values()].sort((a, b) => b.ms - a.ms), launches, wallMs };
}

/** One launch as a line: time, grid, and the product's shape or the first parameter words. */
function launchLine(l: LaunchTiming): string {
  const w = l.params;
  const what = l.name.startsWith("gemm_") && l.name !== "gemm_pack"
    ? `I ${w[0]}, J ${w[1]}, group ${w[2]} from ${w[3]}, k ${w[4]} + ${w[5]}`
    : `words ${[...w.slice(0, 12)].join(" ")}`;
  return `${l.name} ${l.ms.toFixed(2)} ms, groups ${l.groups.join("×")}: ${what}`;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--launches");
  const detail = new Set<string>();
  if (at >= 0) {
    const list = args[at + 1];
    if (!list || list.startsWith("--")) {
      throw new Error("--launches needs kernel names, e.g. --launches gemm_matmul,copy");
    }
    for (const k of list.split(",")) detail.add(k);
    args.splice(at, 2);
  }
  const ids = args.length ? args as WorkloadId[] : [...WORKLOADS];
  const runs: [WorkloadId, string, number | undefined][] = [];
  for (const id of ids) {
    if (!WORKLOADS.includes(id)) throw new Error(`unknown workload ${id}; expected ${WORKLOADS}`);
    if (id !== "W5") runs.push([id, id, undefined]);
    else {
      const n = benchSettings(false).attack.images;
      runs.push([id, "W5, one image, one attack step", 1]);
      runs.push([id, `W5, ${n} images batched, one attack step`, n]);
    }
  }
  for (const [id, title, images] of runs) {
    const { shares: rows, launches: each, wallMs } = await profileWorkload(id, detail, images);
    const total = rows.reduce((a, r) => a + r.ms, 0);
    const launches = rows.reduce((a, r) => a + r.launches, 0);
    const flops = rows.reduce((a, r) => a + r.flops, 0);
    const products = rows.filter((r) => r.name.startsWith("gemm_")).reduce((a, r) => a + r.ms, 0);
    console.log(
      `\n${title}: ${launches} launches, ${total.toFixed(0)} ms replayed ` +
        `(${(100 * products / total).toFixed(0)}% in windowed products), ` +
        `${(flops / 1e9).toFixed(2)} GFLOP in windowed products; the recorded call took ` +
        `${wallMs.toFixed(0)} ms (${(100 * total / wallMs).toFixed(0)}% kernels)` +
        (images
          ? `; per image ${(total / images).toFixed(0)} ms replayed, ` +
            `${(wallMs / images).toFixed(0)} ms wall`
          : ""),
    );
    console.log("| kernel | launches | ms | share | GFLOP/s |\n| --- | --: | --: | --: | --: |");
    for (const r of rows) {
      const rate = r.flops ? (r.flops / r.ms / 1e6).toFixed(2) : "";
      console.log(
        `| ${r.name} | ${r.launches} | ${r.ms.toFixed(1)} | ${
          (100 * r.ms / total).toFixed(1)
        }% | ${rate} |`,
      );
    }
    if (detail.size) {
      const missing = [...detail].filter((k) => !rows.some((r) => r.name === k));
      if (missing.length) console.log(`\nnot launched in ${id}: ${missing.join(", ")}`);
      if (each.length) console.log(`\nlaunches in step order:\n${each.map(launchLine).join("\n")}`);
    }
  }
}
