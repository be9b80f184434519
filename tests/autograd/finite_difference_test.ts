/**
 * Finite-difference checks of the autodiff, first and second order.
 *
 * For a scalar function h of one tensor θ, the autodiff gradient ∇h is compared along a few
 * random directions d with central differences (h(θ+εd) − h(θ−εd)) / (2ε), evaluated on the
 * GPU in float32 and differenced in float64. For second order, h(θ) = ⟨v, grad(inner)(θ, …)⟩
 * so ∇h differentiates through a gradient.
 */
import assert from "node:assert/strict";
import { cosine, read, setup } from "../helpers.ts";
import {
  add,
  avgPool,
  conv2d,
  div,
  grad,
  hash01,
  hashed,
  logSoftmax,
  matmul,
  max,
  maxPool,
  mean,
  mul,
  noGrad,
  pad,
  type Padding,
  reshape,
  sigmoid,
  slice,
  softmax,
  softplus,
  standardize,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  xent,
} from "../../mod.ts";
import { record } from "../../src/autograd/tape.ts";

await setup();

interface FdOptions {
  /** Step ε (default 1e-2). */
  eps?: number;
  /** Number of random directions (default 4). */
  dirs?: number;
  /** Seed of the directions. */
  seed?: number;
  /** Relative tolerance against the largest directional derivative (default 2e-2). */
  tol?: number;
}

/** Evaluates the scalar `h(θ)` for host values `theta`, releasing everything else. */
async function evalAt(h: (t: Tensor) => Tensor, theta: Float32Array, shape: number[]) {
  const y = tidy(() => h(tensor(theta, shape)));
  assert.equal(y.size, 1, "the checked function must return a scalar");
  const v = (await y.data())[0];
  y.dispose();
  return v;
}

/**
 * Compares the autodiff gradient of the scalar function `h` at `theta` with central
 * differences along random directions.
 */
async function checkGradient(
  what: string,
  h: (t: Tensor) => Tensor,
  theta: Float32Array,
  shape: number[],
  o: FdOptions = {},
): Promise<void> {
  const eps = o.eps ?? 1e-2, dirs = o.dirs ?? 4, seed = o.seed ?? 1000, tol = o.tol ?? 2e-2;
  const gt = grad(h)(tensor(theta, shape));
  assert.deepEqual(gt.shape, shape, `${what}: gradient shape`);
  const g = await read(gt);
  gt.dispose();
  assert.ok(g.every(Number.isFinite), `${what}: gradient is not finite`);
  const fd: number[] = [], ad: number[] = [];
  for (let k = 0; k < dirs; k++) {
    const d = hashed(seed + k, shape, 1);
    const plus = theta.map((t, i) => t + eps * d[i]);
    const minus = theta.map((t, i) => t - eps * d[i]);
    const hp = await evalAt(h, plus, shape), hm = await evalAt(h, minus, shape);
    fd.push((hp - hm) / (2 * eps));
    // the step actually taken, after rounding θ ± εd to float32
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * (plus[i] - minus[i]) / (2 * eps);
    ad.push(s);
  }
  const scale = Math.max(...ad.map(Math.abs));
  assert.ok(scale > 1e-4, `${what}: the directional derivatives are all ~0 (${ad})`);
  const worst = Math.max(...fd.map((f, k) => Math.abs(f - ad[k])));
  // fallback: same direction (cosine) and same length, so a wrong scale factor still fails
  const norm = (a: number[]) => Math.hypot(...a);
  const sameLength = Math.abs(norm(fd) / norm(ad) - 1) < tol;
  if (worst > tol * scale && !(cosine(fd, ad) > 0.99 && sameLength)) {
    throw new Error(
      `${what}: finite differences [${fd.map((x) => x.toPrecision(6))}] vs autodiff ` +
        `[${ad.map((x) => x.toPrecision(6))}] (max error ${worst.toExponential(3)}, ` +
        `cosine ${cosine(fd, ad)})`,
    );
  }
}

/** Distinct values spread evenly over (−scale, scale) in a hashed order: no (near-)ties. */
function distinct(seed: number, shape: number[], scale: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const order = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => hash01(seed, a) - hash01(seed, b));
  const out = new Float32Array(n);
  order.forEach((idx, rank) => (out[idx] = scale * (2 * (rank + 0.5) / n - 1)));
  return out;
}

const T = (seed: number, shape: number[], scale = 1) => tensor(hashed(seed, shape, scale), shape);

// ----------------------------------------------------------------------------- second order

