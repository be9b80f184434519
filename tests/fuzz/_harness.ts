/**
 * Fuzz harness: seeded mutations of valid files, and a runner that checks each case ends
 * in a correct load or in an error naming the file — never another exception, a hang, or an
 * allocation beyond a bound. Import `./_guard.ts` before this module and the parsers.
 * @module
 */

import {
  AllocationLimitError,
  largestAllocation,
  setAllocationLimit,
  setTotalAllocationLimit,
  takeViolations,
} from "./_guard.ts";

/** A small seeded generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One mutated input and how it was made. */
export interface Mutant {
  /** What was done, for failure messages (e.g. `flip@17`). */
  how: string;
  /** The mutated bytes. */
  bytes: Uint8Array;
}

const HUGE_U32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x40000000, 0x10000000, 0xfffffffe];

/**
 * `count` seeded mutants of `valid`: truncations, bit flips, random bytes, huge 32- and
 * 64-bit numbers written over words (both byte orders), zeroed words, duplicated and
 * deleted spans, and appended garbage. Deterministic for a given seed.
 */
export function* mutants(valid: Uint8Array, count: number, seed: number): Generator<Mutant> {
  const r = rng(seed);
  const n = valid.length;
  const at = () => Math.floor(r() * Math.max(n, 1));
  for (let i = 0; i < count; i++) {
    const kind = i % 9;
    const b = valid.slice();
    switch (kind) {
      case 0: {
        const len = Math.floor(r() * n);
        yield { how: `truncate@${len}`, bytes: valid.slice(0, len) };
        break;
      }
      case 1: {
        const flips = 1 + Math.floor(r() * 4);
        const where: number[] = [];
        for (let f = 0; f < flips && n > 0; f++) {
          const p = at();
          b[p] ^= 1 << Math.floor(r() * 8);
          where.push(p);
        }
        yield { how: `flip@${where.join(",")}`, bytes: b };
        break;
      }
      case 2: {
        const p = at();
        const len = Math.min(n - p, 1 + Math.floor(r() * 16));
        for (let k = 0; k < len; k++) b[p + k] = Math.floor(r() * 256);
        yield { how: `random@${p}+${len}`, bytes: b };
        break;
      }
      case 3: {
        const p = at();
        const v = HUGE_U32[Math.floor(r() * HUGE_U32.length)];
        const le = r() < 0.5;
        if (p + 4 <= n) new DataView(b.buffer).setUint32(p, v, le);
        yield { how: `u32=${v.toString(16)}${le ? "le" : "be"}@${p}`, bytes: b };
        break;
      }
      case 4: {
        const p = at();
        const v = r() < 0.5 ? 0xffffffffffffffffn : 0x0000000100000000n << BigInt(r() * 28 | 0);
        if (p + 8 <= n) new DataView(b.buffer).setBigUint64(p, v, true);
        yield { how: `u64=${v.toString(16)}@${p}`, bytes: b };
        break;
      }
      case 5: {
        const p = at();
        for (let k = 0; k < 4 && p + k < n; k++) b[p + k] = 0;
        yield { how: `zero@${p}`, bytes: b };
        break;
      }
      case 6: {
        const p = at();
        const len = Math.min(n - p, 1 + Math.floor(r() * 64));
        const out = new Uint8Array(n + len);
        out.set(valid.subarray(0, p + len));
        out.set(valid.subarray(p), p + len);
        yield { how: `dup@${p}+${len}`, bytes: out };
        break;
      }
      case 7: {
        const p = at();
        const len = Math.min(n - p, 1 + Math.floor(r() * 64));
        const out = new Uint8Array(n - len);
        out.set(valid.subarray(0, p));
        out.set(valid.subarray(p + len), p);
        yield { how: `delete@${p}+${len}`, bytes: out };
        break;
      }
      default: {
        const len = 1 + Math.floor(r() * 64);
        const out = new Uint8Array(n + len);
        out.set(valid);
        for (let k = 0; k < len; k++) out[n + k] = Math.floor(r() * 256);
        yield { how: `append+${len}`, bytes: out };
      }
    }
  }
}

