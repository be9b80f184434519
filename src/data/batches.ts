/**
 * Seeded mini-batch sampling: each pass over the data ("epoch") visits a fresh random
 * permutation of `0 … count-1` (Fisher–Yates of the identity driven by a mulberry32
 * generator); batches are consecutive slices of the stream of permutations, so a batch may
 * span two passes (finish the pass, reshuffle, continue). The state is a few plain numbers,
 * serialisable to JSON, from which the exact continuation is rebuilt.
 *
 * Pure TypeScript: no Deno APIs.
 * @module
 */

import type { Split } from "./types.ts";

/** Serialisable state of a {@link Batcher} (plain JSON numbers). */
export interface BatcherState {
  /** Number of examples the permutations cover. */
  count: number;
  /** The seed the batcher was created with. */
  seed: number;
  /** Completed passes over the data (the current permutation is pass `epoch`). */
  epoch: number;
  /** Position of the next index within the current permutation, `0 … count-1`. */
  position: number;
  /** Generator state (uint32) before the current permutation was drawn. */
  rng: number;
}

/** One step of mulberry32: returns `[next state, 32-bit output]`. */
function mulberry32(state: number): [number, number] {
  const s = (state + 0x6D2B79F5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [s, (t ^ (t >>> 14)) >>> 0];
}

/** Initial generator state for a seed (any integer; reduced modulo 2^32 and mixed). */
function seedState(seed: number): number {
  let h = (Math.imul(seed >>> 0, 0x9E3779B1) ^ Math.floor(seed / 4294967296)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85EBCA6B) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * Shuffles `0 … perm.length-1` into `perm` with Fisher–Yates.
 * @returns the generator state afterwards.
 */
function shuffleIdentity(perm: Int32Array, state: number): number {
  const n = perm.length;
  for (let k = 0; k < n; k++) perm[k] = k;
  let s = state;
  for (let k = n - 1; k > 0; k--) {
    const [next, out] = mulberry32(s);
    s = next;
    // floor(out * (k+1) / 2^32): bias at most (k+1) / 2^32, negligible for dataset sizes.
    const j = Math.floor((out * (k + 1)) / 4294967296);
    const t = perm[k];
    perm[k] = perm[j];
    perm[j] = t;
  }
  return s;
}

/** Seeded, resumable sampler of mini-batch indices with a reshuffle after every pass. */
export class Batcher {
  /** Number of examples. */
  readonly count: number;
  /** Indices per batch. */
  readonly batchSize: number;
  /** The seed the sequence derives from. */
  readonly seed: number;
  #perm: Int32Array;
  #epoch = 0;
  #position = 0;
  #rngAtPass: number;
  #rng: number;

  /**
   * Creates a batcher; the first pass's permutation is drawn from `seed` right away.
   * @param count number of examples (≥ 1).
   * @param batchSize indices per batch (≥ 1; may exceed `count`).
   * @param seed any integer (e.g. the config's `np_random_seed`).
   */
  constructor(count: number, batchSize: number, seed: number) {
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`Batcher: count must be a positive integer, got ${count}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`Batcher: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seed)) throw new Error(`Batcher: seed must be an integer, got ${seed}`);
    this.count = count;
    this.batchSize = batchSize;
    this.seed = seed;
    this.#perm = new Int32Array(count);
    this.#rngAtPass = seedState(seed);
    this.#rng = shuffleIdentity(this.#perm, this.#rngAtPass);
  }

  /** Completed passes over the data so far (0 during the first pass). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Indices of the next batch (`batchSize` of them, in `0 … count-1`). */
  next(): Int32Array {
    const out = new Int32Array(this.batchSize);
    let filled = 0;
    while (filled < this.batchSize) {
      const take = Math.min(this.batchSize - filled, this.count - this.#position);
      out.set(this.#perm.subarray(this.#position, this.#position + take), filled);
      filled += take;
      this.#position += take;
      if (this.#position === this.count) {
        this.#epoch++;
        this.#position = 0;
        this.#rngAtPass = this.#rng;
        this.#rng = shuffleIdentity(this.#perm, this.#rngAtPass);
      }
    }
    return out;
  }

  /** The state from which {@link Batcher.restore} continues exactly this sequence. */
  state(): BatcherState {
    return {
      count: this.count,
      seed: this.seed,
      epoch: this.#epoch,
      position: this.#position,
      rng: this.#rngAtPass,
    };
  }

  /**
   * Rebuilds a batcher from {@link Batcher.state}; its `next()` continues the index sequence
   * exactly where the saved one stopped (the batch size may differ from the saved one's).
   *
   * With `options.consumed`, the state must also lie exactly that many indices into the
   * stream (`epoch · count + position`, e.g. steps × batch size), and its generator state
   * must be the one its seed reaches after `epoch` passes; checking that replays the
   * shuffles, O(consumed) work. This detects a damaged or foreign state, which would
   * otherwise silently continue with a different data order.
   *
   * @throws Error when the state is malformed, was saved for a different `count`, or is not
   *   at `options.consumed`.
   */
  static restore(
    count: number,
    batchSize: number,
    state: BatcherState,
    options: { consumed?: number } = {},
  ): Batcher {
    const ok = (v: unknown, lo: number, hi: number) =>
      typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
    if (
      !state || typeof state !== "object" || !ok(state.count, 1, Number.MAX_SAFE_INTEGER) ||
      !Number.isInteger(state.seed) || !ok(state.epoch, 0, Number.MAX_SAFE_INTEGER) ||
      !ok(state.position, 0, state.count - 1) || !ok(state.rng, 0, 4294967295)
    ) {
      throw new Error(`Batcher.restore: malformed state ${JSON.stringify(state)}`);
    }
    if (state.count !== count) {
      throw new Error(
        `Batcher.restore: the state was saved for ${state.count} examples, not ${count}`,
      );
    }
    const b = new Batcher(count, batchSize, state.seed);
    const { consumed } = options;
    if (consumed !== undefined) {
      const at = state.epoch * count + state.position;
      if (at !== consumed) {
        throw new Error(
          `Batcher.restore: the state is ${at} indices into the stream (pass ${state.epoch}, ` +
            `position ${state.position} of ${count}), expected ${consumed}`,
        );
      }
      let rng = b.#rngAtPass;
      for (let e = 0; e < state.epoch; e++) rng = shuffleIdentity(b.#perm, rng);
      if (rng !== state.rng) {
        throw new Error(
          `Batcher.restore: the generator state ${state.rng} is not the one seed ` +
            `${state.seed} reaches after ${state.epoch} passes (${rng})`,
        );
      }
    }
    b.#epoch = state.epoch;
    b.#position = state.position;
    b.#rngAtPass = state.rng;
    b.#rng = shuffleIdentity(b.#perm, state.rng);
    return b;
  }
}

/**
 * Gathers a batch of examples as floats.
 * @param split the split to read.
 * @param indices example indices (e.g. from {@link Batcher.next}).
 * @param pixelMax the dataset's pixel range: `x = pixel / 255 * pixelMax`, so 1 gives
 *   `[0, 1]` (MNIST, Fashion-MNIST; computed as `pixel / 255` rounded to float32) and 255
 *   gives the raw byte values (GTSRB, Flower).
 * @returns `x`, NHWC `[indices.length, ...split.shape]` float32, and the labels `y`.
 * @throws Error when an index is out of range.
 */
export function gather(
  split: Split,
  indices: Int32Array,
  pixelMax: number,
): { x: Float32Array; y: Int32Array } {
  const per = split.shape[0] * split.shape[1] * split.shape[2];
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = pixelMax === 255 ? v : (v / 255) * pixelMax;
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (i < 0 || i >= split.count) {
      throw new Error(`gather: index ${i} out of range for a split of ${split.count} examples`);
    }
    const src = split.images.subarray(i * per, (i + 1) * per);
    const off = b * per;
    for (let k = 0; k < per; k++) x[off + k] = lut[src[k]];
    y[b] = split.labels[i];
  }
  return { x, y };
}
