/**
 * Figures of the attribution attacks: images and saliency maps side by side as PNG, like the
 * paper's demo (original image, its IG map, attacked image, its IG map).
 * @module
 */

import { encode } from "fast-png";

/** One panel: an image (`[H, W, C]`, values in `[0, pixelMax]`) or a map (`[H, W]`). */
export type Panel =
  | {
    kind: "image";
    data: Float32Array;
    height: number;
    width: number;
    channels: number;
    pixelMax: number;
  }
  | { kind: "map"; data: Float32Array; height: number; width: number };

// viridis at 9 anchor points; linear interpolation in between
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** The viridis colour of `t` in [0, 1]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as [number, number, number];
}

/** RGB pixels of one panel, upscaled by `scale` (nearest neighbour). */
function render(p: Panel, scale: number): Uint8Array {
  const H = p.height * scale, W = p.width * scale;
  const out = new Uint8Array(H * W * 3);
  let max = 0;
  if (p.kind === "map") { for (const v of p.data) max = Math.max(max, v); }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sy = Math.floor(y / scale), sx = Math.floor(x / scale);
      let rgb: [number, number, number];
      if (p.kind === "image") {
        const base = (sy * p.width + sx) * p.channels;
        const v = (c: number) =>
          Math.round(Math.min(Math.max(p.data[base + c] / p.pixelMax, 0), 1) * 255);
        rgb = p.channels === 1 ? [v(0), v(0), v(0)] : [v(0), v(1), v(2)];
      } else {
        rgb = viridis(max > 0 ? p.data[sy * p.width + sx] / max : 0);
      }
      out.set(rgb, (y * W + x) * 3);
    }
  }
  return out;
}

/**
 * Panels of equal size in a row, separated by a white gap, upscaled so that each panel is at
 * least 112 pixels high, as PNG bytes.
 */
export function panelsToPng(panels: readonly Panel[]): Uint8Array {
  if (!panels.length) throw new Error("panelsToPng: no panels");
  const { height: h, width: w } = panels[0];
  if (panels.some((p) => p.height !== h || p.width !== w)) {
    throw new Error("panelsToPng: panels differ in size");
  }
  const scale = Math.max(1, Math.ceil(112 / h));
  const gap = 8;
  const H = h * scale, W = w * scale;
  const total = panels.length * W + (panels.length - 1) * gap;
  const data = new Uint8Array(H * total * 3).fill(255);
  panels.forEach((p, k) => {
    const px = render(p, scale);
    const x0 = k * (W + gap);
    for (let y = 0; y < H; y++) {
      data.set(px.subarray(y * W * 3, (y + 1) * W * 3), (y * total + x0) * 3);
    }
  });
  return encode({ width: total, height: H, data, channels: 3, depth: 8 });
}
