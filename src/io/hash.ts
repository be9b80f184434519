/**
 * Integer hash used to rebuild weights and probe vectors exactly in any language
 * (see `tests/goldens/README.md`, "Hashed values").
 *
 * Pure TypeScript: no Deno or browser APIs.
 * @module
 */

/**
 * Hashes `(seed, i)` to a number uniformly spread over `[0, 1)` with 24 bits of resolution.
 *
 * All arithmetic is unsigned 32-bit (arguments are reduced modulo 2^32):
 * ```
 * h = i*0x9E3779B1 + s*0x85EBCA77
 * h ^= h >> 15;  h *= 0x2C1B3C6D
 * h ^= h >> 12;  h *= 0x297A2D39
 * h ^= h >> 15
 * u = (h >> 8) / 2^24
 * ```
 *
 * @param seed the seed `s` (an integer).
 * @param i the index `i` (an integer).
 * @returns `u` in `[0, 1)`, exactly representable in float32.
 * @example hash01(1, 0) === 0.2746656537055969
 */
export function hash01(seed: number, i: number): number {
  let h = (Math.imul(i, 0x9E3779B1) + Math.imul(seed, 0x85EBCA77)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2C1B3C6D) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297A2D39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return (h >>> 8) / 16777216;
}

/**
 * Builds a row-major tensor whose flat entry `k` is `scale·(2·hash01(seed, k) − 1)`,
 * computed in float64 and rounded to float32. This is how the goldens' parameters
 * (`hashed(seed, shape, scale)` in the `params` metadata) are defined.
 *
 * @param seed the hash seed.
 * @param shape the tensor shape (non-negative integers; `[]` is a scalar with one entry).
 * @param scale the half-width of the value range `(-scale, scale)`.
 * @returns a new `Float32Array` with `product(shape)` entries.
 * @throws Error if `shape` holds something other than non-negative integers.
 */
export function hashed(seed: number, shape: number[], scale: number): Float32Array {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new Error(
        `hashed: shape ${JSON.stringify(shape)} must hold non-negative integers, got ${String(d)}`,
      );
    }
    n *= d;
  }
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = scale * (2 * hash01(seed, k) - 1);
  return out;
}
