/**
 * Parameters (docs/spec.md §2): names, shapes, seeded initialisation and its statistics;
 * safetensors checkpoints (round trip, metadata, extra tensors, files written by another tool,
 * errors).
 */

import assert from "node:assert/strict";
import { assertClose, golden, gpu, host, read, setup } from "../helpers.ts";
import {
  initParams,
  loadParams,
  mnistCnn,
  type Model,
  type Params,
  resnet,
  saveParams,
} from "../../src/nn/mod.ts";
import { modelFor } from "./model_goldens.ts";
import { type SafeTensorInput, serializeSafetensors } from "../../src/io/safetensors.ts";
import { dispose, type Tensor, tensor } from "../../src/tensor.ts";

await setup();

const mnist = mnistCnn();
const gtsrb = resnet({ size: 32, numClasses: 43 });

/** docs/spec.md §2 names and shapes, written out. */
const MNIST_SHAPES: [string, number[]][] = [
  ["W_conv1", [5, 5, 1, 32]],
  ["b_conv1", [32]],
  ["W_conv2", [5, 5, 32, 64]],
  ["b_conv2", [64]],
  ["W_fc1", [3136, 1024]],
  ["b_fc1", [1024]],
  ["W_fc2", [1024, 10]],
  ["b_fc2", [10]],
];

/** The ResNet's names and shapes for `classes` output classes. */
const resnetShapes = (classes: number): [string, number[]][] => [
  ["init_conv/DW", [3, 3, 3, 16]],
  ["unit_1_0/sub1/conv1/DW", [3, 3, 16, 16]],
  ["unit_1_0/sub2/conv2/DW", [3, 3, 16, 16]],
  ["unit_1_1/sub1/conv1/DW", [3, 3, 16, 16]],
  ["unit_1_1/sub2/conv2/DW", [3, 3, 16, 16]],
  ["unit_2_0/sub1/conv1/DW", [3, 3, 16, 32]],
  ["unit_2_0/sub2/conv2/DW", [3, 3, 32, 32]],
  ["unit_2_1/sub1/conv1/DW", [3, 3, 32, 32]],
  ["unit_2_1/sub2/conv2/DW", [3, 3, 32, 32]],
  ["unit_3_0/sub1/conv1/DW", [3, 3, 32, 64]],
  ["unit_3_0/sub2/conv2/DW", [3, 3, 64, 64]],
  ["unit_3_1/sub1/conv1/DW", [3, 3, 64, 64]],
  ["unit_3_1/sub2/conv2/DW", [3, 3, 64, 64]],
  ["logit/DW", [64, classes]],
  ["logit/biases", [classes]],
];
const RESNET_SHAPES = resnetShapes(43);

const f32 = Math.fround;

/** Host copies of every parameter. */
async function hostParams(p: Params): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(p)) out[k] = await read(t);
  return out;
}

function stats(a: Float32Array): { mean: number; std: number; maxAbs: number } {
  let s = 0, s2 = 0, m = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(Math.max(s2 / a.length - mean * mean, 0)), maxAbs: m };
}

/** Same bits (so -0 vs 0 or NaN payloads would also be caught). */
function assertBitwise(a: Float32Array | Int32Array, b: Float32Array | Int32Array, what: string) {
  assert.equal(a.constructor, b.constructor, `${what}: array type`);
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
  }
}

function checkNamesAndShapes(model: Model, p: Params, want: [string, number[]][]) {
  assert.deepEqual(Object.keys(p).sort(), want.map(([n]) => n).sort(), "parameter names");
  assert.deepEqual(model.specs.map((s) => s.name), want.map(([n]) => n), "docs/spec.md §2 order");
  for (const [name, shape] of want) {
    assert.deepEqual([...p[name].shape], shape, `${name} shape`);
    assert.equal(p[name].dtype, "f32", `${name} dtype`);
  }
}

Deno.test("initParams (MNIST CNN): docs/spec.md §2 names and shapes", () => {
  const p = initParams(mnist, 1);
  try {
    checkNamesAndShapes(mnist, p, MNIST_SHAPES);
  } finally {
    dispose(p);
  }
});

Deno.test("initParams (ResNet 32x32, 43 classes): docs/spec.md §2 names and shapes", () => {
  const p = initParams(gtsrb, 1);
  try {
    checkNamesAndShapes(gtsrb, p, RESNET_SHAPES);
  } finally {
    dispose(p);
  }
});

