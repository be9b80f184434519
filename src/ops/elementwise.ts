/**
 * Elementwise ops: unary functions and broadcasting binary arithmetic.
 * Kernels: `shaders/unary.wgsl`, `shaders/binary.wgsl`.
 * @module
 */

import unaryWgsl from "../../shaders/unary.wgsl" with { type: "text" };
import binaryWgsl from "../../shaders/binary.wgsl" with { type: "text" };
import { record } from "../autograd/tape.ts";
import type { Tensor } from "../tensor.ts";
import {
  broadcastPattern,
  checkRank,
  expectDType,
  kernel,
  launch,
  launchTexels,
  MAX_RANK,
  output,
  Params,
  stridesOf,
  viaTexels,
} from "./launch.ts";
import { sumTo } from "./reduce.ts";
import { BINARY, BINARY_MODE as MODE, UNARY } from "./codes.ts";
import { packParams } from "./schema.ts";

/** `Params` of `shaders/unary.wgsl`. */
export const UNARY_PARAMS = { n: "u32", alpha: "f32", beta: "f32", TS: "u32" } as const;

type UnaryName = keyof typeof UNARY;

function unary(x: Tensor, op: UnaryName, alpha = 0, beta = 0): Tensor {
  expectDType(x, "f32", op);
  const y = output(x.shape, op);
  // four elements per invocation where the size allows
  const four = x.size % 4 === 0;
  const params = (TS = 0) =>
    packParams(UNARY_PARAMS, { n: x.size, alpha, beta, TS }, `unary_${op}`);
  if (four && viaTexels(x.size)) {
    const k = kernel({
      name: `unary_${op}`,
      code: unaryWgsl,
      entry: "main4_tex",
      inputs: 1,
      outputs: 1,
      constants: { OP: UNARY[op] },
      textures: 1,
    });
    launchTexels(k, [x.buffer, y.buffer], [x.buffer], x.size * 4, params, x.size / 4);
    return y;
  }
  const k = kernel({
    name: `unary_${op}`,
    code: unaryWgsl,
    entry: four ? "main4" : "main",
    inputs: 1,
    outputs: 1,
    constants: { OP: UNARY[op] },
  });
  launch(k, [x.buffer, y.buffer], params(), four ? x.size / 4 : x.size);
  return y;
}

/** `-x`. */
export function neg(x: Tensor): Tensor {
  return record(unary(x, "neg"), "neg", [x], (g) => [neg(g)]);
}

/** `|x|`, with derivative `sign(x)` (`sign(0) = 0`). */
export function abs(x: Tensor): Tensor {
  return record(unary(x, "abs"), "abs", [x], (g) => [mul(g, sign(x))]);
}

/** `sign(x)` in {-1, 0, 1}; piecewise constant (no gradient). */
export function sign(x: Tensor): Tensor {
  return unary(x, "sign");
}

/** `exp(x)`. */
export function exp(x: Tensor): Tensor {
  const y = unary(x, "exp");
  return record(y, "exp", [x], (g) => [mul(g, y)]);
}

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return record(unary(x, "log"), "log", [x], (g) => [div(g, x)]);
}

/** Square root; its gradient is taken as 0 where the upstream gradient is 0 (also at x = 0). */
export function sqrt(x: Tensor): Tensor {
  const y = unary(x, "sqrt");
  return record(y, "sqrt", [x], (g) => [mul(divNoNan(g, y), 0.5)]);
}

/** `x²`. */
export function square(x: Tensor): Tensor {
  return record(unary(x, "square"), "square", [x], (g) => [mul(g, mul(x, 2))]);
}

/** `1/x`. */
export function reciprocal(x: Tensor): Tensor {
  const y = unary(x, "reciprocal");
  return record(y, "reciprocal", [x], (g) => [neg(mul(g, square(y)))]);
}

/** `max(x, 0)`; derivative `1[x > 0]` (so `relu'(0) = 0`). */
export function relu(x: Tensor): Tensor {
  return record(unary(x, "relu"), "relu", [x], (g) => [reluGrad(g, x)]);
}

/**
 * relu's backward in one pass: `g · 1[x > 0]` (same shapes). Linear in g; its derivative in x
 * is zero almost everywhere, as for `mul(g, step(x))`.
 */
export function reluGrad(g: Tensor, x: Tensor): Tensor {
  if (g.shape.length !== x.shape.length || g.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`reluGrad: g [${g.shape}] and x [${x.shape}] must have the same shape`);
  }
  return record(binary(g, x, "relu_grad"), "reluGrad", [g, x], (G, needs) => [
    needs[0] ? reluGrad(G, x) : null,
    null,
  ]);
}

