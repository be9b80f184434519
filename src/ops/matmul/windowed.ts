/**
 * Matrix products on the windowed engine (`matmul` entry of `shaders/gemm.wgsl`, see
 * `../gemm/`): the wider operand streams through the invocations, the narrower sits in the
 * windows.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import { gemm, windowed } from "../gemm/mod.ts";
import type { MatmulProblem } from "./problem.ts";

/** Whether the product fits the windowed engine (its narrower side in the windows). */
export function windowedFit(p: MatmulProblem): boolean {
  return windowed(Math.max(p.M, p.N), Math.min(p.M, p.N), p.K);
}

/** Rows of C per invocation, op(b) [K, N] in the windows. */
export function windowedRows(p: MatmulProblem): Tensor {
  const { a, b, ta, tb, M, K, N, bias } = p;
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

/** Cᵀ = op(b)ᵀ · op(a)ᵀ: columns of C per invocation, op(a)ᵀ [K, M] in the windows. */
export function windowedColumns(p: MatmulProblem): Tensor {
  const { a, b, ta, tb, M, K, N, bias } = p;
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