for (const [label, model] of [["MNIST CNN", mnist], ["ResNet", gtsrb]] as const) {
  Deno.test(`initParams (${label}): deterministic in the seed, different across seeds`, async () => {
    const p1 = initParams(model, 1234), p2 = initParams(model, 1234), p3 = initParams(model, 1235);
    try {
      const [a, b, c] = [await hostParams(p1), await hostParams(p2), await hostParams(p3)];
      for (const s of model.specs) {
        assertBitwise(a[s.name], b[s.name], `${s.name} (same seed)`);
        if (s.init.kind === "constant") {
          assertBitwise(a[s.name], c[s.name], `${s.name} (constant, other seed)`);
          continue;
        }
        const same = a[s.name].reduce((n, v, i) => n + (v === c[s.name][i] ? 1 : 0), 0);
        assert.ok(same < a[s.name].length / 100, `${s.name}: ${same} equal entries across seeds`);
      }
      // tensors of one shape are drawn independently of each other
      if (model === gtsrb) {
        const u = a["unit_3_1/sub1/conv1/DW"], v = a["unit_3_1/sub2/conv2/DW"];
        assert.ok(u.some((x, i) => x !== v[i]), "two kernels of one shape are equal");
      }
    } finally {
      dispose([p1, p2, p3]);
    }
  });
}

Deno.test("initParams (MNIST CNN): truncated normal σ=0.1 weights, biases 0.1", async () => {
  const p = initParams(mnist, 7);
  try {
    const h = await hostParams(p);
    // a normal with σ = 0.1 truncated at ±2σ has deviation 0.1·sqrt(1 − 4φ(2)/(2Φ(2) − 1))
    const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
    const within = 0.9544997361036416; // 2Φ(2) − 1
    const truncStd = 0.1 * Math.sqrt(1 - 4 * phi2 / within);
    assert.ok(Math.abs(truncStd - 0.08796) < 1e-4);
    for (const name of ["W_conv1", "W_conv2", "W_fc1", "W_fc2"]) {
      const w = h[name];
      const { mean, std, maxAbs } = stats(w);
      assert.ok(maxAbs <= f32(0.2) * (1 + 1e-6), `${name}: |w| reaches ${maxAbs} > 0.2`);
      assert.ok(
        Math.abs(std / truncStd - 1) < 0.1,
        `${name}: std ${std}, expected ${truncStd} (±10%)`,
      );
      assert.ok(Math.abs(mean) < 4 * truncStd / Math.sqrt(w.length), `${name}: mean ${mean}`);
    }
    // the shape of the distribution (3.2M samples): P(|z| > 1 | |z| ≤ 2) = 0.2847 for a
    // truncated normal (a uniform on ±0.2 would give 0.5, an untruncated normal 0.317)
    const fc1 = h.W_fc1;
    const beyond = fc1.reduce((n, v) => n + (Math.abs(v) > 0.1 ? 1 : 0), 0) / fc1.length;
    assert.ok(Math.abs(beyond - 0.2847) < 0.005, `W_fc1: fraction beyond σ is ${beyond}`);
    for (const name of ["b_conv1", "b_conv2", "b_fc1", "b_fc2"]) {
      assert.ok(h[name].every((v) => v === f32(0.1)), `${name}: not all exactly 0.1`);
    }
  } finally {
    dispose(p);
  }
});

Deno.test("initParams (ResNet): He-normal kernels, uniform logit/DW, zero bias", async () => {
  const p = initParams(gtsrb, 7);
  try {
    const h = await hostParams(p);
    for (const [name, shape] of RESNET_SHAPES) {
      if (!name.endsWith("/DW") || name === "logit/DW") continue;
      const w = h[name];
      const want = Math.sqrt(2 / (9 * shape[3]));
      const { mean, std } = stats(w);
      // sample std of n normal draws is within about 1/sqrt(2n) relative: 10% for the
      // kernels with at least 2304 entries, 25% for the 432-entry stem
      const tol = w.length >= 2000 ? 0.1 : 0.25;
      assert.ok(Math.abs(std / want - 1) < tol, `${name}: std ${std}, expected ${want}`);
      assert.ok(Math.abs(mean) < 4 * want / Math.sqrt(w.length), `${name}: mean ${mean}`);
    }
    // the stem and a unit kernel differ in σ as docs/spec.md §2 says (16 vs 64 output channels)
    const r = stats(h["init_conv/DW"]).std / stats(h["unit_3_1/sub1/conv1/DW"]).std;
    assert.ok(Math.abs(r - 2) < 0.3, `std ratio init_conv / unit_3_1 is ${r}, expected 2`);

    const dw = h["logit/DW"], limit = Math.sqrt(3 / 64);
    const { mean, std, maxAbs } = stats(dw);
    assert.ok(maxAbs <= limit, `logit/DW: |w| reaches ${maxAbs} > ${limit}`);
    assert.ok(maxAbs > 0.95 * limit, `logit/DW: |w| only reaches ${maxAbs} of ${limit}`);
    const want = limit / Math.sqrt(3);
    assert.ok(Math.abs(std / want - 1) < 0.1, `logit/DW: std ${std}, expected ${want}`);
    assert.ok(Math.abs(mean) < 4 * want / Math.sqrt(dw.length), `logit/DW: mean ${mean}`);
    // roughly uniform: four equal bins each hold a quarter (±5 points)
    const bins = [0, 0, 0, 0];
    for (const v of dw) bins[Math.min(3, Math.floor((v + limit) / (2 * limit) * 4))]++;
    for (const b of bins) {
      assert.ok(Math.abs(b / dw.length - 0.25) < 0.05, `logit/DW: bins ${bins}`);
    }
    assert.ok(h["logit/biases"].every((v) => v === 0), "logit/biases: not all 0");
  } finally {
    dispose(p);
  }
});

