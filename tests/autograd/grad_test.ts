import assert from "node:assert/strict";
import { assertClose, read, setup } from "../helpers.ts";
import {
  add,
  dispose,
  grad,
  gradients,
  hashed,
  mul,
  square,
  sum,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
} from "../../mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import { markVariable } from "../../src/autograd/tape.ts";

await setup();

const SHAPE = [3, 4];
const xs = hashed(5, SHAPE, 2);
const vs = hashed(6, SHAPE, 1);
const cube = (x: Tensor) => sum(mul(mul(x, x), x));

Deno.test("grad: Σx³ → 3x², grad of grad → 6x·v, third order → 6v", async () => {
  await tidy(async () => {
    const x = tensor(xs, SHAPE), v = tensor(vs, SHAPE);
    assertClose(await read(grad(cube)(x)), xs.map((a) => 3 * a * a), "3x²", 1e-5);
    const vg = (x: Tensor) => sum(mul(v, grad(cube)(x)));
    assertClose(await read(grad(vg)(x)), xs.map((a, i) => 6 * a * vs[i]), "6x·v", 1e-5);
    const d3 = grad((x: Tensor) => sum(grad(vg)(x)))(x);
    assertClose(await read(d3), vs.map((a) => 6 * a), "6v", 1e-5);
  });
});

Deno.test("valueAndGrad: a record of tensors gives grads of the same structure", async () => {
  await tidy(async () => {
    const a = tensor(xs, SHAPE), b = tensor(vs, SHAPE);
    type P = { a: Tensor; b: Tensor };
    // f = Σ a·b + Σ a²  →  ∂f/∂a = b + 2a, ∂f/∂b = a
    const f = (p: P) => add(sum(mul(p.a, p.b)), sum(square(p.a)));
    const { value, grads } = valueAndGrad<[P], P>(f)({ a, b });
    assert.deepEqual(Object.keys(grads).sort(), ["a", "b"]);
    assert.deepEqual(grads.a.shape, SHAPE);
    assert.deepEqual(grads.b.shape, SHAPE);
    let expected = 0;
    for (let i = 0; i < xs.length; i++) expected += xs[i] * vs[i] + xs[i] * xs[i];
    assertClose([await value.item()], [expected], "value", 1e-5);
    assertClose(await read(grads.a), xs.map((x, i) => vs[i] + 2 * x), "grads.a", 1e-5);
    assertClose(await read(grads.b), xs, "grads.b", 1e-5);
  });
});

Deno.test("valueAndGrad: an array argument and a non-first argnum", async () => {
  await tidy(async () => {
    const a = tensor(xs, SHAPE), b = tensor(vs, SHAPE), c = tensor(xs.map((x) => x + 1), SHAPE);
    // f(c, [a, b]) = Σ c·a·b  →  grads [c·b, c·a]
    const f = (c: Tensor, ab: Tensor[]) => sum(mul(c, mul(ab[0], ab[1])));
    const { grads } = valueAndGrad<[Tensor, Tensor[]], Tensor[]>(f, 1)(c, [a, b]);
    assert.ok(Array.isArray(grads) && grads.length === 2);
    assertClose(await read(grads[0]), vs.map((y, i) => (xs[i] + 1) * y), "grads[0]", 1e-5);
    assertClose(await read(grads[1]), xs.map((x) => (x + 1) * x), "grads[1]", 1e-5);
  });
});

Deno.test("gradients: createGraph makes the gradient differentiable", async () => {
  await tidy(async () => {
    const x = markVariable(tensor(xs, SHAPE));
    const [g] = gradients(cube(x), [x], { createGraph: true });
    assert.ok(g.requiresGrad, "a create-graph gradient must carry a graph");
    assertClose(await read(g), xs.map((a) => 3 * a * a), "3x²", 1e-5);
    const [h] = gradients(sum(g), [x]);
    assertClose(await read(h), xs.map((a) => 6 * a), "6x", 1e-5);
    // without createGraph the gradient is a constant
    const [g2] = gradients(cube(x), [x]);
    assert.ok(!g2.requiresGrad && g2.node === null);
  });
});

Deno.test("gradients and grad: zeros for an input the output does not depend on", async () => {
  await tidy(async () => {
    const x = markVariable(tensor(xs, SHAPE)), z = markVariable(tensor(vs, [2, 6]));
    const [gx, gz] = gradients(cube(x), [x, z]);
    assertClose(await read(gx), xs.map((a) => 3 * a * a), "gx", 1e-5);
    assert.deepEqual(gz.shape, [2, 6]);
    assert.ok((await read(gz)).every((v) => v === 0), "gz must be zeros");

    const g1 = grad((a: Tensor, _b: Tensor) => cube(a), 1)(tensor(xs, SHAPE), tensor(vs, [6, 2]));
    assert.deepEqual(g1.shape, [6, 2]);
    assert.ok((await read(g1)).every((v) => v === 0), "grad wrt an unused argument");
  });
});

Deno.test("grad: a non-scalar output is an error (and leaks nothing)", () => {
  const x = tensor(xs, SHAPE);
  const before = runtime().poolStats().inUse;
  assert.throws(() => grad((x: Tensor) => mul(x, 2))(x), /one value/);
  assert.throws(() => valueAndGrad((x: Tensor) => sum(x, 0))(x), /one value/);
  assert.equal(runtime().poolStats().inUse, before);
  x.dispose();
});

Deno.test("grad at top level leaves no tensor alive", async () => {
  const x = tensor(xs, SHAPE), v = tensor(vs, SHAPE);
  const before = runtime().poolStats().inUse;

  const g = grad(cube)(x);
  assertClose(await read(g), xs.map((a) => 3 * a * a), "3x²", 1e-5);
  g.dispose();
  assert.equal(runtime().poolStats().inUse, before, "after grad");

  const h = grad((x: Tensor) => sum(mul(v, grad(cube)(x))))(x);
  assertClose(await read(h), xs.map((a, i) => 6 * a * vs[i]), "6x·v", 1e-5);
  h.dispose();
  assert.equal(runtime().poolStats().inUse, before, "after nested grad");

  const r = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(mul(p.a, square(p.b))))({
    a: x,
    b: v,
  });
  dispose(r);
  assert.equal(runtime().poolStats().inUse, before, "after valueAndGrad");

  // the inputs are untouched
  assert.ok(!x.isDisposed && !v.isDisposed);
  dispose([x, v]);
});

Deno.test("grad inside noGrad still differentiates its own function", async () => {
  const { noGrad, grad, sum, mul, tensor, tidy } = await import("../../mod.ts");
  await tidy(async () => {
    const x = tensor([1, 2, 3]);
    const g = noGrad(() => grad((v: import("../../mod.ts").Tensor) => sum(mul(mul(v, v), v)))(x));
    assert.deepEqual(Array.from(await g.data()), [3, 12, 27]);
  });
});