for (
  const [stride, padding] of [[1, "SAME"], [2, "SAME"], [1, "VALID"]] as [number, Padding][]
) {
  const opts = { stride, padding };
  Deno.test(`FD second order: conv2d ${stride}/${padding} d<v, dL/dx>/dw`, async () => {
    await tidy(async () => {
      const xShape = [2, 6, 6, 3], wShape = [3, 3, 3, 4];
      const x = T(1, xShape), v = T(2, xShape);
      const y = conv2d(x, T(3, wShape, 0.5), opts);
      const gy = T(4, [...y.shape]);
      const inner = (x: Tensor, w: Tensor) => sum(mul(gy, conv2d(x, w, opts)));
      const h = (w: Tensor) => sum(mul(v, grad(inner, 0)(x, w)));
      await checkGradient("conv2d d<v,gx>/dw", h, hashed(3, wShape, 0.5), wShape);
      // a nonlinear layer: L = <gy, softplus(conv(x, w))>, both d/dw and d/dx of <v, dL/dx>
      const innerNl = (x: Tensor, w: Tensor) => sum(mul(gy, softplus(conv2d(x, w, opts))));
      const w = T(3, wShape, 0.5);
      const hw = (w: Tensor) => sum(mul(v, grad(innerNl, 0)(x, w)));
      await checkGradient("softplus∘conv2d d<v,gx>/dw", hw, hashed(3, wShape, 0.5), wShape);
      const hx = (x: Tensor) => sum(mul(v, grad(innerNl, 0)(x, w)));
      await checkGradient("softplus∘conv2d d<v,gx>/dx", hx, hashed(1, xShape, 1), xShape);
    });
  });
}

for (const xShape of [[2, 6, 6, 3], [2, 7, 5, 2]]) {
  Deno.test(`FD second order: maxPool [${xShape}] d<v, gx>/dgy`, async () => {
    await tidy(async () => {
      const x = tensor(distinct(7, xShape, 2), xShape), v = T(8, xShape);
      const yShape = [...maxPool(x).shape];
      const h = (gy: Tensor) => sum(mul(v, grad((x: Tensor) => sum(mul(gy, maxPool(x))))(x)));
      await checkGradient("maxPool d<v,gx>/dgy", h, hashed(9, yShape, 1), yShape);
    });
  });
}

Deno.test("FD second order: standardize d<v, d<gy, std(x)>/dx>/dx", async () => {
  await tidy(async () => {
    const shape = [3, 4, 5, 2];
    const gy = T(11, shape), v = T(12, shape);
    const h = (x: Tensor) => sum(mul(v, grad((x: Tensor) => sum(mul(gy, standardize(x))))(x)));
    const x = hashed(10, shape, 1).map((a, i) => a + (i % 3)); // non-zero means
    await checkGradient("standardize d<v,gx>/dx", h, x, shape);
  });
});

Deno.test("FD second order: softplus d<v, gx>/dx", async () => {
  await tidy(async () => {
    const shape = [5, 8];
    const gy = T(14, shape), v = T(15, shape);
    const h = (x: Tensor) => sum(mul(v, grad((x: Tensor) => sum(mul(gy, softplus(x))))(x)));
    await checkGradient("softplus d<v,gx>/dx", h, hashed(13, shape, 3), shape);
  });
});

Deno.test("FD second order: xent d<v, dxent/dz>/dz", async () => {
  await tidy(async () => {
    const shape = [4, 7];
    const labels = tensor(new Int32Array([0, 6, 3, 2]), [4]);
    const v = T(17, shape);
    const h = (z: Tensor) => sum(mul(v, grad((z: Tensor) => xent(z, labels))(z)));
    await checkGradient("xent d<v,g>/dz", h, hashed(16, shape, 2), shape);
  });
});

// ------------------------------------------------------------------------------ first order

/** `<r, op(θ)>` with a fixed random `r` shaped like the output. */
function contracted(op: (t: Tensor) => Tensor, theta: Float32Array, shape: number[], seed = 99) {
  const outShape = tidy(() => [...op(tensor(theta, shape)).shape]);
  const r = T(seed, outShape);
  return (t: Tensor) => sum(mul(r, op(t)));
}

async function checkOp(
  what: string,
  op: (t: Tensor) => Tensor,
  shape: number[],
  theta: Float32Array,
  o?: FdOptions,
) {
  await checkGradient(what, contracted(op, theta, shape), theta, shape, o);
}

Deno.test("FD first order: matmul with transposes and bias", async () => {
  await tidy(async () => {
    const [M, K, N] = [5, 7, 6];
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aShape = ta ? [K, M] : [M, K], bShape = tb ? [N, K] : [K, N];
        const a = T(21, aShape), b = T(22, bShape), bias = T(23, [N]);
        const opt = { transposeA: ta, transposeB: tb };
        const what = `matmul ta=${ta} tb=${tb}`;
        await checkOp(
          `${what} d/da`,
          (a) => matmul(a, b, { ...opt, bias }),
          aShape,
          hashed(21, aShape, 1),
        );
        await checkOp(
          `${what} d/db`,
          (b) => matmul(a, b, { ...opt, bias }),
          bShape,
          hashed(22, bShape, 1),
        );
        await checkOp(
          `${what} d/dbias`,
          (c) => matmul(a, b, { ...opt, bias: c }),
          [N],
          hashed(23, [N], 1),
        );
      }
    }
  });
});

