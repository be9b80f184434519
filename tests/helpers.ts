/**
 * Test helpers: golden files, tolerant comparisons, finite differences.
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseSafetensors, type SafeFile } from "../src/io/safetensors.ts";
import { init } from "../src/init.ts";
import { type Tensor, tensor } from "../src/tensor.ts";

/**
 * Directory of the golden files: `tests/goldens/`, or the directory named by the environment
 * variable `RAR_GOLDENS_DIR` (golden files of the same layout made with other seeds, sizes or
 * images; see `tests/goldens/README.md`).
 */
export const GOLDENS: URL = goldensDir();

function goldensDir(): URL {
  const own = new URL("./goldens/", import.meta.url);
  const state = Deno.permissions.querySync({ name: "env", variable: "RAR_GOLDENS_DIR" }).state;
  const dir = state === "granted" ? Deno.env.get("RAR_GOLDENS_DIR") : undefined;
  return dir ? pathToFileURL(`${resolve(dir)}/`) : own;
}

const cache = new Map<string, SafeFile>();

/** Loads and caches a golden safetensors file by name (e.g. `ops.safetensors`). */
export async function golden(name: string): Promise<SafeFile> {
  let f = cache.get(name);
  if (!f) {
    const url = new URL(name, GOLDENS);
    f = parseSafetensors(await Deno.readFile(url), url.pathname);
    cache.set(name, f);
  }
  return f;
}

/** Host data of golden tensor `key`; throws naming the key when absent. */
export function host(
  f: SafeFile,
  key: string,
): { shape: number[]; data: Float32Array | Int32Array } {
  const e = f.tensors.get(key);
  if (!e) throw new Error(`golden tensor ${key} is missing`);
  return { shape: e.shape, data: e.data };
}

/** Golden tensor `key` uploaded to the GPU. */
export function gpu(f: SafeFile, key: string): Tensor {
  const { shape, data } = host(f, key);
  return tensor(data, shape);
}

/** Initialises the engine once. */
export async function setup(): Promise<void> {
  await init();
}

/** Largest |a−b| / (atol + rtol·max|b|) style check with a clear message. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-4,
  atol?: number,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} differs from expected ${expected.length}`);
  }
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const tol = atol ?? rtol * Math.max(scale, 1e-6);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const lim = tol + rtol * Math.abs(expected[i]);
    if (!(err <= lim) && (worst < 0 || err > worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|error| ${worstErr.toExponential(3)} > tolerance; max |expected| ${scale})`,
    );
  }
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 && bb === 0) return 1;
  return ab / Math.sqrt(aa * bb);
}

/**
 * Second-order check: within 1e-2 relative, or cosine similarity above 0.999 with norms
 * within 1e-2 (so a result off by a constant factor fails).
 */
export function assertSecondOrder(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
): void {
  try {
    assertClose(actual, expected, what, 1e-2);
  } catch (e) {
    const c = cosine(actual, expected);
    const na = norm(actual), nb = norm(expected);
    const normOk = Math.abs(na - nb) <= 1e-2 * Math.max(nb, 1e-30);
    if (!(c > 0.999) || !normOk) {
      throw new Error(`${(e as Error).message}; cosine similarity ${c}, norms ${na} vs ${nb}`);
    }
  }
}

/** Reads a tensor to a Float32Array. */
export async function read(t: Tensor): Promise<Float32Array> {
  return new Float32Array(await t.data());
}

/** Euclidean norm. */
export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}
