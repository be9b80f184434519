/**
 * The matrix-product strategies by name and their chooser: the first, in order of preference,
 * that fits. `direct` fits every product and is the portable reference.
 * @module
 */

import type { DeviceProfile } from "../../gpu/profile.ts";
import type { Tensor } from "../../tensor.ts";
import { directMatmul } from "./direct.ts";
import type { MatmulProblem } from "./problem.ts";
import { windowedColumns, windowedFit, windowedRows } from "./windowed.ts";

/** A named way to compute a product. */
export interface MatmulStrategy {
  /** Whether it can take this product on this device. */
  fits(p: MatmulProblem, profile: DeviceProfile): boolean;
  /** Computes the product. */
  run(p: MatmulProblem): Tensor;
}

/** The strategies, in order of preference. */
export const MATMUL = {
  /** Rows of C per invocation (M ≥ N), op(b) in the windows. */
  windowed_rows: { fits: (p: MatmulProblem) => windowedFit(p) && p.M >= p.N, run: windowedRows },
  /** Columns of C per invocation (M < N), op(a)ᵀ in the windows. */
  windowed_columns: { fits: windowedFit, run: windowedColumns },
  /** `shaders/matmul.wgsl`: the portable direct kernel. */
  direct: { fits: () => true, run: directMatmul },
} as const satisfies Record<string, MatmulStrategy>;

/** Names of the matrix-product strategies. */
export type MatmulName = keyof typeof MATMUL;

/** The strategy for this product on this device. */
export function chooseMatmul(p: MatmulProblem, profile: DeviceProfile): MatmulName {
  const table: Record<MatmulName, MatmulStrategy> = MATMUL;
  for (const name of Object.keys(table) as MatmulName[]) {
    if (table[name].fits(p, profile)) return name;
  }
  return "direct";
}
