/**
 * Initialisation (docs/initialisation.md): the host draws equal, bit for bit, an independent
 * implementation of the documented recipe written differently here (BigInt hashing, exponent
 * taken from the float64 bits, the series folded from the right, the polar draws generated in
 * blocks and filtered); the logarithm is accurate; the statistics fit docs/spec.md §2; and what
 * `initParams` uploads is exactly the host draws.
 */

import assert from "node:assert/strict";
import { read, setup } from "../helpers.ts";
import {
  hostLog,
  initHost,
  initParams,
  initStream,
  initValues,
  mnistCnn,
  type Model,
  resnet,
} from "../../src/nn/mod.ts";
import type { Init } from "../../src/nn/model.ts";
import { dispose } from "../../src/tensor.ts";

const mnist = mnistCnn();
const gtsrb = resnet({ size: 32, numClasses: 43 });

// ---- the independent implementation of the recipe ----

const MASK = 0xFFFF_FFFFn;

/** The 32-bit hash of (s, i), in BigInt arithmetic. */
function hashBig(s: number, i: number): bigint {
  let h = (BigInt(i) * 0x9E3779B1n + BigInt(s >>> 0) * 0x85EBCA77n) & MASK;
  h = ((h ^ (h >> 15n)) * 0x2C1B3C6Dn) & MASK;
  h = ((h ^ (h >> 12n)) * 0x297A2D39n) & MASK;
  return h ^ (h >> 15n);
}

/** The 24-bit uniform in [0, 1). */
const uniform = (s: number, i: number) => Number(hashBig(s, i) >> 8n) * 2 ** -24;

/** The stream seed of parameter k: the hash's top 24 bits, shifted back into place. */
const stream = (seed: number, k: number) => Number((hashBig(seed, k) >> 8n) << 8n);

/** A float64 from its bit pattern. */
function fromBits(hi: number, lo: number): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, hi);
  v.setUint32(4, lo);
  return v.getFloat64(0);
}

const SQRT1_2 = fromBits(0x3FE6A09E, 0x667F3BCD);
const LN2 = fromBits(0x3FE62E42, 0xFEFA39EF);
const COEFFS = Array.from({ length: 13 }, (_, k) => 1 / (2 * k + 1));

/** ln x for 0 < x < 1: the exponent read from the bits instead of a doubling loop. */
function logRef(x: number): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  const exp = ((v.getUint32(0) >>> 20) & 0x7FF) - 1023;
  v.setUint32(0, (v.getUint32(0) & 0x800FFFFF) | (1023 << 20));
  let m = v.getFloat64(0); // in [1, 2)
  let e = exp;
  if (m >= 2 * SQRT1_2) {
    m = m / 2;
    e = e + 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  const p = COEFFS.reduceRight((acc, c) => acc * t2 + c);
  return e * LN2 + (2 * t) * p;
}

/** The polar draws of a stream, generated 4096 candidates at a time and then filtered. */
function normalsRef(n: number, s: number, truncated: boolean): number[] {
  const out: number[] = [];
  for (let block = 0; out.length < n; block++) {
    const pairs: number[] = [];
    for (let j = block * 4096; j < (block + 1) * 4096; j++) {
      const x = 2 * uniform(s, 2 * j) - 1, y = 2 * uniform(s, 2 * j + 1) - 1;
      const r = x * x + y * y;
      if (r === 0 || r >= 1) continue;
      const f = Math.sqrt(-2 * logRef(r) / r);
      pairs.push(x * f, y * f);
    }
    out.push(...pairs.filter((z) => !truncated || Math.abs(z) <= 2));
  }
  return out.slice(0, n);
}

function valuesRef(init: Init, n: number, s: number): Float32Array {
  switch (init.kind) {
    case "truncated_normal":
    case "normal":
      return Float32Array.from(
        normalsRef(n, s, init.kind === "truncated_normal"),
        (z) => init.std * z,
      );
    case "uniform":
      return Float32Array.from({ length: n }, (_, i) => init.limit * (2 * uniform(s, i) - 1));
    case "constant":
      return new Float32Array(n).fill(init.value);
  }
}

