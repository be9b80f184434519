/**
 * Reverse-mode differentiation: {@linkcode gradients} (explicit, PyTorch-like) and the
 * composable function transforms {@linkcode grad} and {@linkcode valueAndGrad} (JAX-like).
 *
 * A `grad` evaluated inside another `grad` records its backward pass, so
 * `grad(w => f(grad(x => g(x, w))(x0)))` differentiates through the inner gradient.
 * @module
 */

import { markVariable, noGrad, record, withGrad } from "./tape.ts";
import { type Tensor, tidy } from "../tensor.ts";
import { add } from "../ops/elementwise.ts";
import { ones, zeros } from "../ops/rows.ts";

/** Options of {@linkcode gradients}. */
export interface GradientsOptions {
  /** Record the backward pass so the gradients can be differentiated again (default false). */
  createGraph?: boolean;
  /** The gradient of `y` to start from (default: ones, so `y` is summed). */
  seed?: Tensor;
}

/**
 * Gradients of `y` (summed, or contracted with `seed`) with respect to each of `xs`.
 * Inputs `y` does not depend on get zeros.
 */
export function gradients(
  y: Tensor,
  xs: readonly Tensor[],
  options: GradientsOptions = {},
): Tensor[] {
  const createGraph = options.createGraph ?? false;
  const targets = new Set(xs);
  const order = topoOrder(y, targets);
  const reaches = new Set(order);

  const run = () => {
    const grads = new Map<Tensor, Tensor>();
    const owned = new Set<Tensor>();
    const refs = new Map<Tensor, number>();
    const setGrad = (t: Tensor, g: Tensor) => {
      grads.set(t, g);
      refs.set(g, (refs.get(g) ?? 0) + 1);
    };
    const release = (g: Tensor) => {
      if (!createGraph && owned.has(g) && !refs.get(g)) g.dispose();
    };
    const unset = (t: Tensor) => {
      const g = grads.get(t)!;
      grads.delete(t);
      refs.set(g, refs.get(g)! - 1);
      return g;
    };
    if (reaches.has(y)) {
      const seed = options.seed ?? ones(y.shape);
      if (!options.seed) owned.add(seed);
      setGrad(y, seed);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g || !t.node) continue;
      const needs = t.node.inputs.map((inp) => inp.requiresGrad && reaches.has(inp));
      if (!needs.some((n) => n)) continue;
      const contribs = t.node.backward(g, needs);
      const spent: Tensor[] = [];
      t.node.inputs.forEach((inp, j) => {
        const c = contribs[j];
        if (!needs[j] || !c) return;
        if (!refs.get(c)) owned.add(c);
        if (grads.has(inp)) {
          const prev = unset(inp);
          const s = add(prev, c);
          owned.add(s);
          setGrad(inp, s);
          spent.push(prev, c);
        } else setGrad(inp, c);
      });
      if (!targets.has(t)) spent.push(unset(t));
      for (const s of spent) release(s);
    }
    return xs.map((x) => grads.get(x) ?? zeros(x.shape));
  };
  return createGraph ? withGrad(run) : noGrad(run);
}

/** Nodes that lie on a path from `y` down to one of `targets`, inputs before outputs. */
function topoOrder(y: Tensor, targets: Set<Tensor>): Tensor[] {
  const order: Tensor[] = [];
  const reaches = new Map<Tensor, boolean>();
  const stack: Tensor[] = [y];
  const expanded = new Set<Tensor>();
  while (stack.length) {
    const t = stack[stack.length - 1];
    if (reaches.has(t)) {
      stack.pop();
      continue;
    }
    const inputs = (t.node?.inputs ?? []).filter((inp) => inp.requiresGrad);
    if (!expanded.has(t)) {
      expanded.add(t);
      for (const inp of inputs) if (!reaches.has(inp)) stack.push(inp);
      continue;
    }
    stack.pop();
    const r = targets.has(t) || inputs.some((inp) => reaches.get(inp));
    reaches.set(t, r);
    if (r) order.push(t);
  }
  return order;
}

/** A tree of tensors accepted as a differentiable argument: a tensor, an array or a record. */
export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

function flatten(tree: Tree, out: Tensor[]): void {
  if (Array.isArray(tree)) { for (const t of tree) flatten(t, out); }
  else if (isTensor(tree)) out.push(tree as Tensor);
  else for (const k of Object.keys(tree)) flatten((tree as Record<string, Tree>)[k], out);
}

function rebuild(tree: Tree, it: Iterator<Tensor>): Tree {
  if (Array.isArray(tree)) return tree.map((t) => rebuild(t, it));
  if (isTensor(tree)) return it.next().value as Tensor;
  const o: Record<string, Tree> = {};
  for (const k of Object.keys(tree)) o[k] = rebuild((tree as Record<string, Tree>)[k], it);
  return o;
}

function isTensor(t: unknown): boolean {
  return typeof t === "object" && t !== null && "buffer" in t && "shape" in t && "node" in t;
}

let depth = 0;

/** Identity that starts a new differentiation level, connected to `t`'s own graph. */
function watch(t: Tensor): Tensor {
  const v = record(t.view(t.shape, "watch"), "watch", [t], (g) => [g]);
  return markVariable(v);
}

/** The result of {@linkcode valueAndGrad}. */
export interface ValueAndGrad<G> {
  /** `f`'s output. */
  value: Tensor;
  /** The gradients, shaped like the differentiated arguments. */
  grads: G;
}

/**
 * Transforms `f` (returning a scalar tensor) into a function returning its value and its
 * gradient with respect to argument `argnum` (a tensor, an array or a record of tensors).
 * Nested inside another transform, the gradient is itself differentiable.
 * At the outermost level, every intermediate tensor is released before returning.
 */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], G extends Tree = Tensor>(
  f: (...args: A) => Tensor,
  argnum = 0,
): (...args: A) => ValueAndGrad<G> {
  return (...args: A) => {
    const outer = depth === 0;
    const body = () => {
      depth++;
      try {
        const flat: Tensor[] = [];
        flatten(args[argnum] as Tree, flat);
        const watched = flat.map(watch);
        const wargs = [...args] as A;
        wargs[argnum] = rebuild(args[argnum] as Tree, watched[Symbol.iterator]());
        // gradients are asked for explicitly, so the function is recorded even under noGrad
        const value = withGrad(() => f(...wargs));
        if (value.size !== 1) {
          throw new Error(`grad: the function must return one value, got shape [${value.shape}]`);
        }
        const gs = gradients(value, watched, { createGraph: !outer });
        const grads = rebuild(args[argnum] as Tree, gs[Symbol.iterator]()) as G;
        return { value, grads };
      } finally {
        depth--;
      }
    };
    if (!outer) return body();
    const r = tidy(() => {
      const { value, grads } = body();
      return { value, grads: grads as Tree };
    });
    return r as ValueAndGrad<G>;
  };
}

/** Like {@linkcode valueAndGrad} but returns only the gradient. */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], G extends Tree = Tensor>(
  f: (...args: A) => Tensor,
  argnum = 0,
): (...args: A) => G {
  const vg = valueAndGrad<A, G>(f, argnum);
  return (...args: A) => {
    const outer = depth === 0;
    const { value, grads } = vg(...args);
    if (outer) value.dispose();
    return grads;
  };
}
