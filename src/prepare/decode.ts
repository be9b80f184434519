/**
 * Image decoders for the datasets' published forms: binary PPM (`P6`, GTSRB's official
 * archives) and baseline/progressive JPEG (Flower-17, through `jpeg-js`). Both return
 * {@link RgbImage}s and report a corrupt or unexpected file by name.
 * @module
 */

import jpeg from "jpeg-js";
import type { RgbImage } from "./image.ts";

/** Largest image accepted, in pixels (the datasets' images are far smaller). */
export const MAX_PIXELS = 1 << 24;

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Decodes a binary PPM (`P6`): header fields separated by whitespace (with `#` comments),
 * then `width × height × 3` samples of one byte (maxval < 256) or two big-endian bytes,
 * scaled to 0 … 255.
 * @throws Error naming `name`: not a `P6` file, a bad header, truncated pixel data.
 */
export function decodePpm(bytes: Uint8Array, name: string): RgbImage {
  if (bytes.length < 2 || bytes[0] !== 0x50 || bytes[1] !== 0x36) {
    throw new Error(`${name}: not a binary PPM image (expected the magic 'P6')`);
  }
  let p = 2;
  const field = (what: string): number => {
    for (;;) {
      while (p < bytes.length && isSpace(bytes[p])) p++;
      if (bytes[p] !== 0x23) break;
      while (p < bytes.length && bytes[p] !== 0x0a) p++;
    }
    const start = p;
    while (p < bytes.length && bytes[p] >= 0x30 && bytes[p] <= 0x39 && p - start < 9) p++;
    if (p === start || (p < bytes.length && !isSpace(bytes[p]))) {
      throw new Error(`${name}: bad PPM header: expected the ${what} as a decimal number`);
    }
    return Number(new TextDecoder().decode(bytes.subarray(start, p)));
  };
  const width = field("width"), height = field("height"), maxval = field("maxval");
  p++; // the single whitespace byte before the pixels
  if (width < 1 || height < 1 || width * height > MAX_PIXELS) {
    throw new Error(`${name}: PPM size ${width}×${height} is empty or too large`);
  }
  if (maxval < 1 || maxval > 65535) {
    throw new Error(`${name}: PPM maxval ${maxval} out of range (expected 1 … 65535)`);
  }
  const wide = maxval > 255 ? 2 : 1;
  const n = width * height * 3;
  if (bytes.length - p < n * wide) {
    throw new Error(
      `${name}: truncated PPM: ${width}×${height} pixels need ${n * wide} bytes of data, ` +
        `found ${Math.max(bytes.length - p, 0)}`,
    );
  }
  const data = new Uint8Array(n);
  if (wide === 1 && maxval === 255) data.set(bytes.subarray(p, p + n));
  else {
    for (let i = 0; i < n; i++) {
      const v = wide === 1 ? bytes[p + i] : (bytes[p + 2 * i] << 8) | bytes[p + 2 * i + 1];
      data[i] = Math.round((Math.min(v, maxval) * 255) / maxval);
    }
  }
  return { width, height, data };
}

/**
 * Decodes a JPEG to RGB (greyscale images get three equal channels).
 * @throws Error naming `name` when the file is not a JPEG or is corrupt.
 */
export function decodeJpeg(bytes: Uint8Array, name: string): RgbImage {
  if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) {
    throw new Error(`${name}: not a JPEG image (expected the marker FF D8 FF)`);
  }
  let raw;
  try {
    raw = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 512,
    });
  } catch (e) {
    throw new Error(`${name}: corrupt or unsupported JPEG: ${(e as Error).message ?? e}`);
  }
  const { width, height } = raw;
  const data = raw.data as Uint8Array;
  if (!width || !height || data.length !== width * height * 3) {
    throw new Error(`${name}: corrupt JPEG: decoded ${data.length} bytes for ${width}×${height}`);
  }
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
