/**
 * Per-kernel throughput on the current WebGPU adapter: conv2d forward and both gradients at the
 * MNIST CNN's shapes (batch 50) and a 1024³ matrix product. Prints GFLOP/s (median of runs).
 * Each run records enough calls (1–16) to last about 300 ms before waiting for the GPU once, so
 * that the round trip of a wait (printed too; ~11 ms on llvmpipe under Deno) does not count as
 * kernel time. Each row names the strategy the device profile chose (`src/ops/conv/choose.ts`,
 * `src/ops/matmul/choose.ts`); `RAR_DEVICE_PROFILE=gpu` forces the GPU profile's choices.
 * `deno task bench` runs it after the peer comparison; alone:
 *
 *   deno task bench:kernels
 * @module
 */

import { conv2d, hashed, matmul, type Tensor, tensor, tidy } from "../mod.ts";
import { init } from "../src/init.ts";
import { conv2dBackpropFilter, conv2dBackpropInput } from "../src/ops/mod.ts";
import type { Runtime } from "../src/gpu/runtime.ts";
import { BATCH, median } from "./workloads.ts";
import { chooseConvFilter, chooseConvForward, chooseConvInput } from "../src/ops/conv/choose.ts";
import { geometry } from "../src/ops/conv/geometry.ts";
import { chooseMatmul } from "../src/ops/matmul/choose.ts";

/** One kernel's timing. */
export interface KernelTiming {
  /** What ran, at which shape. */
  name: string;
  /** Median wall-clock ms per call (GPU work included; one wait per run of calls). */
  ms: number;
  /** Floating-point operations per call / time. */
  gflops: number;
}

function rand(shape: number[], seed: number): Tensor {
  return tensor(hashed(seed, shape, 1), shape);
}

async function measure(
  rt: Runtime,
  name: string,
  flops: number,
  op: () => Tensor,
  reps = 5,
): Promise<KernelTiming> {
  // the output is released at once, as in a training step (a kept output would make every
  // call allocate a new buffer, and time the allocation)
  const call = () => tidy(() => void op());
  call(); // compile and warm up
  await rt.sync();
  let t0 = performance.now();
  call();
  await rt.sync();
  const calls = Math.max(1, Math.min(16, Math.round(300 / (performance.now() - t0))));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    for (let c = 0; c < calls; c++) call();
    await rt.sync();
    times.push((performance.now() - t0) / calls);
  }
  const ms = median(times);
  return { name, ms, gflops: flops / ms / 1e6 };
}

/** Median ms of waiting for an empty queue: the fixed latency of one GPU round trip. */
async function roundTrip(rt: Runtime): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t0 = performance.now();
    await rt.sync();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Times conv2d forward/grad-input/grad-filter at the MNIST CNN's shapes and a 1024³ matmul. */
export async function kernelTimings(
  reps = 5,
): Promise<{ adapter: string; profile: string; rows: KernelTiming[]; roundTripMs: number }> {
  const rt = await init();
  const roundTripMs = await roundTrip(rt);
  const rows: KernelTiming[] = [];
  const B = BATCH;
  for (
    const [label, H, C, O] of [
      ["conv1 5x5 1→32 28x28", 28, 1, 32],
      ["conv2 5x5 32→64 14x14", 14, 32, 64],
    ] as const
  ) {
    const x = rand([B, H, H, C], 1), w = rand([5, 5, C, O], 2), gy = rand([B, H, H, O], 3);
    const flops = 2 * B * H * H * O * 25 * C;
    const g = geometry(x.shape, w.shape, {}, label);
    const [fwd, inp, fil] = [
      chooseConvForward(g, rt.profile),
      chooseConvInput(g, rt.profile),
      chooseConvFilter(g, rt.profile),
    ];
    rows.push(await measure(rt, `${label} forward [${fwd}]`, flops, () => conv2d(x, w), reps));
    rows.push(
      await measure(
        rt,
        `${label} grad input [${inp}]`,
        flops,
        () => conv2dBackpropInput(gy, w, x.shape),
        reps,
      ),
    );
    rows.push(
      await measure(
        rt,
        `${label} grad filter [${fil}]`,
        flops,
        () => conv2dBackpropFilter(x, gy, w.shape),
        reps,
      ),
    );
    for (const t of [x, w, gy]) t.dispose();
  }
  const a = rand([1024, 1024], 4), b = rand([1024, 1024], 5);
  const mm = chooseMatmul({ a, b, ta: false, tb: false, M: 1024, K: 1024, N: 1024 }, rt.profile);
  rows.push(
    await measure(
      rt,
      `matmul 1024x1024x1024 [${mm}]`,
      2 * 1024 ** 3,
      () => matmul(a, b),
      Math.min(reps, 3),
    ),
  );
  a.dispose();
  b.dispose();
  return { adapter: rt.adapterName, profile: rt.profile.kind, rows, roundTripMs };
}

/** The timings as a Markdown table. */
export function kernelTable(rows: readonly KernelTiming[]): string {
  const w = Math.max(6, ...rows.map((r) => r.name.length));
  const lines = [
    `| ${"kernel".padEnd(w)} | median ms | GFLOP/s |`,
    `| ${"-".repeat(w)} | --------: | ------: |`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name.padEnd(w)} | ${r.ms.toFixed(1).padStart(9)} | ${
        r.gflops.toFixed(2).padStart(7)
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const { adapter, profile, rows, roundTripMs } = await kernelTimings(quick ? 2 : 5);
  console.log(`- adapter: ${adapter}`);
  console.log(`- device profile: ${profile}`);
  console.log(`- date: ${new Date().toISOString().slice(0, 10)}`);
  console.log(`- one wait for the GPU (empty queue): ${roundTripMs.toFixed(1)} ms\n`);
  console.log(kernelTable(rows));
}
