/**
 * Allocation guard for the fuzz tests: replaces the global typed-array and `ArrayBuffer`
 * constructors with proxies that refuse (and record) any allocation above a limit, whether
 * made with `new`, by copying an array-like, or by `slice`/`map`/`filter` and friends.
 *
 * Import this module FIRST in a fuzz test file, before the parsers under test, so that
 * modules which capture `Uint8Array` and friends at load time (fflate does) capture the
 * guarded constructors.
 * @module
 */

/** Raised by a guarded constructor asked for more than the current limit. */
export class AllocationLimitError extends Error {
  /** The bytes asked for. */
  readonly bytes: number;
  constructor(what: string, bytes: number, limit: number) {
    super(`allocation of ${bytes} bytes (${what}) above the fuzz limit of ${limit} bytes`);
    this.bytes = bytes;
  }
}

let limit = Infinity;
let largest = 0;
const violations: AllocationLimitError[] = [];

/** Sets the largest allocation allowed (bytes); `reset` also clears the largest one seen. */
export function setAllocationLimit(bytes: number, reset = false): void {
  limit = bytes;
  if (reset) largest = 0;
}

/** The largest allocation seen since the last {@link setAllocationLimit}, in bytes. */
export function largestAllocation(): number {
  return largest;
}

/** Allocations refused since the last call (cleared on read). */
export function takeViolations(): AllocationLimitError[] {
  return violations.splice(0);
}

const g = globalThis as unknown as Record<string, unknown>;

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
  const proxy: typeof Target = new Proxy(Target, {
    construct(target, args, newTarget): object {
      const n = elements(name, args);
      const bytes = n * bytesPer;
      if (bytes > largest) largest = bytes;
      if (bytes > limit) {
        const err = new AllocationLimitError(`new ${name}(${n})`, bytes, limit);
        violations.push(err);
        throw err;
      }
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
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