/** `1[x > 0]` as 0/1 floats (no gradient). */
export function step(x: Tensor): Tensor {
  return unary(x, "step");
}

/** Leaky ReLU: `x` for `x ≥ 0`, else `alpha·x`. */
export function leakyRelu(x: Tensor, alpha = 0.1): Tensor {
  return record(
    unary(x, "leaky_relu", alpha),
    "leakyRelu",
    [x],
    (g) => [mul(g, unary(x, "leaky_step", alpha))],
  );
}

/** `log(1 + exp(x))`, computed stably; derivative `sigmoid(x)`. */
export function softplus(x: Tensor): Tensor {
  return record(unary(x, "softplus"), "softplus", [x], (g) => [mul(g, sigmoid(x))]);
}

/** Logistic sigmoid; derivative `y(1 − y)`. */
export function sigmoid(x: Tensor): Tensor {
  const y = unary(x, "sigmoid");
  return record(y, "sigmoid", [x], (g) => [mul(g, mul(y, affine(y, -1, 1)))]);
}

/** `alpha·x + beta` for numbers alpha, beta. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  return record(unary(x, "affine", alpha, beta), "affine", [x], (g) => [affine(g, alpha)]);
}

/**
 * Clips to `[lo, hi]`. As in TensorFlow, the gradient passes where `lo ≤ x ≤ hi` and is 0
 * where the clip is active.
 */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  return record(
    unary(x, "clip", lo, hi),
    "clip",
    [x],
    (g) => [mul(g, unary(x, "inside", lo, hi))],
  );
}

/** `floor(x)` (no gradient). */
export function floor(x: Tensor): Tensor {
  return unary(x, "floor");
}

// ------------------------------------------------------------------------ binary

type BinaryName = keyof typeof BINARY;

/** The broadcast shape of two shapes (NumPy rules); throws naming both shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op = "op"): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes [${a}] and [${b}] cannot be broadcast together`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` seen as broadcast to `out` (0 on broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_d, i) => {
    const j = i - off;
    if (j < 0 || shape[j] === 1) return 0;
    return st[j];
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An indexing mode of binary.wgsl (see `BINARY_MODE` in `codes.ts`). */
type Mode = typeof MODE[keyof typeof MODE];

/** The input of the output's shape in each mode where one input has it (the other is smaller). */
const FULL_INPUT: Partial<Record<Mode, "a" | "b">> = {
  [MODE.b_repeats]: "a",
  [MODE.b_blocks]: "a",
  [MODE.a_repeats]: "b",
  [MODE.a_blocks]: "b",
};

/**
 * The cheapest indexing mode of binary.wgsl for these shapes: `same` shapes; one input repeating
 * over trailing elements or constant over leading blocks while the other has the output's shape;
 * an outer combination of two such inputs; `general` otherwise.
 */
function indexing(
  a: readonly number[],
  b: readonly number[],
  out: readonly number[],
): { mode: Mode; period: number } {
  const full = (s: readonly number[]) => sameShape(s, out);
  if (full(a) && full(b)) return { mode: MODE.same, period: 1 };
  const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  // the small input's non-unit dimensions form a suffix (period = its size) or a prefix
  const kind = (s: readonly number[]) => broadcastPattern(s, out);
  if (full(a)) {
    const k = kind(b);
    if (k) return { mode: k.mode === "suffix" ? MODE.b_repeats : MODE.b_blocks, period: k.period };
  }
  if (full(b)) {
    const k = kind(a);
    if (k) return { mode: k.mode === "suffix" ? MODE.a_repeats : MODE.a_blocks, period: k.period };
  }
  const ka = kind(a), kb = kind(b);
  if (ka && kb && size(a) * size(b) === size(out)) {
    if (ka.mode === "prefix" && kb.mode === "suffix") {
      return { mode: MODE.a_blocks_b_repeats, period: size(b) };
    }
    if (ka.mode === "suffix" && kb.mode === "prefix") {
      return { mode: MODE.a_repeats_b_blocks, period: size(a) };
    }
  }
  return { mode: MODE.general, period: 1 };
}

