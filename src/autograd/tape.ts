/**
 * Recording of operations for reverse-mode differentiation.
 *
 * Ops call {@linkcode record} after launching their kernel. When any input requires a
 * gradient (and recording is on), the output remembers its inputs and a backward rule.
 * Backward rules are built from ops, so running them while recording builds the graph of
 * the gradient itself: this is what makes gradients of gradients work.
 * @module
 */

import type { Tensor } from "../tensor.ts";

let paused = 0;

/** Whether operations are currently recorded. */
export function isRecording(): boolean {
  return paused === 0;
}

/** Runs `fn` without recording any operation (its results carry no gradient). */
export function noGrad<T>(fn: () => T): T {
  paused++;
  try {
    return fn();
  } finally {
    paused--;
  }
}

/** Runs `fn` with recording switched back on (used for create-graph backward passes). */
export function withGrad<T>(fn: () => T): T {
  const saved = paused;
  paused = 0;
  try {
    return fn();
  } finally {
    paused = saved;
  }
}

/**
 * Attaches a backward rule to `out` when an input requires a gradient.
 * @returns `out`
 */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  backward: (g: Tensor, needs: boolean[]) => (Tensor | null)[],
): Tensor {
  if (paused === 0 && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Marks a tensor as a leaf that gradients are taken with respect to. */
export function markVariable(t: Tensor): Tensor {
  t.requiresGrad = true;
  return t;
}
