/**
 * Operands of the convolution kernels in 64 KiB uniform windows: whole images of x, or w.
 * @module
 */

import type { Tensor } from "../../tensor.ts";
import { type UniformWindow, WINDOW_BYTES } from "../launch.ts";
import { pack } from "../gemm/mod.ts";

/** Whole images of x in 64 KiB uniform windows (see {@linkcode imageWindows}). */
export interface ImageWindows {
  /** Images per window: window w holds images [w·perWindow, (w+1)·perWindow). */
  perWindow: number;
  /** The windows, in order. */
  windows: UniformWindow[];
  /** Floats of each window before its first image. */
  leads: number[];
  /** Releases the copied part, if any. */
  dispose(): void;
}

/**
 * x in windows of whole images for `filter_taps`, `forward_taps` and `conv_forward_xw`, the
 * images spread evenly over the fewest windows. Each window is bound in place at the last
 * 256-byte-aligned offset at or before its first image (at most 63 floats before it: its
 * `lead`), or where that binding would reach past the end of x's buffer, at the buffer's last
 * 64 KiB (buffers are whole 256-byte units, so that offset is aligned too). Only where that
 * cannot hold the images (x smaller than one window, or an image too large to leave room for a
 * lead) are the windows copied, each to the start of a window of its own.
 */
export function imageWindows(x: Tensor, image: number): ImageWindows {
  const floats = WINDOW_BYTES / 4;
  const B = x.shape[0];
  const bufferFloats = x.buffer.size / 4;
  const perWindow = Math.ceil(B / Math.ceil(B / Math.max(1, Math.floor((floats - 63) / image))));
  const windows: UniformWindow[] = [];
  const leads: number[] = [];
  let inPlace = bufferFloats >= floats;
  for (let b0 = 0; b0 < B && inPlace; b0 += perWindow) {
    const start = b0 * image, end = Math.min(B, b0 + perWindow) * image;
    const offset = Math.min(Math.floor(start / 64) * 64, bufferFloats - floats);
    windows.push({ buffer: x.buffer, offset: offset * 4 });
    leads.push(start - offset);
    inPlace = end - offset <= floats;
  }
  if (inPlace) return { perWindow, windows, leads, dispose: () => {} };
  const count = Math.ceil(B / perWindow), stride = perWindow * image;
  const copied = pack(
    { src: x, K: count, J: Math.min(stride, floats), K2: 1, S1: stride, S2: 0, SJ: 1 },
    floats,
    1,
    count * floats,
    "x windows (copied)",
  );
  return {
    perWindow,
    windows: Array.from({ length: count }, (_, w) => ({
      buffer: copied.buffer,
      offset: w * WINDOW_BYTES,
    })),
    leads: new Array(count).fill(0),
    dispose: () => copied.dispose(),
  };
}

/** w copied to the start of a uniform window (its buffer holds the window's 64 KiB). */
export function wWindow(w: Tensor): Tensor {
  const n = w.size;
  return pack({ src: w, K: 1, J: n, K2: 1, S1: 0, S2: 0, SJ: 1 }, n, 1, WINDOW_BYTES / 4, "w");
}
