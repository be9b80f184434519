/**
 * Host-side statistics comparing saliency maps (docs/spec.md §8–9): Kendall's τ-b, Spearman's ρ,
 * top-k intersection and the mass-centre measure. Inputs are flat vectors (`Float32Array`,
 * `number[]`, …) read back from the GPU; all arithmetic is float64.
 *
 * Values agree with SciPy's `scipy.stats.kendalltau` (variant `b`) and `scipy.stats.spearmanr`,
 * including their NaN conventions: a constant input (all entries equal, or fewer than two
 * entries) has no defined rank correlation and gives `NaN`, as does any `NaN` entry.
 *
 * Pure TypeScript: no GPU or Deno APIs.
 * @module
 */

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  if (a.length !== b.length) {
    throw new Error(`${what}: the vectors have different lengths (${a.length} and ${b.length})`);
  }
  return a.length;
}

function hasNaN(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return true;
  return false;
}

/** Indices `0..n-1` sorted by `a` ascending; equal values keep index order (stable). */
function argsort(a: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: a.length }, (_, i) => i);
  // Int32Array.prototype.sort with a comparator is stable in V8 (merge/timsort).
  idx.sort((i, j) => (a[i] - a[j]) || (i - j));
  return idx;
}

/**
 * Average ranks (1-based; tied entries get the mean of the ranks they span), like SciPy's
 * `rankdata(a, method="average")`.
 */
export function averageRanks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const order = argsort(a);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && a[order[j]] === a[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let t = i; t < j; t++) r[order[t]] = rank;
    i = j;
  }
  return r;
}

/**
 * Spearman's rank correlation ρ: the Pearson correlation of the average ranks of `a` and `b`
 * (SciPy's `spearmanr(a, b)[0]`). `NaN` when either vector is constant, has fewer than two
 * entries, or contains `NaN`.
 * @throws Error when the lengths differ.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = checkPair(a, b, "spearman");
  if (n < 2 || hasNaN(a) || hasNaN(b)) return NaN;
  const ra = averageRanks(a), rb = averageRanks(b);
  // both rank vectors have mean (n+1)/2; centred ranks are multiples of 1/2, so these sums
  // are exact in float64 for any realistic n
  const m = (n + 1) / 2;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - m, y = rb[i] - m;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  if (saa === 0 || sbb === 0) return NaN;
  // identical (or exactly reversed) rankings give exactly ±1
  if (saa === sbb && Math.abs(sab) === saa) return Math.sign(sab);
  return Math.min(1, Math.max(-1, sab / Math.sqrt(saa) / Math.sqrt(sbb)));
}

/** Σ t(t−1)/2 over the runs of equal values of a sorted integer sequence. */
function tiePairs(sorted: Int32Array): number {
  let s = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    const t = j - i;
    s += (t * (t - 1)) / 2;
    i = j;
  }
  return s;
}

/** Dense integer ranks (0-based, equal values share a rank). */
function denseRanks(a: ArrayLike<number>): Int32Array {
  const order = argsort(a);
  const r = new Int32Array(a.length);
  let rank = 0;
  for (let i = 0; i < order.length; i++) {
    if (i > 0 && a[order[i]] !== a[order[i - 1]]) rank++;
    r[order[i]] = rank;
  }
  return r;
}

/** Number of strict inversions (i < j, v[i] > v[j]) of `v`, by merge sort (`v` is kept). */
function countInversions(v: Int32Array): number {
  const n = v.length;
  let src = v.slice(), dst = new Int32Array(n);
  let inv = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          inv += mid - i; // src[j] is smaller than every remaining left entry
          dst[k++] = src[j++];
        } else {
          dst[k++] = src[i++];
        }
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  return inv;
}

/**
 * Kendall's τ-b (tie-corrected), as SciPy's `kendalltau(a, b)[0]`:
 * `τ_b = (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂))` with `n₀ = n(n−1)/2` and `n₁`, `n₂` the tied
 * pairs of `a` and `b`. Knight's O(n log n) algorithm: sort by `(a, b)` and count the
 * discordant pairs as the inversions of `b` in that order. `NaN` when either vector is
 * constant, has fewer than two entries, or contains `NaN`.
 * @throws Error when the lengths differ.
 */
