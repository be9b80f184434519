/**
 * Matrix products with optional transposes and a fused bias.
 * Kernels: the windowed products of `shaders/gemm.wgsl` (entry `matmul`, see `gemm.ts`); the
 * direct `shaders/matmul.wgsl` for products wider than the windows.
 * @module
 */

import matmulWgsl from "../../shaders/matmul.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, expectRank, kernel, launchGroups, output, Params } from "./launch.ts";
import { sum } from "./reduce.ts";
import { gemm, windowed } from "./gemm.ts";

/** Options of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Use `aᵀ` (a is `[K, M]`). */
  transposeA?: boolean;
  /** Use `bᵀ` (b is `[N, K]`). */
  transposeB?: boolean;
  /** A bias `[N]` added to every row (fused into the kernel). */
  bias?: Tensor;
}

function matmulRaw(a: Tensor, b: Tensor, ta: boolean, tb: boolean, bias?: Tensor): Tensor {
  expectRank(a, 2, "matmul", "a");
  expectRank(b, 2, "matmul", "b");
  expectDType(a, "f32", "matmul", "a");
  expectDType(b, "f32", "matmul", "b");
  const [M, K] = ta ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [K2, N] = tb ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (K !== K2) {
    throw new Error(
      `matmul: inner dimensions differ: a [${a.shape}]${ta ? "ᵀ" : ""} · b [${b.shape}]${
        tb ? "ᵀ" : ""
      }`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) {
    throw new Error(`matmul: bias must have shape [${N}], got [${bias.shape}]`);
  }
  if (windowed(Math.max(M, N), Math.min(M, N), K)) {
    if (M >= N) {
      // rows of C per invocation, op(b) [K, N] in the windows
      return gemm(
        { entry: "matmul", src: a, I: M, SI: ta ? 1 : K, SK: ta ? M : 1 },
        { src: b, K, J: N, K2: K, S1: 0, S2: tb ? 1 : N, SJ: tb ? K : 1 },
        [M, N],
        N,
        1,
        "matmul",
        bias,
      );
    }
    // Cᵀ = op(b)ᵀ · op(a)ᵀ: columns of C per invocation, op(a)ᵀ [K, M] in the windows
    return gemm(
      { entry: "matmul", src: b, I: N, SI: tb ? K : 1, SK: tb ? 1 : N },
      { src: a, K, J: M, K2: K, S1: 0, S2: ta ? M : 1, SJ: ta ? 1 : K },
      [M, N],
      1,
      N,
      "matmul",
      bias,
      true,
    );
  }
  const out = output([M, N], "matmul");
  const tilesN = Math.ceil(N / 32);
  const k = kernel({
    name: "matmul",
    code: matmulWgsl,
    entry: "main",
    inputs: 3,
    outputs: 1,
    constants: {
      TA: ta ? 1 : 0,
      TB: tb ? 1 : 0,
      BIAS: bias ? 1 : 0,
    },
  });
  launchGroups(
    k,
    [a.buffer, b.buffer, (bias ?? a).buffer, out.buffer],
    new Params().u32(M, N, K, tilesN),
    Math.ceil(M / 32) * tilesN,
  );
  return out;
}

/**
 * `op(a) · op(b) (+ bias)` for matrices, `op` an optional transpose.
 * Gradients are again matrix products, so any order of differentiation works.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const ta = options.transposeA ?? false;
  const tb = options.transposeB ?? false;
  const bias = options.bias;
  const y = matmulRaw(a, b, ta, tb, bias);
  const inputs = bias ? [a, b, bias] : [a, b];
  return record(y, "matmul", inputs, (g, needs) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      ga = ta
        ? matmul(b, g, { transposeA: tb, transposeB: true })
        : matmul(g, b, { transposeB: !tb });
    }
    if (needs[1]) {
      gb = tb
        ? matmul(g, a, { transposeA: true, transposeB: ta })
        : matmul(a, g, { transposeA: !ta });
    }
    const out: (Tensor | null)[] = [ga, gb];
    if (bias) out.push(needs[2] ? sum(g, 0) : null);
    return out;
  });
}

/** A dense layer: `x · w + b` with `x [B, in]`, `w [in, out]`, `b [out]`. */
export function dense(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return matmul(x, w, { bias: b });
}
