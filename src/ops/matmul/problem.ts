/**
 * One matrix product `op(a) · op(b) (+ bias)` as the matmul strategies see it.
 * @module
 */

import type { Tensor } from "../../tensor.ts";

/** A checked product: `op(a)` is [M, K], `op(b)` is [K, N]. */
export interface MatmulProblem {
  /** The left operand. */
  a: Tensor;
  /** The right operand. */
  b: Tensor;
  /** Whether a is used transposed (a is [K, M]). */
  ta: boolean;
  /** Whether b is used transposed (b is [N, K]). */
  tb: boolean;
  /** Rows of the result. */
  M: number;
  /** Reduction length. */
  K: number;
  /** Columns of the result. */
  N: number;
  /** A bias [N] added to every row. */
  bias?: Tensor;
}
