/**
 * Reader for the IDX format of MNIST and Fashion-MNIST: a 4-byte big-endian magic
 * (`0x00 0x00 type ndims`; type `0x08` is unsigned byte), `ndims` big-endian uint32
 * dimensions, then the row-major data. Images are `0x00000803` (`[count, rows, cols]`),
 * labels `0x00000801` (`[count]`). Gzip-compressed files (`.gz`, magic `1f 8b`, one or
 * more members) are decompressed transparently, with every member's CRC-32 and size checked.
 *
 * Pure TypeScript apart from {@link readIdxFile}, which reads a file with Deno.
 * @module
 */

import { gunzip, gunzipPrefix, isGzip } from "./gzip.ts";
import { hex32 } from "./crc32.ts";
import { DEFLATE_MAX_RATIO, maxInflatedSize } from "./inflate.ts";
import { readBytes } from "./_util.ts";

export { isGzip };

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

/**
 * Returns `bytes` decompressed when they are a gzip file (magic `1f 8b`, one or more
 * members), else `bytes`.
 * @param bytes file contents.
 * @param name file name used in error messages.
 * @param limit the most bytes the decompressed data may have (default: what deflate can
 *   produce from the file, 1032 bytes per compressed byte).
 * @throws Error naming the file when the gzip data is corrupt or truncated, a CRC-32 or
 *   size in a trailer does not match, or the data inflates beyond `limit`.
 */
export function maybeGunzip(bytes: Uint8Array, name = "<bytes>", limit?: number): Uint8Array {
  return isGzip(bytes) ? gunzip(bytes, name, { limit }) : bytes;
}

/** The largest IDX header: the magic and 255 dimensions. */
const MAX_HEADER = 4 + 4 * 255;

/** An IDX header: dimensions, header length and data size in bytes. */
interface IdxHeader {
  dims: number[];
  headerLen: number;
  size: number;
}

/** Checks the magic and reads the dimensions of the IDX data at the start of `raw`. */
function idxHeader(raw: Uint8Array, name: string, expectedMagic?: number): IdxHeader {
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
    throw new Error(`${name}: bad magic ${hex32(magic)}, expected ${hex32(expectedMagic)}${what}`);
  }
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) {
    throw new Error(
      `${name}: bad magic ${hex32(magic)}: not an unsigned-byte IDX file (expected 0x000008nn)`,
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
  if (!Number.isSafeInteger(size)) {
    throw new Error(`${name}: IDX header dims [${dims.join(", ")}] declare more than 2^53 bytes`);
  }
  return { dims, headerLen, size };
}

/**
 * Decompresses an IDX gzip file into a buffer no larger than its IDX header declares,
 * after checking that the compressed data can hold that much.
 */
function gunzipIdx(bytes: Uint8Array, name: string, expectedMagic?: number): Uint8Array {
  const head = idxHeader(gunzipPrefix(bytes, name, MAX_HEADER), name, expectedMagic);
  const total = head.headerLen + head.size;
  const dims = `[${head.dims.join(", ")}]`;
  const most = maxInflatedSize(bytes.length);
  if (total > most) {
    throw new Error(
      `${name}: IDX header dims ${dims} declare ${total} bytes, but a ${bytes.length}-byte ` +
        `gzip file can hold at most ${most} (deflate expands at most ${DEFLATE_MAX_RATIO}:1): ` +
        `the file is truncated or corrupt`,
    );
  }
  return gunzip(bytes, name, {
    limit: total,
    why: `the IDX header's dims ${dims} declare ${total} bytes with the header`,
  });
}

/**
 * Parses an unsigned-byte IDX file, plain or gzip-compressed. A gzip file is decompressed
 * into a buffer sized by its IDX header (checked against what the compressed bytes can
 * hold), never by its gzip trailer.
 * @param bytes file contents, plain or gzip-compressed.
 * @param name file name used in error messages.
 * @param expectedMagic when given, the magic the file must have (e.g. {@link IDX_IMAGES_MAGIC}).
 * @throws Error naming the file and the problem: bad magic, truncated header or data,
 *   trailing bytes, corrupt gzip data (including CRC-32 and size mismatches).
 */
export function parseIdx(bytes: Uint8Array, name = "<idx>", expectedMagic?: number): IdxArray {
  const raw = isGzip(bytes) ? gunzipIdx(bytes, name, expectedMagic) : bytes;
  const { dims, headerLen, size } = idxHeader(raw, name, expectedMagic);
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
