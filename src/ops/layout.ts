/**
 * Shape and data-movement ops: reshape, slice, pad, transpose, concat.
 * Kernels: `shaders/layout.wgsl`.
 * @module
 */

import layoutWgsl from "../../shaders/layout.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import { shapeSize, type Tensor } from "../tensor.ts";
import { checkRank, kernel, launch, MAX_RANK, output, Params, stridesOf } from "./launch.ts";
import { add } from "./elementwise.ts";

/** Same data, another shape (no copy). One dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = shapeSize(s.filter((_, i) => i !== neg));
    s[neg] = rest === 0 ? 0 : x.size / rest;
  }
  if (shapeSize(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  }
  if (s.length === x.rank && s.every((d, i) => d === x.shape[i])) return x;
  return record(x.view(s), "reshape", [x], (g) => [reshape(g, x.shape)]);
}

/** `x[begin : begin + size]` per dimension (`size` -1 means to the end). */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  checkRank(x.shape, "slice");
  if (begin.length !== x.rank || size.length !== x.rank) {
    throw new Error(`slice: begin [${begin}] and size [${size}] must have rank ${x.rank}`);
  }
  const sz = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  sz.forEach((s, i) => {
    if (begin[i] < 0 || s < 0 || begin[i] + s > x.shape[i]) {
      throw new Error(`slice: begin [${begin}] size [${size}] is outside shape [${x.shape}]`);
    }
  });
  const st = stridesOf(x.shape);
  const offset = begin.reduce((o, b, i) => o + b * st[i], 0);
  const out = output(sz, "slice", x.dtype);
  const params = new Params().u32(out.size, sz.length, offset, 0)
    .vec(sz, MAX_RANK, 1).vec(st, MAX_RANK).vec([], MAX_RANK);
  launch(
    kernel({ name: "copy", code: layoutWgsl, entry: "copy", inputs: 1, outputs: 1 }),
    [x.buffer, out.buffer],
    params,
    out.size,
  );
  return record(out, "slice", [x], (g) => [
    pad(g, begin, x.shape.map((d, i) => d - begin[i] - sz[i])),
  ]);
}

/** Zero padding: `before[d]` and `after[d]` elements around dimension d. */
export function pad(x: Tensor, before: readonly number[], after: readonly number[]): Tensor {
  checkRank(x.shape, "pad");
  if (before.length !== x.rank || after.length !== x.rank) {
    throw new Error(`pad: paddings [${before}] / [${after}] must have rank ${x.rank}`);
  }
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`pad: paddings must be non-negative integers, got [${before}] / [${after}]`);
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  const out = output(shape, "pad", x.dtype);
  const params = new Params().u32(out.size, shape.length, 0, 0)
    .vec(shape, MAX_RANK, 1).vec(before, MAX_RANK).vec(x.shape, MAX_RANK, 1);
  launch(
    kernel({ name: "pad", code: layoutWgsl, entry: "pad", inputs: 1, outputs: 1 }),
    [x.buffer, out.buffer],
    params,
    out.size,
  );
  return record(out, "pad", [x], (g) => [slice(g, before, x.shape)]);
}

/** Zero-pads the last (channel) axis by `before` and `after` channels. */
export function padChannels(x: Tensor, before: number, after: number): Tensor {
  const z = x.shape.map(() => 0);
  return pad(x, [...z.slice(1), before], [...z.slice(1), after]);
}

/** Permutes dimensions: `out.shape[i] = x.shape[perm[i]]` (default: reverse). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkRank(x.shape, "transpose");
  const p = perm ? [...perm] : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort().some((v, i) => v !== i)) {
    throw new Error(`transpose: [${perm}] is not a permutation of ${x.rank} axes`);
  }
  const st = stridesOf(x.shape);
  const shape = p.map((a) => x.shape[a]);
  const out = output(shape, "transpose", x.dtype);
  const params = new Params().u32(out.size, shape.length, 0, 0)
    .vec(shape, MAX_RANK, 1).vec(p.map((a) => st[a]), MAX_RANK).vec([], MAX_RANK);
  launch(
    kernel({ name: "copy", code: layoutWgsl, entry: "copy", inputs: 1, outputs: 1 }),
    [x.buffer, out.buffer],
    params,
    out.size,
  );
  const inv = new Array(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record(out, "transpose", [x], (g) => [transpose(g, inv)]);
}

/** Concatenates tensors along `axis` (as a sum of zero-padded copies). */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error("concat: needs at least one tensor");
  const r = xs[0].rank;
  const ax = axis < 0 ? axis + r : axis;
  const total = xs.reduce((n, t) => n + t.shape[ax], 0);
  let off = 0;
  let acc: Tensor | null = null;
  for (const t of xs) {
    if (t.rank !== r || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes [${xs[0].shape}] and [${t.shape}] differ off axis ${ax}`);
    }
    const before = t.shape.map((_, i) => (i === ax ? off : 0));
    const after = t.shape.map((_, i) => (i === ax ? total - off - t.shape[ax] : 0));
    const padded = pad(t, before, after);
    acc = acc ? add(acc, padded) : padded;
    off += t.shape[ax];
  }
  return acc!;
}
