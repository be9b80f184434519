/**
 * The WGSL of the windowed products: `shaders/gemm.wgsl` with one of its two L readers
 * (`l_texel`) prepended, from a texel copy or from L's storage buffer in place.
 * @module
 */

import gemmWgsl from "../../../shaders/gemm.wgsl" with { type: "text" };
import texelsWgsl from "../../../shaders/gemm_l_texels.wgsl" with { type: "text" };
import storageWgsl from "../../../shaders/gemm_l_storage.wgsl" with { type: "text" };

/** `shaders/gemm.wgsl` reading L from a texel copy bound at binding 8 (`LT`). */
export const GEMM_L_TEXELS: string = texelsWgsl + "\n" + gemmWgsl;

/** `shaders/gemm.wgsl` reading L from its storage buffer at binding 1 (`L4`). */
export const GEMM_L_STORAGE: string = storageWgsl + "\n" + gemmWgsl;
