/**
 * Initial parameters drawn on the host, exactly: integer hashing for the uniforms and a
 * transform that uses only correctly rounded float64 operations (+ − × ÷ sqrt and
 * comparisons), then one rounding to float32. The same seed gives the same bits on every
 * adapter, engine and language; `docs/initialisation.md` states the recipe for reimplementing
 * it (e.g. in NumPy).
 *
 * Pure TypeScript: no Deno, browser or GPU APIs.
 * @module
 */

import { hash01 } from "../io/hash.ts";
import type { Init, Model } from "./model.ts";

/** `sqrt(1/2)` rounded to float64: the lower end of the logarithm's reduced range. */
const SQRT1_2 = 0.7071067811865476;
/** `ln 2` rounded to float64. */
const LN2 = 0.6931471805599453;
/** Terms `t^(2k)/(2k+1)`, `k = 0..LOG_TERMS`, of the series for `atanh`. */
const LOG_TERMS = 12;
/** A tensor draws at most this many polar candidates (two hash counters each). */
const MAX_CANDIDATES = 2 ** 31;

/**
 * The natural logarithm of `x` in `(0, 1)` (both ends excluded; a normal float64) as a fixed
 * sequence of correctly rounded operations, so every IEEE-754 implementation gets the same bits:
 * `x = m·2^e` with `m` in `[sqrt(1/2), sqrt(2))` (doubling `m` while it is below
 * `sqrt(1/2)`, exact), `t = (m−1)/(m+1)`,
 * `p = c_12`, `p = p·t² + c_k` for `k = 11..0` with `c_k = 1/(2k+1)`, and
 * `ln x = e·ln2 + (2t)·p`. Accurate to a few float64 ulps.
 *
 * @throws RangeError when `x` is not in `(0, 1)`.
 */
export function hostLog(x: number): number {
  if (!(x > 0 && x < 1)) throw new RangeError(`hostLog: expected 0 < x < 1, got ${x}`);
  let m = x, e = 0;
  while (m < SQRT1_2) {
    m = m * 2;
    e = e - 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  let p = 1 / (2 * LOG_TERMS + 1);
  for (let k = LOG_TERMS - 1; k >= 0; k--) p = p * t2 + 1 / (2 * k + 1);
  return e * LN2 + (2 * t) * p;
}

/**
 * The stream seed of parameter number `k` (in model order) for the run seed `seed`:
 * `floor(hash01(seed mod 2^32, k) · 2^32)`.
 */
export function initStream(seed: number, k: number): number {
  return Math.floor(hash01(seed >>> 0, k) * 2 ** 32) >>> 0;
}

/**
 * Passes `n` standard normal draws (float64, before scaling) from stream `stream` to `visit`,
 * by Marsaglia's polar method: candidate `j` uses counters `2j` and `2j+1`; rejected candidates
 * and, with `truncated`, draws with `|z| > 2` are skipped, so the tensor's entries are the
 * accepted draws in order.
 */
function normals(n: number, stream: number, truncated: boolean, visit: (z: number) => void) {
  let filled = 0;
  for (let j = 0; filled < n; j++) {
    if (j >= MAX_CANDIDATES) {
      throw new RangeError(`initialisation: a tensor of ${n} entries exhausts its hash counters`);
    }
    const x = 2 * hash01(stream, 2 * j) - 1;
    const y = 2 * hash01(stream, 2 * j + 1) - 1;
    const r = x * x + y * y;
    if (!(r > 0 && r < 1)) continue;
    const f = Math.sqrt((-2 * hostLog(r)) / r);
    for (const z of [x * f, y * f]) {
      if (filled === n) break;
      if (truncated && !(Math.abs(z) <= 2)) continue;
      visit(z);
      filled++;
    }
  }
}

/**
 * The values of one parameter tensor with `count` entries, initialised as `init` says from
 * stream seed `stream` (see {@linkcode initStream}):
 * - `truncated_normal` / `normal`: `f32(std·z)` for the polar-method draws `z`
 *   (truncated: `|z| ≤ 2`, i.e. beyond 2σ is redrawn);
 * - `uniform`: entry `i` is `f32(limit·(2·hash01(stream, i) − 1))`;
 * - `constant`: `f32(value)`.
 */
export function initValues(init: Init, count: number, stream: number): Float32Array {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`initValues: count must be a non-negative integer, got ${count}`);
  }
  const out = new Float32Array(count);
  switch (init.kind) {
    case "truncated_normal":
    case "normal": {
      let i = 0;
      const std = init.std;
      normals(count, stream, init.kind === "truncated_normal", (z) => out[i++] = std * z);
      break;
    }
    case "uniform":
      for (let i = 0; i < count; i++) out[i] = init.limit * (2 * hash01(stream, i) - 1);
      break;
    case "constant":
      out.fill(init.value);
      break;
  }
  return out;
}

/**
 * Initial parameters of `model` for `seed` as host arrays, by name (docs/spec.md §2): parameter `k` (in
 * `model.specs` order) is drawn from stream `initStream(seed, k)`. A pure function of the seed,
 * independent of any device.
 */
export function initHost(model: Model, seed: number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  model.specs.forEach((s, k) => {
    const count = s.shape.reduce((a, b) => a * b, 1);
    out[s.name] = initValues(s.init, count, initStream(seed, k));
  });
  return out;
}