export function kendallTauB(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = checkPair(a, b, "kendallTauB");
  if (n < 2 || hasNaN(a) || hasNaN(b)) return NaN;
  const ra = denseRanks(a), rb = denseRanks(b);
  // sort by (a, b) lexicographically
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => (ra[i] - ra[j]) || (rb[i] - rb[j]) || (i - j));
  const sa = new Int32Array(n), sb = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    sa[i] = ra[order[i]];
    sb[i] = rb[order[i]];
  }
  // pairs tied in both a and b
  let joint = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && sa[j] === sa[i] && sb[j] === sb[i]) j++;
    joint += ((j - i) * (j - i - 1)) / 2;
    i = j;
  }
  const tieA = tiePairs(sa);
  const tieB = tiePairs(rb.slice().sort());
  const dis = countInversions(sb);
  const tot = (n * (n - 1)) / 2;
  if (tieA === tot || tieB === tot) return NaN;
  const conMinusDis = tot - tieA - tieB + joint - 2 * dis;
  const da = tot - tieA, db = tot - tieB;
  const tau = da === db ? conMinusDis / da : conMinusDis / Math.sqrt(da) / Math.sqrt(db);
  return Math.min(1, Math.max(-1, tau));
}

/**
 * Indices of the `k` largest entries of `a`, largest first; ties go to the lower index (the
 * rule of the engine's `topKMask` and of TensorFlow's `top_k`).
 * @throws Error unless `0 ≤ k ≤ a.length` is an integer.
 */
export function topKIndices(a: ArrayLike<number>, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 0 || k > a.length) {
    throw new Error(`top-k: k must be an integer in [0, ${a.length}], got ${k}`);
  }
  const idx = Int32Array.from({ length: a.length }, (_, i) => i);
  // NaN sorts last
  const key = (i: number) => (Number.isNaN(a[i]) ? -Infinity : a[i]);
  idx.sort((i, j) => (key(j) - key(i)) || (i - j));
  return idx.slice(0, k);
}

/**
 * Top-k intersection `|topk(a) ∩ topk(b)| / k` (docs/spec.md §9), ties broken by the lower index.
 * @throws Error when the lengths differ or `k` is not an integer in `[1, length]`.
 */
export function topKIntersection(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  const n = checkPair(a, b, "topKIntersection");
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new Error(`topKIntersection: k must be an integer in [1, ${n}], got ${k}`);
  }
  const inA = new Uint8Array(n);
  for (const i of topKIndices(a, k)) inA[i] = 1;
  let common = 0;
  for (const i of topKIndices(b, k)) common += inA[i];
  return common / k;
}

/**
 * The mass centre `(Σ S·row, Σ S·col) / (H·W)` of a saliency map `S` (row-major H×W), as
 * `[row, col]` (the engine's `massCenter`, docs/spec.md §8, evaluated in float64 on the host).
 * @throws Error when the map does not have H·W entries.
 */
export function massCenterOf(map: ArrayLike<number>, H: number, W: number): [number, number] {
  if (map.length !== H * W) {
    throw new Error(`massCenterOf: the map has ${map.length} entries, expected ${H}×${W}`);
  }
  let r = 0, c = 0;
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const s = map[h * W + w];
      r += s * h;
      c += s * w;
    }
  }
  return [r / (H * W), c / (H * W)];
}

/**
 * The `mass_center` measure of docs/spec.md §8: `−‖c(original) − c(perturbed)‖₂` on mass centres
 * truncated to integers (toward zero, as NumPy's `astype(int)`). It is 0 while the truncated
 * centre stays put and negative once it moves, so lower means a more successful attack.
 */
export function massCenterMeasure(
  original: ArrayLike<number>,
  perturbed: ArrayLike<number>,
  H: number,
  W: number,
): number {
  const [r0, c0] = massCenterOf(original, H, W).map(Math.trunc);
  const [r1, c1] = massCenterOf(perturbed, H, W).map(Math.trunc);
  const d = Math.hypot(r0 - r1, c0 - c1);
  return d === 0 ? 0 : -d;
}