function assertBitwise(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: entry ${i} is ${a[i]}, expected ${b[i]}`);
  }
}

// ---- tests ----

Deno.test("initialisation: the BigInt hash and the stream seeds agree with the module's", () => {
  for (const seed of [0, 1, 7, 2 ** 31 + 5, 0xFFFF_FFFF]) {
    for (let k = 0; k < 20; k++) assert.equal(initStream(seed, k), stream(seed, k));
  }
  // a negative seed is reduced modulo 2^32
  assert.equal(initStream(-1, 3), stream(0xFFFF_FFFF, 3));
});

Deno.test("hostLog: equals the bit-level reference and ln to a few float64 ulps", () => {
  const xs = [2 ** -46, 1e-9, 0.1, 0.5, SQRT1_2, 0.7071067811865475, 0.75, 0.999999, 1 - 2 ** -53];
  for (let i = 1; i < 20000; i++) xs.push(((i * 7919) % 20000) / 20000 + 1e-7 * (i % 3));
  for (const x of xs.filter((v) => v > 0 && v < 1)) {
    const got = hostLog(x);
    assert.ok(Object.is(got, logRef(x)), `hostLog(${x}) = ${got}, reference ${logRef(x)}`);
    const want = Math.log(x);
    assert.ok(
      Math.abs(got - want) <= 4 * Number.EPSILON * Math.max(Math.abs(want), 2 ** -52),
      `hostLog(${x}) = ${got}, ln = ${want}`,
    );
  }
  for (const bad of [0, 1, -0.5, 2, NaN]) assert.throws(() => hostLog(bad), RangeError);
});

for (const [label, model] of [["MNIST CNN", mnist], ["ResNet 32x32", gtsrb]] as const) {
  for (const seed of [1, 20191208]) {
    Deno.test(`initHost (${label}, seed ${seed}): bitwise equal to the recipe`, () => {
      const got = initHost(model, seed);
      assert.deepEqual(Object.keys(got), model.specs.map((s) => s.name));
      model.specs.forEach((s, k) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        assertBitwise(got[s.name], valuesRef(s.init, n, stream(seed, k)), s.name);
      });
    });
  }
}

Deno.test("initValues: truncated normal σ=0.1 statistics, nothing beyond 2σ", () => {
  const v = initValues({ kind: "truncated_normal", std: 0.1 }, 1_000_000, initStream(3, 0));
  let s = 0, s2 = 0, max = 0, beyond = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
    max = Math.max(max, Math.abs(x));
    if (Math.abs(x) > 0.1) beyond++;
  }
  const mean = s / v.length, std = Math.sqrt(s2 / v.length - mean * mean);
  // σ·sqrt(1 − 4φ(2)/(2Φ(2) − 1)) for σ = 0.1
  const want = 0.1 *
    Math.sqrt(1 - 4 * (Math.exp(-2) / Math.sqrt(2 * Math.PI)) / 0.9544997361036416);
  assert.ok(max <= Math.fround(0.2), `|w| reaches ${max}`);
  assert.ok(max > 0.199, `|w| only reaches ${max}`);
  assert.ok(Math.abs(mean) < 4 * want / 1000, `mean ${mean}`);
  assert.ok(Math.abs(std / want - 1) < 0.005, `std ${std}, expected ${want}`);
  // P(|z| > 1 | |z| ≤ 2) = 0.2847; the standard error is 0.00045
  assert.ok(Math.abs(beyond / v.length - 0.2847) < 0.003, `beyond σ: ${beyond / v.length}`);
});

Deno.test("initValues: untruncated normal and uniform statistics; constants exact", () => {
  const n = initValues({ kind: "normal", std: 2 }, 400_000, initStream(5, 1));
  let s = 0, s2 = 0, s4 = 0, over = 0;
  for (const x of n) {
    s += x;
    s2 += x * x;
    s4 += x ** 4;
    if (Math.abs(x) > 4) over++;
  }
  const mean = s / n.length, varc = s2 / n.length - mean * mean;
  assert.ok(Math.abs(mean) < 4 * 2 / Math.sqrt(n.length), `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(varc) / 2 - 1) < 0.01, `std ${Math.sqrt(varc)}`);
  assert.ok(Math.abs(s4 / n.length / varc ** 2 - 3) < 0.1, "kurtosis of a normal is 3");
  // P(|z| > 2) = 0.0455: the tails are not cut
  assert.ok(Math.abs(over / n.length - 0.0455) < 0.003, `beyond 2σ: ${over / n.length}`);

  const u = initValues({ kind: "uniform", limit: 0.5 }, 100_000, initStream(5, 2));
  const bins = [0, 0, 0, 0];
  for (const x of u) {
    assert.ok(x >= -0.5 && x < 0.5, `uniform value ${x}`);
    bins[Math.floor((x + 0.5) * 4)]++;
  }
  for (const b of bins) assert.ok(Math.abs(b / u.length - 0.25) < 0.01, `bins ${bins}`);

  const c = initValues({ kind: "constant", value: 0.1 }, 5, 123);
  assert.ok(c.every((x) => x === Math.fround(0.1)));
  assert.equal(initValues({ kind: "normal", std: 1 }, 0, 1).length, 0);
  assert.throws(() => initValues({ kind: "normal", std: 1 }, -1, 1), /count/);
});

Deno.test("initValues: a longer tensor starts with the draws of a shorter one", () => {
  const init = { kind: "truncated_normal", std: 0.1 } as const;
  const long = initValues(init, 5000, 77), short = initValues(init, 1234, 77);
  assertBitwise(long.subarray(0, 1234), short, "prefix");
});

await setup();

for (const [label, model] of [["MNIST CNN", mnist], ["ResNet 32x32", gtsrb]] as const) {
  Deno.test(`initParams (${label}): uploads exactly the host draws`, async () => {
    const p = initParams(model as Model, 42);
    try {
      const host = initHost(model, 42);
      for (const s of model.specs) {
        assert.deepEqual([...p[s.name].shape], s.shape, `${s.name} shape`);
        assertBitwise(await read(p[s.name]), host[s.name], `${s.name} read back`);
      }
    } finally {
      dispose(p);
    }
  });
}
