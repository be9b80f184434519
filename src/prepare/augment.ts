/**
 * The training-set augmentation of the reference: each new image is a seeded random
 * rotation (±15° about the image centre), translation (each axis uniform in ±2.5 px) and
 * projective warp (each of the four corners moved by independent uniform offsets in
 * `[−d, d]`, `d = 0.3 · H · U(0, 0.8)`, as skimage's `ProjectiveTransform` estimated from
 * the moved corners to the image corners), sampled bilinearly with edge pixels repeated.
 *
 * Coordinates are `(x, y)` = (column, row) with pixel centres at integers. Every transform
 * is the map from an output pixel to the input position it samples (skimage's `warp`
 * convention). The three maps are composed into one 3×3 matrix in float64 and the image is
 * resampled once, each value rounded to nearest (where the reference resamples three times).
 * @module
 */

import { type RgbImage, toByte } from "./image.ts";
import type { SeededRandom } from "./random.ts";

/** A 3×3 matrix, row-major, acting on `(x, y, 1)`. */
export type Mat3 = Float64Array;

/** Most rotation, degrees. */
export const MAX_ROTATION_DEG = 15;
/** Most translation along each axis, pixels. */
export const MAX_SHIFT = 2.5;
/** Largest warp intensity; `d = WARP_SCALE · H · U(0, MAX_INTENSITY)`. */
export const MAX_INTENSITY = 0.8;
/** Corner offset scale of the projective warp. */
export const WARP_SCALE = 0.3;

/** The product `a · b`. */
export function mul(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    }
  }
  return out;
}

/** Output → input map of a translation moving content by `(tx, ty)` pixels. */
export function translation(tx: number, ty: number): Mat3 {
  return Float64Array.of(1, 0, -tx, 0, 1, -ty, 0, 0, 1);
}

/**
 * Output → input map of a rotation by `deg` degrees about the centre of a `width × height`
 * image (skimage's `rotate`: positive turns the content counter-clockwise as displayed).
 */
export function rotation(deg: number, width: number, height: number): Mat3 {
  const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  // p ↦ centre + R(t)·(p − centre), R(t) = [[c, −s], [s, c]] in (x, y)
  return Float64Array.of(c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0, 0, 1);
}

/**
 * The projective map taking each point `from[k]` to `to[k]` (four `[x, y]` pairs, no three
 * collinear), solved exactly in float64.
 * @throws Error when the points are degenerate.
 */
export function homography(from: number[][], to: number[][]): Mat3 {
  // u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), v = (h3 x + h4 y + h5) / (h6 x + h7 y + 1)
  const a: number[][] = [];
  for (let k = 0; k < 4; k++) {
    const [x, y] = from[k], [u, v] = to[k];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let piv = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (Math.abs(a[piv][col]) < 1e-12) throw new Error("homography: degenerate corner points");
    [a[col], a[piv]] = [a[piv], a[col]];
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c < 9; c++) a[r][c] -= f * a[col][c];
    }
  }
  const h = a.map((row, i) => row[8] / row[i]);
  return Float64Array.of(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1);
}

/**
 * Output → input map of the reference's projective warp of a `size`-pixel image: `offsets`
 * are the corners' moves `[tlTop, tlLeft, blBottom, blLeft, trTop, trRight, brBottom,
 * brRight]`, each in `[−d, d]`; the moved corners map to the image corners.
 */
export function projectiveWarp(offsets: readonly number[], width: number, height: number): Mat3 {
  const [tlTop, tlLeft, blBottom, blLeft, trTop, trRight, brBottom, brRight] = offsets;
  const moved = [
    [tlLeft, tlTop],
    [blLeft, height - blBottom],
    [width - brRight, height - brBottom],
    [width - trRight, trTop],
  ];
  const corners = [[0, 0], [0, height], [width, height], [width, 0]];
  return homography(moved, corners);
}

/**
 * `img` resampled through the output → input map `m`: bilinear, positions outside the
 * image clamped to its edge (edge mode), values rounded to nearest.
 */
export function warp(img: RgbImage, m: Mat3): RgbImage {
  const { width: W, height: H, data: src } = img;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const z = m[6] * x + m[7] * y + m[8];
      let sx = (m[0] * x + m[1] * y + m[2]) / z;
      let sy = (m[3] * x + m[4] * y + m[5]) / z;
      sx = sx < 0 ? 0 : sx > W - 1 ? W - 1 : sx;
      sy = sy < 0 ? 0 : sy > H - 1 ? H - 1 : sy;
      if (!Number.isFinite(sx)) sx = 0;
      if (!Number.isFinite(sy)) sy = 0;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
      const fx = sx - x0, fy = sy - y0;
      const p00 = (y0 * W + x0) * 3, p01 = (y0 * W + x1) * 3;
      const p10 = (y1 * W + x0) * 3, p11 = (y1 * W + x1) * 3;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const q = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[q + c] = toByte(
          w00 * src[p00 + c] + w01 * src[p01 + c] + w10 * src[p10 + c] + w11 * src[p11 + c],
        );
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** The random parameters of one augmented image. */
export interface AugmentParams {
  /** Rotation, degrees. */
  degrees: number;
  /** Translation `[tx, ty]`, pixels. */
  shift: [number, number];
  /** Corner offsets of the projective warp (see {@link projectiveWarp}). */
  corners: number[];
}

/** Draws the parameters of one augmented image of height `height` from `rng`. */
export function drawParams(rng: SeededRandom, height: number): AugmentParams {
  const degrees = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG);
  const shift: [number, number] = [
    rng.uniform(-MAX_SHIFT, MAX_SHIFT),
    rng.uniform(-MAX_SHIFT, MAX_SHIFT),
  ];
  const d = WARP_SCALE * height * rng.uniform(0, MAX_INTENSITY);
  const corners = Array.from({ length: 8 }, () => rng.uniform(-d, d));
  return { degrees, shift, corners };
}

/**
 * The output → input map of rotation, then translation, then projective warp (the order
 * the reference applies them in).
 */
export function augmentMap(p: AugmentParams, width: number, height: number): Mat3 {
  return mul(
    rotation(p.degrees, width, height),
    mul(translation(p.shift[0], p.shift[1]), projectiveWarp(p.corners, width, height)),
  );
}

/** One augmented copy of `img`, its parameters drawn from `rng`. */
export function augment(img: RgbImage, rng: SeededRandom): RgbImage {
  return warp(img, augmentMap(drawParams(rng, img.height), img.width, img.height));
}