/** Exceptions that come from deep inside code rather than from a check of the input. */
const INTERNAL = new Set(["TypeError", "RangeError", "ReferenceError", "AggregateError"]);

/** A parse that had not settled within the hang limit. */
class HangError extends Error {
  constructor(ms: number) {
    super(`did not finish within ${ms} ms`);
  }
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  /** The format's name, for the report line and failure messages. */
  format: string;
  /** The file name every error must mention. */
  name: string;
  /** The inputs: mutants of valid files and hand-made cases. */
  cases: Iterable<Mutant>;
  /**
   * Parses one input. It may return (a correct load) or throw an `Error` whose message names
   * `name`; any other outcome fails the run.
   */
  parse: (bytes: Uint8Array, name: string) => unknown | Promise<unknown>;
  /**
   * The largest allocation allowed for an input, in bytes; default
   * `16 * bytes.length + 1 MiB`. A loader that may legitimately allocate a declared tensor
   * passes its own bound.
   */
  allocationLimit?: (bytes: Uint8Array) => number;
  /**
   * The most bytes all allocations of one input may add up to (garbage included); default
   * unbounded. Catches a parser that makes many allocations each under `allocationLimit`,
   * e.g. one copy per header entry of the same file-backed range.
   */
  totalAllocationLimit?: (bytes: Uint8Array) => number;
  /** Seconds one case may take before it counts as a hang (default 10). */
  hangSeconds?: number;
}

/** What {@link fuzz} saw. */
export interface FuzzReport {
  /** Cases run. */
  cases: number;
  /** Cases that loaded. */
  loaded: number;
  /** Cases that ended in an error naming the file. */
  rejected: number;
}

/**
 * Runs every case through `parse` under the allocation guard and throws on the first case
 * that ends in anything but a load or an `Error` naming the file: a `TypeError`/`RangeError`
 * from deep inside, a message without the file's name, an allocation above the limit or a
 * running total above the total limit (even one the parser caught), or a case slower than
 * `hangSeconds`. Prints one report line.
 */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { cases: 0, loaded: 0, rejected: 0 };
  const hang = (opts.hangSeconds ?? 10) * 1000;
  const bound = opts.allocationLimit ?? ((b: Uint8Array) => 16 * b.length + 2 ** 20);
  const totalBound = opts.totalAllocationLimit ?? (() => Infinity);
  for (const c of opts.cases) {
    report.cases++;
    const what = `${opts.format} case ${report.cases} (${c.how}, ${c.bytes.length} bytes)`;
    takeViolations();
    setAllocationLimit(bound(c.bytes), true);
    setTotalAllocationLimit(totalBound(c.bytes));
    const t0 = performance.now();
    let error: unknown = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // an asynchronous parse that never settles is a hang too (a synchronous one is caught below)
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HangError(hang)), hang);
    });
    try {
      await Promise.race([Promise.resolve().then(() => opts.parse(c.bytes, opts.name)), stuck]);
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(timer);
      setAllocationLimit(Infinity);
      setTotalAllocationLimit(Infinity);
    }
    const ms = performance.now() - t0;
    if (error instanceof HangError) throw new Error(`${what}: ${error.message} (a hang)`);
    const refused = takeViolations();
    if (refused.length) {
      throw new Error(`${what}: ${refused[0].message} (largest ${largestAllocation()})`);
    }
    if (ms > hang) throw new Error(`${what}: took ${ms.toFixed(0)} ms (a hang)`);
    if (error === undefined) {
      report.loaded++;
      continue;
    }
    if (error instanceof AllocationLimitError) throw error;
    const msg = error instanceof Error ? error.message : String(error);
    const kind = error instanceof Error ? error.constructor.name : typeof error;
    if (!(error instanceof Error) || INTERNAL.has(kind)) {
      throw new Error(`${what}: ${kind} instead of a clear error: ${msg}`, { cause: error });
    }
    if (!msg.includes(opts.name)) {
      throw new Error(`${what}: the error does not name ${opts.name}: ${msg}`, { cause: error });
    }
    report.rejected++;
  }
  console.log(
    `fuzz ${opts.format}: ${report.cases} cases, ${report.loaded} loaded, ` +
      `${report.rejected} rejected with a clear error`,
  );
  return report;
}