for (const [label, model] of [["MNIST CNN", mnist], ["ResNet", gtsrb]] as const) {
  Deno.test(`checkpoint (${label}): save → load is bitwise, with metadata and extras`, async () => {
    const p = initParams(model, 99);
    const first = model.specs[0].name;
    const extraM = tensor(Float32Array.from({ length: 6 }, (_, i) => i / 7 - 0.3), [2, 3]);
    const extraStep = tensor(new Int32Array([41, -2]), [2]);
    const extraOpt = tensor(await read(p[first]), p[first].shape);
    try {
      const metadata = { config: JSON.stringify({ k_top: 200, lambda: 0.1 }), step: "1234" };
      const bytes = await saveParams(p, metadata, {
        "adam_m:extra": extraM,
        "opt:step": extraStep,
        [`adam_m:${first}`]: extraOpt,
      });
      const loaded = loadParams(model, bytes, "round.safetensors");
      try {
        assert.deepEqual(loaded.metadata, metadata);
        assert.deepEqual(Object.keys(loaded.params).sort(), model.specs.map((s) => s.name).sort());
        const before = await hostParams(p), after = await hostParams(loaded.params);
        for (const s of model.specs) {
          assert.deepEqual([...loaded.params[s.name].shape], s.shape, `${s.name} shape`);
          assert.equal(loaded.params[s.name].dtype, "f32");
          assertBitwise(after[s.name], before[s.name], s.name);
        }
        assert.deepEqual(
          [...loaded.extra.keys()].sort(),
          [
            "adam_m:extra",
            `adam_m:${first}`,
            "opt:step",
          ].sort(),
        );
        const m = loaded.extra.get("adam_m:extra")!;
        assert.deepEqual(m.shape, [2, 3]);
        assertBitwise(m.data, await read(extraM), "adam_m:extra");
        const st = loaded.extra.get("opt:step")!;
        assert.deepEqual(st.shape, [2]);
        assert.ok(st.data instanceof Int32Array, "opt:step: dtype I32 was not kept");
        assert.deepEqual(Array.from(st.data), [41, -2]);
        assertBitwise(loaded.extra.get(`adam_m:${first}`)!.data, before[first], `adam_m:${first}`);
        // saving the loaded parameters again gives the same bytes
        const again = await saveParams(loaded.params, metadata, {
          "adam_m:extra": extraM,
          "opt:step": extraStep,
          [`adam_m:${first}`]: extraOpt,
        });
        assert.deepEqual(again, bytes);
      } finally {
        dispose(loaded.params);
      }
    } finally {
      dispose([p, extraM, extraStep, extraOpt]);
    }
  });
}

Deno.test("checkpoint: ResNet parameters written by another tool load unchanged", async () => {
  // the golden file's ResNet: image size, channels and classes from its tensors
  const f = await golden("resnet_gtsrb.safetensors");
  const { model } = modelFor(f);
  const shapes = resnetShapes(model.numClasses);
  const out: Record<string, SafeTensorInput> = {};
  for (const [name, shape] of shapes) {
    const e = host(f, `param.${name}`);
    assert.deepEqual(e.shape, shape, `param.${name} shape in the golden file`);
    out[name] = { shape: e.shape, data: e.data };
  }
  const bytes = serializeSafetensors(out, { source: "reference" });
  const { params, extra, metadata } = loadParams(model, bytes, "gtsrb.safetensors");
  const x = gpu(f, "x");
  let logits: Tensor | null = null;
  try {
    assert.equal(extra.size, 0);
    assert.deepEqual(metadata, { source: "reference" });
    for (const [name] of shapes) {
      assertBitwise(await read(params[name]), host(f, `param.${name}`).data, name);
    }
    logits = model.logits(params, x);
    assertClose(await read(logits), host(f, "logits").data, "logits", 1e-4);
  } finally {
    dispose([params, x, logits]);
  }
});