function binary(a: Tensor, b: Tensor, op: BinaryName): Tensor {
  expectDType(a, "f32", op, "first input");
  expectDType(b, "f32", op, "second input");
  const shape = broadcastShapes(a.shape, b.shape, op);
  checkRank(shape, op);
  const out = output(shape, op);
  const { mode, period } = indexing(a.shape, b.shape, shape);
  const params = (shift = 0) =>
    new Params().u32(out.size, shape.length, period, shift)
      .vec(shape, MAX_RANK, 1)
      .vec(broadcastStrides(a.shape, shape), MAX_RANK)
      .vec(broadcastStrides(b.shape, shape), MAX_RANK);
  const constants = { OP: BINARY[op], MODE: mode };
  const buffers = [a.buffer, b.buffer, out.buffer];
  // four elements per invocation where sizes and periods allow
  const four = mode !== MODE.general && out.size % 4 === 0 &&
    (mode === MODE.same || period % 4 === 0);
  const full = FULL_INPUT[mode];
  if (four && (mode === MODE.same || full) && viaTexels(out.size)) {
    // the inputs of the output's size, from texel copies: both, or the one that has it
    const read = mode === MODE.same ? [a.buffer, b.buffer] : [full === "a" ? a.buffer : b.buffer];
    const entry = mode === MODE.same ? "main4_tex2" : "main4_tex";
    const k = kernel({
      name: `binary_${op}`,
      code: binaryWgsl,
      entry,
      inputs: 2,
      outputs: 1,
      constants,
      textures: read.length,
    });
    launchTexels(k, buffers, read, out.size * 4, params, out.size / 4);
    return out;
  }
  const k = kernel({
    name: `binary_${op}`,
    code: binaryWgsl,
    entry: four ? "main4" : "main",
    inputs: 2,
    outputs: 1,
    constants,
  });
  launch(k, buffers, params(), four ? out.size / 4 : out.size);
  return out;
}

/** `a + b` (broadcasting); `b` may be a number. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1, b);
  return record(binary(a, b, "add"), "add", [a, b], (g, needs) => [
    needs[0] ? sumTo(g, a.shape) : null,
    needs[1] ? sumTo(g, b.shape) : null,
  ]);
}

/** `a − b` (broadcasting); `b` may be a number. */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1, -b);
  return record(binary(a, b, "sub"), "sub", [a, b], (g, needs) => [
    needs[0] ? sumTo(g, a.shape) : null,
    needs[1] ? sumTo(neg(g), b.shape) : null,
  ]);
}

/** `a · b` elementwise (broadcasting); `b` may be a number. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, b, 0);
  return record(binary(a, b, "mul"), "mul", [a, b], (g, needs) => [
    needs[0] ? sumTo(mul(g, b), a.shape) : null,
    needs[1] ? sumTo(mul(g, a), b.shape) : null,
  ]);
}

/** `a / b` elementwise (broadcasting); `b` may be a number. */
export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === "number") return affine(a, 1 / b, 0);
  return record(binary(a, b, "div"), "div", [a, b], (g, needs) => [
    needs[0] ? sumTo(div(g, b), a.shape) : null,
    needs[1] ? sumTo(neg(div(mul(g, a), square(b))), b.shape) : null,
  ]);
}

/** `a / b`, or 0 where `b = 0` (broadcasting). */
export function divNoNan(a: Tensor, b: Tensor): Tensor {
  return record(binary(a, b, "div_no_nan"), "divNoNan", [a, b], (g, needs) => [
    needs[0] ? sumTo(divNoNan(g, b), a.shape) : null,
    needs[1] ? sumTo(neg(divNoNan(mul(g, a), square(b))), b.shape) : null,
  ]);
}

/** Elementwise maximum; on ties the gradient goes to `a` (as TensorFlow). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return record(binary(a, b, "maximum"), "maximum", [a, b], (g, needs) => [
    needs[0] ? sumTo(mul(g, binary(a, b, "greater_equal")), a.shape) : null,
    needs[1] ? sumTo(mul(g, binary(a, b, "less")), b.shape) : null,
  ]);
}

/** Elementwise minimum; on ties the gradient goes to `a`. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return record(binary(a, b, "minimum"), "minimum", [a, b], (g, needs) => [
    needs[0] ? sumTo(mul(g, binary(b, a, "greater_equal")), a.shape) : null,
    needs[1] ? sumTo(mul(g, binary(b, a, "less")), b.shape) : null,
  ]);
}

/** `1[a > b]` as 0/1 floats (no gradient). */
export function greater(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "greater");
}

/** `1[a ≥ b]` as 0/1 floats (no gradient). */
export function greaterEqual(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "greater_equal");
}

/** `1[a < b]` as 0/1 floats (no gradient). */
export function less(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "less");
}

/** `1[a = b]` as 0/1 floats (no gradient). */
export function equal(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, "equal");
}

/** `cond ? a : b` with `cond` a 0/1 float mask (broadcasting): `cond·a + (1 − cond)·b`. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return add(mul(cond, a), mul(affine(cond, -1, 1), b));
}
