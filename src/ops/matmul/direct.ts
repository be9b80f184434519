/**
 * The portable matrix product (`shaders/matmul.wgsl`): 32 × 32 tiles, plain storage reads, any
 * size. The reference the windowed strategies are tested against.
 * @module
 */

import matmulWgsl from "../../../shaders/matmul.wgsl" with { type: "text" };
import type { Tensor } from "../../tensor.ts";
import { kernel, launchGroups, output } from "../launch.ts";
import { packParams } from "../schema.ts";
import type { MatmulProblem } from "./problem.ts";

/** `Params` of `shaders/matmul.wgsl`. */
export const MATMUL_PARAMS = { M: "u32", N: "u32", K: "u32", tiles_n: "u32" } as const;

/** The product by the direct kernel. */
export function directMatmul(p: MatmulProblem): Tensor {
  const { a, b, M, N, K, bias } = p;
  const out = output([M, N], "matmul");
  const tiles_n = Math.ceil(N / 32);
  const k = kernel({
    name: "matmul",
    code: matmulWgsl,
    inputs: 3,
    outputs: 1,
    constants: { TA: p.ta ? 1 : 0, TB: p.tb ? 1 : 0, BIAS: bias ? 1 : 0 },
  });
  launchGroups(
    k,
    [a.buffer, b.buffer, (bias ?? a).buffer, out.buffer],
    packParams(MATMUL_PARAMS, { M, N, K, tiles_n }, "matmul"),
    Math.ceil(M / 32) * tiles_n,
  );
  return out;
}
