/**
 * Allocation guard for the fuzz tests: replaces the global typed-array, `ArrayBuffer` and
 * `Array` constructors with proxies that refuse (and record) any allocation above a limit, or
 * one that takes the running total since the last reset above a total limit, whether made with
 * `new`, by copying an array-like, or by `slice`/`map`/`filter` and friends.
 *
 * Import this module FIRST in a fuzz test file, before the parsers under test, so that
 * modules which capture `Uint8Array` and friends at load time (fflate does) capture the
 * guarded constructors.
 * @module
 */

/**
 * Raised by a guarded allocation asked for more than the current limit, or that takes the
 * running total above the total limit (`total`).
 */
export class AllocationLimitError extends Error {
  /** The bytes asked for (the running total, when `total`). */
  readonly bytes: number;
  constructor(what: string, bytes: number, limit: number, total = false) {
    super(
      total
        ? `allocations totalling ${bytes} bytes (the last: ${what}) above the fuzz total limit ` +
          `of ${limit} bytes`
        : `allocation of ${bytes} bytes (${what}) above the fuzz limit of ${limit} bytes`,
    );
    this.bytes = bytes;
  }
}

let limit = Infinity;
let totalLimit = Infinity;
let largest = 0;
let total = 0;
const violations: AllocationLimitError[] = [];

/**
 * Sets the largest allocation allowed (bytes); `reset` also clears the largest one seen and
 * the running total.
 */
export function setAllocationLimit(bytes: number, reset = false): void {
  limit = bytes;
  if (reset) largest = total = 0;
}

/** Sets the largest running total of allocations allowed since the last reset (bytes). */
export function setTotalAllocationLimit(bytes: number): void {
  totalLimit = bytes;
}

/** The largest allocation seen since the last {@link setAllocationLimit}, in bytes. */
export function largestAllocation(): number {
  return largest;
}

/** The bytes allocated since the last reset of {@link setAllocationLimit}. */
export function totalAllocation(): number {
  return total;
}

/** Allocations refused since the last call (cleared on read). */
export function takeViolations(): AllocationLimitError[] {
  return violations.splice(0);
}

const g = globalThis as unknown as Record<string, unknown>;

/** Records an allocation of `bytes`; throws (and records) one above either limit. */
function note(what: string, bytes: number): void {
  if (!(bytes > 0)) return; // a negative or NaN length throws in the constructor itself
  if (bytes > largest) largest = bytes;
  total += bytes;
  let err: AllocationLimitError | undefined;
  if (bytes > limit) err = new AllocationLimitError(what, bytes, limit);
  else if (total > totalLimit) {
    err = new AllocationLimitError(what, total, totalLimit, true);
  }
  if (err) {
    violations.push(err);
    throw err;
  }
}

/** Elements a constructor call allocates: a length, or the length of what it copies. */
function elements(name: string, args: unknown[]): number {
  const n = args[0];
  if (typeof n === "number") return name === "Array" && args.length > 1 ? args.length : n;
  if (name === "Array" || typeof n !== "object" || n === null) return 0;
  // A typed array over an existing buffer allocates nothing; one copied from an array-like does.
  if (n instanceof ArrayBuffer || n instanceof SharedArrayBuffer) return 0;
  const length = (n as { length?: unknown }).length;
  return typeof length === "number" ? length : 0;
}

function guard(name: string, bytesPer: number): void {
  const Target = g[name] as (new (...args: unknown[]) => unknown) & { prototype: object };
  const count = (args: unknown[]) => {
    const n = elements(name, args);
    note(`new ${name}(${n})`, n * bytesPer);
  };
  const proxy: typeof Target = new Proxy(Target, {
    construct(target, args, newTarget): object {
      count(args);
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
    },
    // `Array(n)` allocates like `new Array(n)`; typed arrays throw when called anyway.
    apply(target, self, args) {
      count(args);
      return Reflect.apply(target, self, args);
    },
  });
  g[name] = proxy;
  // `slice`, `map`, `filter`, … create their results through `constructor[Symbol.species]`,
  // which is the guarded constructor once the prototype points at it.
  Object.defineProperty(Target.prototype, "constructor", {
    value: proxy,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

guard("ArrayBuffer", 1);
guard("SharedArrayBuffer", 1);
guard("Uint8Array", 1);
guard("Int8Array", 1);
guard("Uint8ClampedArray", 1);
guard("Uint16Array", 2);
guard("Int16Array", 2);
guard("Uint32Array", 4);
guard("Int32Array", 4);
guard("Float32Array", 4);
guard("Float64Array", 8);
guard("BigInt64Array", 8);
guard("BigUint64Array", 8);
guard("Array", 8);