/** A valid MNIST checkpoint's tensors (small arbitrary values), to be spoilt by each case. */
function mnistTensors(): Record<string, SafeTensorInput> {
  const out: Record<string, SafeTensorInput> = {};
  for (const [name, shape] of MNIST_SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { shape, data: Float32Array.from({ length: n }, (_, i) => (i % 13) / 100) };
  }
  return out;
}

function loadError(bytes: Uint8Array): Error {
  try {
    const r = loadParams(mnist, bytes, "ckpt.safetensors");
    dispose(r.params);
  } catch (e) {
    assert.ok(e instanceof Error, "not an Error");
    return e;
  }
  return assert.fail("loadParams accepted a bad checkpoint");
}

Deno.test("checkpoint errors name the source, the tensor, what was expected and found", () => {
  // the unspoilt file loads
  const ok = loadParams(mnist, serializeSafetensors(mnistTensors()), "ckpt.safetensors");
  dispose(ok.params);

  const missing = mnistTensors();
  delete missing.W_conv2;
  assert.match(
    loadError(serializeSafetensors(missing)).message,
    /^ckpt\.safetensors: .*W_conv2 is missing \(expected F32 \[5,5,32,64\]\)/,
  );

  const shape = mnistTensors();
  shape.W_fc2 = { shape: [10, 1024], data: shape.W_fc2.data };
  assert.match(
    loadError(serializeSafetensors(shape)).message,
    /^ckpt\.safetensors: .*W_fc2 has shape \[10,1024\], expected \[1024,10\]/,
  );

  const dtype = mnistTensors();
  dtype.b_fc2 = { shape: [10], data: new Int32Array(10) };
  assert.match(
    loadError(serializeSafetensors(dtype)).message,
    /^ckpt\.safetensors: .*b_fc2 has dtype I32, expected F32/,
  );

  const unexpected = mnistTensors();
  unexpected.W_conv3 = { shape: [1], data: new Float32Array(1) };
  assert.match(
    loadError(serializeSafetensors(unexpected)).message,
    /^ckpt\.safetensors: .*W_conv3 is not a parameter of the mnist_cnn model \(expected one of W_conv1, b_conv1, .*b_fc2\)/,
  );
  // a `/` before the `:` is not an extra-tensor prefix
  const slashed = mnistTensors();
  slashed["opt/m:W_conv1"] = { shape: [1], data: new Float32Array(1) };
  assert.match(
    loadError(serializeSafetensors(slashed)).message,
    /^ckpt\.safetensors: .*opt\/m:W_conv1 is not a parameter/,
  );

  // the last tensor of the data section (names are sorted: b_fc2) ends past the cut
  const whole = serializeSafetensors(mnistTensors());
  const cut = whole.subarray(0, whole.length - 8);
  const m = loadError(cut).message.match(
    /^ckpt\.safetensors: tensor "b_fc2": data_offsets \[(\d+), (\d+)\] are outside the data section of (\d+) bytes/,
  );
  assert.ok(m, `truncated file: unexpected message ${loadError(cut).message}`);
  assert.equal(Number(m[2]) - Number(m[1]), 40, "b_fc2 spans 10 float32 values");
  assert.equal(Number(m[3]), Number(m[2]) - 8, "found data size");
});

Deno.test("checkpoint: a non-finite parameter is an error naming the file, tensor and index", () => {
  for (const [name, index, value] of [["W_fc1", 12345, NaN], ["b_conv1", 0, Infinity]] as const) {
    const t = mnistTensors();
    (t[name].data as Float32Array)[index] = value;
    (t[name].data as Float32Array)[index + 1] = -Infinity; // only the first is reported
    assert.match(
      loadError(serializeSafetensors(t)).message,
      new RegExp(
        `^ckpt\\.safetensors: tensor ${name} has value ${value} at index ${index}, ` +
          `expected a finite number`,
      ),
    );
  }
  // an F64 value too large for float32 does not load as Infinity
  const json = new TextEncoder().encode(
    JSON.stringify({ b_fc2: { dtype: "F64", shape: [10], data_offsets: [0, 80] } }),
  );
  const bytes = new Uint8Array(8 + json.length + 80);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, json.length, true);
  bytes.set(json, 8);
  view.setFloat64(8 + json.length + 3 * 8, -1e39, true);
  assert.match(
    loadError(bytes).message,
    /^ckpt\.safetensors: tensor "b_fc2": F64 element 3 is -1e\+39, outside the float32 range/,
  );
});
