/**
 * The WGSL of the convolution kernels: `shaders/conv2d.wgsl` with one of its two gy readers
 * prepended (used by `input_taps`, `filter_taps` and `filter_rows`), from texel copies or from
 * gy's storage buffer in place.
 * @module
 */

import convWgsl from "../../../shaders/conv2d.wgsl" with { type: "text" };
import texelsWgsl from "../../../shaders/conv2d_gy_texels.wgsl" with { type: "text" };
import storageWgsl from "../../../shaders/conv2d_gy_storage.wgsl" with { type: "text" };

/** `shaders/conv2d.wgsl` reading gy from texel copies (`FGT` at binding 4, `GYT` at 5). */
export const CONV_GY_TEXELS: string = texelsWgsl + "\n" + convWgsl;

/** `shaders/conv2d.wgsl` reading gy from its storage buffer at binding 1. */
export const CONV_GY_STORAGE: string = storageWgsl + "\n" + convWgsl;
