/**
 * Reductions (sum, mean, max, min over axes) and their adjoint, broadcasting.
 * Kernels: `shaders/reduce.wgsl`, `shaders/layout.wgsl` (`copy`).
 * @module
 */

import reduceWgsl from "../../shaders/reduce.wgsl" with { type: "text" };
import layoutWgsl from "../../shaders/layout.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import {
  broadcastPattern,
  checkRank,
  expectDType,
  kernel,
  launch,
  launchGroups,
  launchTexels,
  MAX_RANK,
  output,
  Params,
  stridesOf,
} from "./launch.ts";
import { div, equal, mul } from "./elementwise.ts";
import { reshape } from "./layout.ts";
import { REDUCE } from "./codes.ts";
import { runtime } from "../gpu/runtime.ts";

/**
 * Longest run of reduced elements one workgroup of 64 handles: 4096 loop iterations per
 * invocation, or fewer where the device's loop-iteration limit is lower; longer runs are reduced
 * in two passes.
 */
function reduceChunk(): number {
  return 64 * Math.min(4096, runtime().profile.loopLimit - 1);
}

/** Rows per partial sum of `sum_rows` (the first pass of a sum over the rows of [R, C]). */
const ROWS_CHUNK = 1024;

/** Normalises `axes` (negative allowed; undefined = all) to sorted unique non-negative axes. */
export function normAxes(rank: number, axes?: number | readonly number[], op = "reduce"): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : [...axes];
  const out = new Set<number>();
  for (const a of list) {
    const ax = a < 0 ? a + rank : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= rank) {
      throw new Error(`${op}: axis ${a} is out of range for rank ${rank}`);
    }
    out.add(ax);
  }
  return [...out].sort((x, y) => x - y);
}

function reducedShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Dimensions of a reduction's input: kept (row-major over the output) or reduced. */
interface Dims {
  size: number;
  stride: number;
}

/** Launches the reduction of `src` (kept / reduced dimensions) into `dst`. */
function reduceInto(
  src: GPUBuffer,
  dst: GPUBuffer,
  kept: Dims[],
  red: Dims[],
  op: keyof typeof REDUCE,
  alpha: number,
): void {
  const nRed = red.reduce((n, g) => n * g.size, 1);
  const nOut = kept.reduce((n, g) => n * g.size, 1);
  const params = new Params().u32(nOut, nRed, kept.length, red.length)
    .vec(kept.map((g) => g.size), MAX_RANK, 1)
    .vec(kept.map((g) => g.stride), MAX_RANK)
    .vec(red.map((g) => g.size), MAX_RANK, 1)
    .vec(red.map((g) => g.stride), MAX_RANK)
    .f32(alpha);
  const chunk = reduceChunk();
  if (nRed > chunk) {
    // two passes, so that no invocation loops more than chunk / 64 times (see `per_group` in
    // reduce.wgsl): partial results of chunks, then one thread per output
    const chunks = Math.ceil(nRed / chunk);
    const part = output([nOut, chunks], op);
    const k1 = kernel({
      name: `reduce_${op}`,
      code: reduceWgsl,
      entry: "per_group",
      inputs: 1,
      outputs: 1,
      constants: { OP: REDUCE[op] },
    });
    launchGroups(k1, [src, part.buffer], params.u32(chunk), nOut * chunks);
    const p2 = new Params().u32(nOut, chunks, 1, 1)
      .vec([nOut], MAX_RANK, 1).vec([chunks], MAX_RANK)
      .vec([chunks], MAX_RANK, 1).vec([1], MAX_RANK)
      .f32(1);
    const k2 = kernel({
      name: `reduce_${op}`,
      code: reduceWgsl,
      entry: "per_thread",
      inputs: 1,
      outputs: 1,
      constants: { OP: REDUCE[op] },
    });
    launch(k2, [part.buffer, dst], p2, nOut);
    part.dispose();
  } else if (nRed >= 128) {
    const k = kernel({
      name: `reduce_${op}`,
      code: reduceWgsl,
      entry: "per_group",
      inputs: 1,
      outputs: 1,
      constants: { OP: REDUCE[op] },
    });
    launchGroups(k, [src, dst], params, nOut);
  } else {
    const k = kernel({
      name: `reduce_${op}`,
      code: reduceWgsl,
      entry: "per_thread",
      inputs: 1,
      outputs: 1,
      constants: { OP: REDUCE[op] },
    });
    launch(k, [src, dst], params, nOut);
  }
}

