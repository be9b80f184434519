/**
 * RGB images on the host (height × width × 3 bytes, row-major) and the two operations
 * preparing a dataset needs besides augmentation: cropping and resizing.
 *
 * Resizing is separable and antialiased: along an axis that shrinks, each output pixel is
 * the area-weighted mean of the input pixels its footprint covers (a box filter, so nothing
 * aliases); along an axis that grows, it is the linear interpolation between the two nearest
 * pixel centres (edge pixels repeated). Sums are float64 and rounded once, to nearest.
 * @module
 */

/** An RGB image: `height × width × 3` bytes, row-major (HWC). */
export interface RgbImage {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** `height * width * 3` bytes. */
  data: Uint8Array;
}

/** Rounds to the nearest integer and clamps to 0 … 255. */
export function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * The rectangle of rows `y0 … y1 − 1` and columns `x0 … x1 − 1` of `img` (a copy).
 * @throws Error when the rectangle is empty or outside the image.
 */
export function crop(img: RgbImage, x0: number, y0: number, x1: number, y1: number): RgbImage {
  if (!(0 <= x0 && x0 < x1 && x1 <= img.width && 0 <= y0 && y0 < y1 && y1 <= img.height)) {
    throw new Error(
      `region x ${x0}…${x1 - 1}, y ${y0}…${y1 - 1} is empty or outside the ` +
        `${img.width}×${img.height} image`,
    );
  }
  const w = x1 - x0, h = y1 - y0;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * img.width + x0) * 3;
    out.set(img.data.subarray(from, from + w * 3), y * w * 3);
  }
  return { height: h, width: w, data: out };
}

/** Per output index, the input indices and weights (summing to 1) along one axis. */
function axisWeights(inN: number, outN: number): { idx: Int32Array; w: Float64Array; k: number } {
  const scale = inN / outN;
  const k = scale > 1 ? Math.ceil(scale) + 1 : 2;
  const idx = new Int32Array(outN * k), w = new Float64Array(outN * k);
  for (let o = 0; o < outN; o++) {
    if (scale > 1) {
      const a = o * scale, b = (o + 1) * scale;
      let j = 0;
      for (let i = Math.floor(a); i < b && i < inN; i++, j++) {
        idx[o * k + j] = i;
        w[o * k + j] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      }
    } else {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inN - 1);
      const i0 = Math.floor(x), f = x - i0;
      idx[o * k] = i0, w[o * k] = 1 - f;
      idx[o * k + 1] = Math.min(i0 + 1, inN - 1), w[o * k + 1] = f;
    }
  }
  return { idx, w, k };
}

/**
 * `img` resized to `height × width` (see the module documentation for the filter).
 * @throws Error when a size is not a positive integer.
 */
export function resize(img: RgbImage, height: number, width: number): RgbImage {
  for (const n of [height, width, img.height, img.width]) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`resize: bad image size ${n}`);
  }
  const H = img.height, W = img.width, src = img.data;
  const cx = axisWeights(W, width), cy = axisWeights(H, height);
  const mid = new Float64Array(H * width * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < cx.k; j++) {
        const wt = cx.w[x * cx.k + j];
        if (wt === 0) continue;
        const p = (y * W + cx.idx[x * cx.k + j]) * 3;
        r += wt * src[p], g += wt * src[p + 1], b += wt * src[p + 2];
      }
      const q = (y * width + x) * 3;
      mid[q] = r, mid[q + 1] = g, mid[q + 2] = b;
    }
  }
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < cy.k; j++) {
        const wt = cy.w[y * cy.k + j];
        if (wt === 0) continue;
        const p = (cy.idx[y * cy.k + j] * width + x) * 3;
        r += wt * mid[p], g += wt * mid[p + 1], b += wt * mid[p + 2];
      }
      const q = (y * width + x) * 3;
      out[q] = toByte(r), out[q + 1] = toByte(g), out[q + 2] = toByte(b);
    }
  }
  return { height, width, data: out };
}
