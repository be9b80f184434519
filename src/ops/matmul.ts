/**
 * Matrix products with optional transposes and a fused bias.
 * The strategies (`src/ops/matmul/`): the windowed products of `shaders/gemm.wgsl` (entry
 * `matmul`), and the portable `shaders/matmul.wgsl` for products wider than the windows.
 * @module
 */

import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import { runtime } from "../gpu/runtime.ts";
import { expectDType, expectRank } from "./launch.ts";
import { sum } from "./reduce.ts";
import { chooseMatmul, MATMUL } from "./matmul/choose.ts";

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
  const p = { a, b, ta, tb, M, K, N, bias };
  return MATMUL[chooseMatmul(p, runtime().profile)].run(p);
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