function reduceRaw(
  x: Tensor,
  axes: number[],
  op: keyof typeof REDUCE,
  keepDims: boolean,
  alpha: number,
): Tensor {
  expectDType(x, "f32", op);
  checkRank(x.shape, op);
  const out = output(reducedShape(x.shape, axes, keepDims), op);
  const st = stridesOf(x.shape);
  // merge adjacent dimensions of the same kind (kept / reduced), dropping size-1 dimensions
  const groups: { size: number; stride: number; red: boolean }[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    const red = axes.includes(i);
    const last = groups[groups.length - 1];
    if (last && last.red === red && last.stride === d * st[i]) {
      last.size *= d;
      last.stride = st[i];
    } else groups.push({ size: d, stride: st[i], red });
  });
  const kept = groups.filter((g) => !g.red);
  const red = groups.filter((g) => g.red);
  const nRed = red.reduce((n, g) => n * g.size, 1);
  if (out.size === 0) return out;
  const C = kept[0]?.size ?? 0;
  const rows = op === "sum" && kept.length === 1 && red.length === 1 && kept[0].stride === 1 &&
    red[0].stride === C && C % 4 === 0;
  if (rows && nRed < 2 * ROWS_CHUNK && alpha === 1 && C >= 256) {
    // a few long rows (e.g. the path points of a batch): one pass, a vec4 column per invocation
    sumRows(x, out, C / 4, nRed, C / 4, nRed);
    return out;
  }
  if (rows && nRed >= 2 * ROWS_CHUNK) {
    // x is [R, C] summed over its rows (a bias gradient): partial sums of ROWS_CHUNK rows
    // read as contiguous vec4 (neighbouring invocations, neighbouring columns), then the
    // partial sums; the general kernels would read with a stride of C floats
    const chunks = Math.ceil(nRed / ROWS_CHUNK);
    const part = output([chunks, C], op);
    sumRows(x, part, chunks * C / 4, nRed, C / 4, ROWS_CHUNK);
    reduceInto(
      part.buffer,
      out.buffer,
      [{ size: C, stride: 1 }],
      [{ size: chunks, stride: C }],
      op,
      alpha,
    );
    part.dispose();
    return out;
  }
  reduceInto(x.buffer, out.buffer, kept, red, op, alpha);
  return out;
}

/**
 * `sum_rows` of `shaders/reduce.wgsl` (x read from a texel copy): `nOut` vec4 partial sums of
 * chunks of `chunk` rows of x as [rows, 4·C4].
 */
function sumRows(x: Tensor, out: Tensor, nOut: number, rows: number, C4: number, chunk: number) {
  launchTexels(
    kernel({
      name: "reduce_sum_rows",
      code: reduceWgsl,
      entry: "sum_rows",
      inputs: 1,
      outputs: 1,
      textures: 1,
    }),
    [x.buffer, out.buffer],
    [x.buffer],
    rows * C4 * 16,
    (shift) => new Params().u32(nOut, rows, C4, chunk, shift),
    nOut,
  );
}

/** The shape of `g` viewed with the reduced axes kept as 1. */
function keptShape(x: Tensor, axes: number[]): number[] {
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes(x.rank, axes, "sum");
  return record(reduceRaw(x, ax, "sum", keepDims, 1), "sum", [x], (g) => [
    broadcastTo(reshape(g, keptShape(x, ax)), x.shape),
  ]);
}

