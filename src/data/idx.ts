/**
 * Reader for the IDX format of MNIST and Fashion-MNIST: a 4-byte big-endian magic
 * (`0x00 0x00 type ndims`; type `0x08` is unsigned byte), `ndims` big-endian uint32
 * dimensions, then the row-major data. Images are `0x00000803` (`[count, rows, cols]`),
 * labels `0x00000801` (`[count]`). Gzip-compressed files (`.gz`, magic `1f 8b`) are
 * decompressed transparently.
 *
 * Pure TypeScript apart from {@link readIdxFile}, which reads a file with Deno.
 * @module
 */

import { gunzipSync } from "fflate";
import { errMessage, readBytes } from "./_util.ts";

/** Magic number of an IDX file of unsigned-byte images (`[count, rows, cols]`). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned-byte labels (`[count]`). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A parsed unsigned-byte IDX file. */
export interface IdxArray {
  /** Dimensions from the header, e.g. `[60000, 28, 28]` for images or `[60000]` for labels. */
  dims: number[];
  /** Row-major data, `product(dims)` bytes. */
  data: Uint8Array;
}

/** IDX images: `count` images of `rows × cols` unsigned bytes. */
export interface IdxImages {
  /** Number of images. */
  count: number;
  /** Image height. */
  rows: number;
  /** Image width. */
  cols: number;
  /** `count * rows * cols` pixels, row-major. */
  data: Uint8Array;
}

/** True when `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Returns `bytes` decompressed when they are a gzip stream (magic `1f 8b`), else `bytes`.
 * @param bytes file contents.
 * @param name file name used in error messages.
 * @throws Error naming the file when the gzip stream is corrupt or truncated.
 */
export function maybeGunzip(bytes: Uint8Array, name = "<bytes>"): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated gzip stream (${errMessage(e)})`);
  }
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Parses an unsigned-byte IDX file (after gunzipping it when needed).
 * @param bytes file contents, plain or gzip-compressed.
 * @param name file name used in error messages.
 * @param expectedMagic when given, the magic the file must have (e.g. {@link IDX_IMAGES_MAGIC}).
 * @throws Error naming the file and the problem: bad magic, truncated header or data,
 *   trailing bytes.
 */
export function parseIdx(bytes: Uint8Array, name = "<idx>", expectedMagic?: number): IdxArray {
  const raw = maybeGunzip(bytes, name);
  if (raw.length < 4) {
    throw new Error(`${name}: truncated IDX file: ${raw.length} bytes, too short for the magic`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0, false);
  const what = expectedMagic === IDX_IMAGES_MAGIC
    ? " (IDX images: unsigned bytes, 3 dimensions)"
    : expectedMagic === IDX_LABELS_MAGIC
    ? " (IDX labels: unsigned bytes, 1 dimension)"
    : "";
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new Error(`${name}: bad magic ${hex(magic)}, expected ${hex(expectedMagic)}${what}`);
  }
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) {
    throw new Error(
      `${name}: bad magic ${hex(magic)}: not an unsigned-byte IDX file (expected 0x000008nn)`,
    );
  }
  const ndims = raw[3];
  const headerLen = 4 + 4 * ndims;
  if (raw.length < headerLen) {
    throw new Error(
      `${name}: truncated IDX header: ${ndims} dimensions need ${headerLen} bytes, file has ${raw.length}`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    const v = view.getUint32(4 + 4 * d, false);
    dims.push(v);
    size *= v;
  }
  const have = raw.length - headerLen;
  if (have < size) {
    throw new Error(
      `${name}: truncated IDX data: header dims [${
        dims.join(", ")
      }] need ${size} bytes, found ${have}`,
    );
  }
  if (have > size) {
    throw new Error(
      `${name}: ${have - size} unexpected bytes after the IDX data (dims [${
        dims.join(", ")
      }] need ${size})`,
    );
  }
  return { dims, data: raw.subarray(headerLen, headerLen + size) };
}

/**
 * Parses an IDX images file (magic `0x00000803`).
 * @param bytes file contents, plain or gzip-compressed.
 * @param name file name used in error messages.
 */
export function parseIdxImages(bytes: Uint8Array, name = "<idx images>"): IdxImages {
  const { dims, data } = parseIdx(bytes, name, IDX_IMAGES_MAGIC);
  return { count: dims[0], rows: dims[1], cols: dims[2], data };
}

/**
 * Parses an IDX labels file (magic `0x00000801`).
 * @param bytes file contents, plain or gzip-compressed.
 * @param name file name used in error messages.
 * @returns one byte per label.
 */
export function parseIdxLabels(bytes: Uint8Array, name = "<idx labels>"): Uint8Array {
  return parseIdx(bytes, name, IDX_LABELS_MAGIC).data;
}

/**
 * Parses an IDX images file and its labels file and checks that their counts agree.
 * @throws Error naming both files when the counts differ.
 */
export function parseIdxPair(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  imageName = "<idx images>",
  labelName = "<idx labels>",
): { images: IdxImages; labels: Uint8Array } {
  const images = parseIdxImages(imageBytes, imageName);
  const labels = parseIdxLabels(labelBytes, labelName);
  if (labels.length !== images.count) {
    throw new Error(
      `${labelName}: count mismatch: ${labels.length} labels but ${imageName} holds ${images.count} images`,
    );
  }
  return { images, labels };
}

/**
 * Reads and parses an IDX file (plain or gzip-compressed) from disk.
 * @param path file path.
 * @param expectedMagic when given, the magic the file must have.
 */
export async function readIdxFile(path: string, expectedMagic?: number): Promise<IdxArray> {
  return parseIdx(await readBytes(path), path, expectedMagic);
}
