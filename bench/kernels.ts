/**
 * Per-kernel throughput on the current WebGPU adapter: conv2d forward and both gradients at the
 * MNIST CNN's shapes (batch 50) and a 1024³ matrix product. Prints GFLOP/s (median of runs).
 *
 *   deno task bench
 * @module
 */

import {
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  hashed,
  init,
  matmul,
  runtime,
  type Tensor,
  tensor,
  tidy,
} from "../mod.ts";

const rt = await init();

function rand(shape: number[], seed: number): Tensor {
  return tensor(hashed(seed, shape, 1), shape);
}

async function measure(name: string, flops: number, op: () => Tensor, reps = 5): Promise<string> {
  tidy(op); // compile and warm up
  await rt.sync();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    tidy(op);
    await rt.sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  return `${name.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms ${
    (flops / ms / 1e6).toFixed(2).padStart(8)
  } GFLOP/s`;
}

const lines: string[] = [];
const B = 50;
for (
  const [label, H, C, O] of [["conv1 5x5 1→32 28x28", 28, 1, 32], [
    "conv2 5x5 32→64 14x14",
    14,
    32,
    64,
  ]] as const
) {
  const x = rand([B, H, H, C], 1), w = rand([5, 5, C, O], 2), gy = rand([B, H, H, O], 3);
  const flops = 2 * B * H * H * O * 25 * C;
  lines.push(await measure(`${label} forward`, flops, () => conv2d(x, w)));
  lines.push(
    await measure(`${label} grad input`, flops, () => conv2dBackpropInput(gy, w, x.shape)),
  );
  lines.push(
    await measure(`${label} grad filter`, flops, () => conv2dBackpropFilter(x, gy, w.shape)),
  );
}
const a = rand([1024, 1024], 4), b = rand([1024, 1024], 5);
lines.push(await measure("matmul 1024x1024x1024", 2 * 1024 ** 3, () => matmul(a, b), 3));

console.log(`adapter: ${runtime().adapterName}`);
console.log(`date: ${new Date().toISOString().slice(0, 10)}`);
for (const l of lines) console.log(l);