Deno.test("FD first order: broadcasting add, mul, div", async () => {
  await tidy(async () => {
    const aShape = [3, 1, 4], bShape = [2, 1];
    const a = T(31, aShape);
    const bPos = hashed(32, bShape, 0.5).map((x) => x + 1.5); // away from 0 for div
    const b = tensor(bPos, bShape);
    const av = hashed(31, aShape, 1);
    for (const [name, f] of [["add", add], ["mul", mul], ["div", div]] as const) {
      await checkOp(`${name} d/da`, (t) => f(t, b), aShape, av);
      await checkOp(`${name} d/db`, (t) => f(a, t), bShape, bPos);
    }
  });
});

Deno.test("FD first order: sum, mean, max over axes", async () => {
  await tidy(async () => {
    const shape = [2, 3, 4];
    const x = hashed(41, shape, 1);
    const xd = distinct(42, shape, 2); // no ties, gaps ≫ ε for max
    const axesList: (number[] | undefined)[] = [[1], [0, 2], [-1], undefined];
    for (const axes of axesList) {
      for (const keep of [false, true]) {
        const tag = `axes=${axes ?? "all"} keepDims=${keep}`;
        await checkOp(`sum ${tag}`, (t) => sum(mul(t, t), axes, keep), shape, x);
        await checkOp(`mean ${tag}`, (t) => mean(mul(t, t), axes, keep), shape, x);
        await checkOp(`max ${tag}`, (t) => max(t, axes, keep), shape, xd, { eps: 1e-3 });
      }
    }
  });
});

Deno.test("FD first order: slice, pad, transpose, reshape", async () => {
  await tidy(async () => {
    const shape = [3, 4, 5];
    const x = hashed(51, shape, 1);
    // squares make the maps nonlinear so that position errors show up
    const sq = (t: Tensor) => mul(t, t);
    await checkOp("slice", (t) => slice(sq(t), [1, 0, 2], [2, -1, 2]), shape, x);
    await checkOp("pad", (t) => pad(sq(t), [0, 2, 1], [1, 0, 3]), shape, x);
    await checkOp("transpose", (t) => transpose(sq(t), [2, 0, 1]), shape, x);
    await checkOp("transpose (reverse)", (t) => transpose(sq(t)), shape, x);
    await checkOp("reshape", (t) => mul(reshape(sq(t), [5, -1]), T(52, [5, 12])), shape, x);
  });
});

Deno.test("FD first order: softmax, logSoftmax", async () => {
  await tidy(async () => {
    const shape = [4, 6];
    const x = hashed(61, shape, 3);
    await checkOp("softmax", softmax, shape, x);
    await checkOp("logSoftmax", logSoftmax, shape, x);
  });
});

Deno.test("FD first order: avgPool and maxPool", async () => {
  await tidy(async () => {
    for (const shape of [[2, 6, 6, 3], [1, 5, 7, 2]]) {
      const x = hashed(71, shape, 1);
      const sq = (t: Tensor) => mul(t, t);
      await checkOp(`avgPool VALID [${shape}]`, (t) => avgPool(sq(t)), shape, x);
      await checkOp(
        `avgPool 3/2 SAME [${shape}]`,
        (t) => avgPool(sq(t), { size: 3, stride: 2, padding: "SAME" }),
        shape,
        x,
      );
      const xd = distinct(72, shape, 2);
      await checkOp(`maxPool SAME [${shape}]`, (t) => maxPool(t), shape, xd, { eps: 1e-3 });
    }
  });
});

// ------------------------------------------------------------------- the checker can fail

Deno.test("FD checker rejects a wrong first derivative", async () => {
  await tidy(async () => {
    const shape = [3, 5];
    // x² whose backward forgets the factor 2
    const badSquare = (x: Tensor) =>
      record(noGrad(() => mul(x, x)), "badSquare", [x], (g) => [mul(g, x)]);
    const x = hashed(81, shape, 1);
    await checkOp("correct x²", (t) => mul(t, t), shape, x);
    await assert.rejects(checkOp("bad x²", badSquare, shape, x), /finite differences/);
  });
});

Deno.test("FD checker rejects a backward rule that is not itself differentiable", async () => {
  await tidy(async () => {
    const shape = [3, 5];
    // softplus whose backward multiplies by a constant sigmoid: right first derivative,
    // zero second derivative
    const flatSoftplus = (x: Tensor) =>
      record(noGrad(() => softplus(x)), "flatSoftplus", [x], (g) => [
        mul(g, noGrad(() => sigmoid(x))),
      ]);
    const gy = T(83, shape), v = T(84, shape), x = hashed(82, shape, 2);
    await checkOp("flatSoftplus first order", flatSoftplus, shape, x);
    const h = (act: (t: Tensor) => Tensor) => (x: Tensor) =>
      sum(mul(v, grad((x: Tensor) => sum(mul(gy, act(x))))(x)));
    await checkGradient("softplus second order", h(softplus), x, shape);
    await assert.rejects(
      checkGradient("flatSoftplus second order", h(flatSoftplus), x, shape),
      /directional derivatives are all ~0|finite differences/,
    );
  });
});