/** Mean over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes(x.rank, axes, "mean");
  const n = ax.reduce((p, a) => p * x.shape[a], 1);
  return record(reduceRaw(x, ax, "sum", keepDims, 1 / n), "mean", [x], (g) => [
    broadcastTo(reshape(mul(g, 1 / n), keptShape(x, ax)), x.shape),
  ]);
}

function extremum(
  x: Tensor,
  op: "max" | "min",
  axes?: number | readonly number[],
  keepDims = false,
): Tensor {
  const ax = normAxes(x.rank, axes, op);
  const y = reduceRaw(x, ax, op, keepDims, 1);
  return record(y, op, [x], (g) => {
    // as TensorFlow: the gradient is shared equally among tied extrema
    const ks = keptShape(x, ax);
    const mask = equal(x, reshape(y, ks));
    const count = reduceRaw(mask, ax, "sum", true, 1);
    return [mul(div(mask, count), reshape(g, ks))];
  });
}

/** Maximum over `axes` (all when omitted). */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extremum(x, "max", axes, keepDims);
}

/** Minimum over `axes` (all when omitted). */
export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extremum(x, "min", axes, keepDims);
}

/** Broadcasts `x` to `shape` (NumPy rules). The gradient sums back with {@linkcode sumTo}. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkRank(shape, "broadcastTo");
  const off = shape.length - x.rank;
  if (off < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[i + off])) {
    throw new Error(`broadcastTo: cannot broadcast [${x.shape}] to [${shape}]`);
  }
  if (off === 0 && x.shape.every((d, i) => d === shape[i])) return x;
  const out = output(shape, "broadcastTo", x.dtype);
  const fast = broadcastKind(x.shape, shape);
  if (fast) {
    const params = new Params().u32(out.size / 4, 0, fast.period, 0)
      .vec([], MAX_RANK).vec([], MAX_RANK).vec([], MAX_RANK);
    const k = kernel({
      name: fast.entry,
      code: layoutWgsl,
      entry: fast.entry,
      inputs: 1,
      outputs: 1,
    });
    launch(k, [x.buffer, out.buffer], params, out.size / 4);
  } else {
    const st = stridesOf(x.shape);
    const strides = shape.map((_, i) => (i < off || x.shape[i - off] === 1 ? 0 : st[i - off]));
    const params = new Params().u32(out.size, shape.length, 0, 0)
      .vec(shape, MAX_RANK, 1).vec(strides, MAX_RANK).vec([], MAX_RANK);
    launch(
      kernel({ name: "copy", code: layoutWgsl, entry: "copy", inputs: 1, outputs: 1 }),
      [x.buffer, out.buffer],
      params,
      out.size,
    );
  }
  return record(out, "broadcastTo", [x], (g) => [sumTo(g, x.shape)]);
}

/**
 * The vec4 broadcasts of layout.wgsl that take `from` to `to`, if one does: `tile4` when the
 * non-unit dimensions of `from` are the trailing ones of `to` (period: its size in vec4),
 * `blocks4` when they are the leading ones (period: the block each element covers); sizes in
 * multiples of 4.
 */
function broadcastKind(
  from: readonly number[],
  to: readonly number[],
): { entry: "tile4" | "blocks4"; period: number } | null {
  const k = broadcastPattern(from, to);
  if (!k || k.period % 4 !== 0) return null;
  return k.mode === "suffix"
    ? { entry: "tile4", period: k.period / 4 }
    : { entry: "blocks4", period: k.period };
}

/** Sums `g` down to `shape`, undoing a broadcast (the adjoint of {@linkcode broadcastTo}). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const off = g.rank - shape.length;
  if (off === 0 && g.shape.every((d, i) => d === shape[i])) return g;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < off || (shape[i - off] === 1 && d !== 1)) axes.push(i);
  });
  return reshape(sum(g, axes, true), shape);
}
