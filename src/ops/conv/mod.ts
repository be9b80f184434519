/**
 * 2-D convolution (NHWC, HWIO, TensorFlow SAME/VALID padding) and its two gradients.
 * The three ops are each other's adjoints, so derivatives of any order are convolutions.
 * Each op takes the geometry, asks its chooser (`choose.ts`) for a named strategy, runs it and
 * records the op with its backward rule.
 * @module
 */

import { record } from "../../autograd/tape.ts";
import { runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../tensor.ts";
import { expectDType, expectRank } from "../launch.ts";
import { sum } from "../reduce.ts";
import {
  chooseConvFilter,
  chooseConvForward,
  chooseConvInput,
  CONV_FILTER,
  CONV_FORWARD,
  CONV_INPUT,
} from "./choose.ts";
import { type ConvGeo, type ConvOptions, geometry } from "./geometry.ts";

export { convGeometry, type ConvOptions, type Padding } from "./geometry.ts";

/** Options of {@linkcode conv2d}: geometry and an optional fused bias. */
export interface Conv2dOptions extends ConvOptions {
  /** A bias `[O]` added to every output pixel inside the kernel. */
  bias?: Tensor;
}

function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) expectDType(t, "f32", op);
}

function checkGy(gy: Tensor, g: ConvGeo, op: string): void {
  const want = [g.B, g.OH, g.OW, g.O];
  if (gy.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${op}: gradient has shape [${gy.shape}], expected [${want}]`);
  }
}

/**
 * `y = conv2d(x, w) (+ bias)`: x `[B,H,W,C]`, w `[KH,KW,C,O]`, bias `[O]` → y `[B,OH,OW,O]`.
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  checkF32("conv2d", x, w);
  const g = geometry(x.shape, w.shape, options, "conv2d");
  const bias = options.bias;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.O)) {
    throw new Error(`conv2d: bias must have shape [${g.O}], got [${bias.shape}]`);
  }
  const geo: ConvOptions = { stride: options.stride, padding: options.padding };
  const y = CONV_FORWARD[chooseConvForward(g, runtime().profile)].run(x, w, g, bias);
  return record(y, "conv2d", bias ? [x, w, bias] : [x, w], (gy, needs) => [
    needs[0] ? conv2dBackpropInput(gy, w, x.shape, geo) : null,
    needs[1] ? conv2dBackpropFilter(x, gy, w.shape, geo) : null,
    ...(bias ? [needs[2] ? sum(gy, [0, 1, 2]) : null] : []),
  ]);
}

/** Gradient of `⟨gy, conv2d(x, w)⟩` with respect to x (x has `xShape`). Linear in gy and in w. */
export function conv2dBackpropInput(
  gy: Tensor,
  w: Tensor,
  xShape: readonly number[],
  options: ConvOptions = {},
): Tensor {
  checkF32("conv2dBackpropInput", gy, w);
  expectRank(gy, 4, "conv2dBackpropInput", "gy");
  const g = geometry(xShape, w.shape, options, "conv2dBackpropInput");
  checkGy(gy, g, "conv2dBackpropInput");
  const gx = CONV_INPUT[chooseConvInput(g, runtime().profile)].run(gy, w, xShape, g);
  return record(gx, "conv2dBackpropInput", [gy, w], (G, needs) => [
    needs[0] ? conv2d(G, w, options) : null,
    needs[1] ? conv2dBackpropFilter(G, gy, w.shape, options) : null,
  ]);
}

/** Gradient of `⟨gy, conv2d(x, w)⟩` with respect to w (w has `wShape`). Linear in x and in gy. */
export function conv2dBackpropFilter(
  x: Tensor,
  gy: Tensor,
  wShape: readonly number[],
  options: ConvOptions = {},
): Tensor {
  checkF32("conv2dBackpropFilter", x, gy);
  expectRank(gy, 4, "conv2dBackpropFilter", "gy");
  const g = geometry(x.shape, wShape, options, "conv2dBackpropFilter");
  checkGy(gy, g, "conv2dBackpropFilter");
  const gw = CONV_FILTER[chooseConvFilter(g, runtime().profile)].run(x, gy, wShape, g);
  return record(gw, "conv2dBackpropFilter", [x, gy], (G, needs) => [
    needs[0] ? conv2dBackpropInput(gy, G, x.shape, options) : null,
    needs[1] ? conv2d(x, G, options) : null,
  ]);
}
