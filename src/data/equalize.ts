/**
 * Histogram equalisation with OpenCV `cv::equalizeHist` semantics, bit for bit:
 *
 * ```
 * hist = 256-bin histogram;  i = first non-zero bin;  total = pixel count
 * if hist[i] == total: every output pixel is i
 * scale = float32(255 / (total - hist[i]))
 * lut[i] = 0;  sum = 0
 * for j > i: sum += hist[j];  lut[j] = saturate_cast<uchar>(float32(sum * scale))
 * ```
 *
 * `saturate_cast<uchar>(float)` is `cvRound`: round half to even. This matters: in the
 * GTSRB fixtures 9 of 51 channels have `total - hist[i] = 1020`, so `scale` is exactly 0.25
 * and `sum * scale` often lands on .5; rounding half up misses the expected values, half to
 * even reproduces them (computing in float32 or float64 makes no difference there).
 *
 * Pure TypeScript: no Deno APIs.
 * @module
 */

/** Rounds half to even (`cvRound` under the default floating-point rounding mode). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Builds the equalisation look-up table of one channel.
 * @param src pixels of the channel, read at `offset + k * stride` for `k < count`.
 * @returns the 256-entry LUT, or the constant value when the channel has a single level.
 */
function equalizeLut(
  src: Uint8Array,
  count: number,
  offset: number,
  stride: number,
): Uint8Array | number {
  const hist = new Int32Array(256);
  for (let k = 0, p = offset; k < count; k++, p += stride) hist[src[p]]++;
  let i = 0;
  while (i < 256 && hist[i] === 0) i++;
  if (i === 256) return 0; // empty input
  if (hist[i] === count) return i;
  const scale = Math.fround(255 / (count - hist[i]));
  const lut = new Uint8Array(256);
  let sum = 0;
  for (let j = i + 1; j < 256; j++) {
    sum += hist[j];
    const v = roundHalfEven(Math.fround(Math.fround(sum) * scale));
    lut[j] = v > 255 ? 255 : v;
  }
  return lut;
}

/**
 * Equalises one channel stored with a stride (e.g. one channel of an interleaved image).
 * @param src source pixels.
 * @param dst destination (may be `src`, for in-place equalisation).
 * @param count number of pixels in the channel.
 * @param offset index of the channel's first pixel in `src`/`dst`.
 * @param stride distance between consecutive pixels of the channel (the channel count).
 */
export function equalizeHistStrided(
  src: Uint8Array,
  dst: Uint8Array,
  count: number,
  offset = 0,
  stride = 1,
): void {
  const lut = equalizeLut(src, count, offset, stride);
  if (typeof lut === "number") {
    for (let k = 0, p = offset; k < count; k++, p += stride) dst[p] = lut;
  } else {
    for (let k = 0, p = offset; k < count; k++, p += stride) dst[p] = lut[src[p]];
  }
}

/**
 * Equalises a single-channel 8-bit image like OpenCV `equalizeHist`.
 * @param src pixels of one channel.
 * @returns a new array of equalised pixels.
 */
export function equalizeHist(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(src.length);
  equalizeHistStrided(src, dst, src.length, 0, 1);
  return dst;
}

/**
 * Equalises each channel of one interleaved (HWC) image independently, as
 * `cv2.merge([cv2.equalizeHist(c) for c in cv2.split(img)])`.
 * @param src `height * width * channels` pixels.
 * @param channels number of interleaved channels.
 * @param dst destination (defaults to a new array; may be `src`).
 * @returns `dst`.
 */
export function equalizeHistChannels(
  src: Uint8Array,
  channels: number,
  dst: Uint8Array = new Uint8Array(src.length),
): Uint8Array {
  if (src.length % channels !== 0) {
    throw new Error(`equalizeHistChannels: ${src.length} pixels is not a multiple of ${channels}`);
  }
  const count = src.length / channels;
  for (let c = 0; c < channels; c++) equalizeHistStrided(src, dst, count, c, channels);
  return dst;
}

/**
 * Equalises every image of an NHWC batch per channel (see {@link equalizeHistChannels}).
 * @param images `n * h * w * c` pixels.
 * @param shape `[n, h, w, c]`.
 * @param dst destination (defaults to a new array; may be `images` for in place).
 * @returns `dst`.
 */
export function equalizeImages(
  images: Uint8Array,
  shape: readonly [number, number, number, number],
  dst: Uint8Array = new Uint8Array(images.length),
): Uint8Array {
  const [n, h, w, c] = shape;
  const per = h * w * c;
  if (images.length !== n * per) {
    throw new Error(
      `equalizeImages: ${images.length} pixels do not match shape [${shape.join(", ")}]`,
    );
  }
  for (let k = 0; k < n; k++) {
    equalizeHistChannels(
      images.subarray(k * per, (k + 1) * per),
      c,
      dst.subarray(k * per, (k + 1) * per),
    );
  }
  return dst;
}
