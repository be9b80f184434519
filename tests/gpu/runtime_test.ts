/**
 * Runtime behaviour: device limits, large dispatch grids, error reporting, the no-adapter
 * path, memory stability over many training steps, and batched submission.
 * @module
 */

import assert from "node:assert/strict";
import { assertClose, setup } from "../helpers.ts";
import {
  add,
  conv2d,
  full,
  GpuKernelError,
  GpuLimitError,
  matmul,
  max,
  maxPool,
  mean,
  min,
  mul,
  randomUniform,
  relu,
  reshape,
  slice,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
  WebGPUUnavailableError,
  xent,
} from "../../mod.ts";
import { conv2dBackpropFilter } from "../../src/ops/mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import { acquireDevice } from "../../src/gpu/device.ts";

await setup();

Deno.test("a tensor over the device limit is a GpuLimitError naming the limit and size", async () => {
  const rt = runtime();
  await rt.sync();
  const n = Math.floor(rt.maxTensorBytes / 4) + 1;
  const before = rt.poolStats();
  const dispatches = rt.dispatchCount;
  assert.throws(
    () => full([n], 0),
    (e: unknown) => {
      assert.ok(e instanceof GpuLimitError, `expected GpuLimitError, got ${e}`);
      assert.match(e.message, /maxStorageBufferBindingSize/);
      assert.match(e.message, /maxBufferSize/);
      assert.ok(e.message.includes(`${n * 4} bytes`), e.message);
      assert.ok(e.message.includes(`${rt.maxTensorBytes} bytes`), e.message);
      return true;
    },
  );
  // nothing was allocated or launched
  assert.deepEqual(rt.poolStats(), before);
  assert.equal(rt.dispatchCount, dispatches);
  await rt.checkErrors();
});

Deno.test("a single dispatch over maxComputeWorkgroupsPerDimension is a GpuLimitError", () => {
  const rt = runtime();
  const maxG = rt.limits.maxComputeWorkgroupsPerDimension;
  const t = full([4], 0);
  try {
    assert.throws(
      () =>
        rt.dispatch(
          { name: "too_wide", code: "", entry: "main", nIn: 0, nOut: 1 },
          [t.buffer],
          new Uint32Array(4),
          [maxG + 1, 1, 1],
        ),
      (e: unknown) =>
        e instanceof GpuLimitError && e.message.includes("too_wide") &&
        e.message.includes(`maxComputeWorkgroupsPerDimension=${maxG}`),
    );
  } finally {
    t.dispose();
  }
});

Deno.test("ops whose launch needs more than 65535 workgroups run over a 2-D grid", async () => {
  const rt = runtime();
  const n = 70000 * 64 + 5;
  assert.ok(Math.ceil(n / 64) > rt.limits.maxComputeWorkgroupsPerDimension);
  assert.deepEqual(rt.grid(Math.ceil(n / 64)).slice(1), [2, 1]);
  await tidy(async () => {
    const a = full([n], 1.5);
    const total = await sum(a).item();
    assert.equal(total, 1.5 * n);

    const b = full([n], 2.25);
    const c = await add(a, b).data();
    assert.equal(c.length, n);
    for (const i of [0, 1, 63, 64, 65535 * 64 - 1, 65535 * 64, 65535 * 64 + 1, n - 6, n - 1]) {
      assert.equal(c[i], 3.75, `element ${i}`);
    }
    let bad = 0;
    for (let i = 0; i < n; i++) if (c[i] !== 3.75) bad++;
    assert.equal(bad, 0, `${bad} elements of the sum are wrong`);

    // a reduction with one workgroup per output and more than 65535 outputs
    const rows = 70000;
    const m = full([rows, 128], 0.5);
    const r = await sum(m, 1).data();
    assert.equal(r.length, rows);
    assert.ok(r.every((v) => v === 64), "row sums of a [70000, 128] tensor");
  });
  runtime().trimPool();
});

// llvmpipe (Mesa's software Vulkan) ends every shader loop after 65535 iterations in total per
// invocation (LP_MAX_TGSI_LOOP_ITERATIONS, shared by nested loops); kernels whose per-invocation
// loops grow with the data must split the work, or results are silently truncated.
Deno.test("reductions longer than 65535 iterations per invocation are exact", async () => {
  await tidy(async () => {
    const n = 5_000_003;
    const x = randomUniform([n], -1, 1, 7);
    const host = await x.data();
    let s = 0, mx = -Infinity, mn = Infinity;
    for (const v of host) {
      s += v;
      mx = Math.max(mx, v);
      mn = Math.min(mn, v);
    }
    // float32 rounding stays far below 0.5; truncation would lose whole runs of elements
    const gs = await sum(x).item(), gm = await mean(x).item();
    assert.ok(Math.abs(gs - s) < 0.5, `sum ${gs}, expected ${s}`);
    assert.ok(Math.abs(gm - s / n) < 0.5 / n, `mean ${gm}, expected ${s / n}`);
    assert.equal(await max(x).item(), mx);
    assert.equal(await min(x).item(), mn);

    // several outputs, each longer than a chunk, with two non-adjacent reduced dimensions
    const y = full([300_000, 3, 8], 0.25);
    const r = await sum(y, [0, 2]).data();
    assert.deepEqual(Array.from(r), [600_000, 600_000, 600_000]);
  });
  runtime().trimPool();
});

Deno.test("conv2d filter gradients over large batches are exact", async () => {
  await tidy(async () => {
    // all ones, 3×3 SAME: gw[kh,kw] = B · (28 − |kh − 1|) · (28 − |kw − 1|)
    const B = 100;
    const gw = await conv2dBackpropFilter(full([B, 28, 28, 1], 1), full([B, 28, 28, 2], 1), [
      3,
      3,
      1,
      2,
    ]).data();
    for (let kh = 0; kh < 3; kh++) {
      for (let kw = 0; kw < 3; kw++) {
        const want = B * (28 - Math.abs(kh - 1)) * (28 - Math.abs(kw - 1));
        for (let o = 0; o < 2; o++) {
          assert.equal(gw[(kh * 3 + kw) * 2 + o], want, `gw[${kh},${kw}]`);
        }
      }
    }
    // random data: the batch of 128 equals the sum of its two halves
    const x = randomUniform([128, 28, 28, 3], -1, 1, 1);
    const gy = randomUniform([128, 28, 28, 4], -1, 1, 2);
    const whole = await conv2dBackpropFilter(x, gy, [5, 5, 3, 4]).data();
    const halves = await add(
      conv2dBackpropFilter(
        slice(x, [0, 0, 0, 0], [64, -1, -1, -1]),
        slice(gy, [0, 0, 0, 0], [64, -1, -1, -1]),
        [5, 5, 3, 4],
      ),
      conv2dBackpropFilter(
        slice(x, [64, 0, 0, 0], [64, -1, -1, -1]),
        slice(gy, [64, 0, 0, 0], [64, -1, -1, -1]),
        [5, 5, 3, 4],
      ),
    ).data();
    assertClose(whole, halves, "conv2d filter gradient of a batch of 128", 1e-4);
  });
});

Deno.test("a WebGPU validation error is reported with the kernel's name", async () => {
  const rt = runtime();
  await rt.sync();
  const t = full([16], 0);
  try {
    rt.dispatch(
      {
        name: "broken_kernel",
        code: "@compute @workgroup_size(64) fn main( { this is not WGSL",
        entry: "main",
        nIn: 0,
        nOut: 1,
      },
      [t.buffer],
      new Uint32Array(4),
      [1, 1, 1],
    );
    await assert.rejects(
      () => t.data(),
      (e: unknown) => {
        assert.ok(e instanceof GpuKernelError, `expected GpuKernelError, got ${e}`);
        assert.match(e.message, /broken_kernel/);
        assert.match(e.message, /validation/i);
        return true;
      },
    );
  } finally {
    t.dispose();
  }
  // the error was reported once; the runtime keeps working afterwards
  await rt.checkErrors();
  const ok = full([3], 7);
  assert.deepEqual(Array.from(await ok.data()), [7, 7, 7]);
  ok.dispose();
});

Deno.test("acquire rejects a NaN, infinite or negative byte count, naming the buffer", async () => {
  const rt = runtime();
  await rt.sync();
  const before = rt.poolStats();
  for (const bytes of [NaN, Infinity, -Infinity, -4, "64" as unknown as number]) {
    assert.throws(
      () => rt.acquire(bytes, "conv2d_forward output [2,NaN]"),
      (e: unknown) => {
        assert.ok(e instanceof Error, `${bytes}: got ${e}`);
        assert.ok(!(e instanceof TypeError) && !(e instanceof RangeError), `${bytes}: ${e}`);
        assert.ok(e.message.includes("conv2d_forward output [2,NaN]"), e.message);
        assert.ok(e.message.includes(String(bytes)), e.message);
        return true;
      },
      String(bytes),
    );
  }
  assert.deepEqual(rt.poolStats(), before);
  await rt.checkErrors();
});

Deno.test("a failed read-back staging allocation is reported as such and spoils no later read", async () => {
  const rt = runtime();
  const t = full([100], 3);
  await rt.sync();
  const device = rt.device;
  const original = device.createBuffer;
  // an impossible staging buffer stands in for one the device has no memory for
  device.createBuffer = function (d: GPUBufferDescriptor) {
    const over = d.label === "readback" ? { ...d, size: rt.limits.maxBufferSize + 4096 } : d;
    return original.call(this, over);
  };
  try {
    await assert.rejects(t.data(), (e: unknown) => {
      assert.ok(e instanceof GpuKernelError, `got ${e}`);
      assert.match(e.message, /read-back/);
      assert.match(e.message, /400 bytes/);
      return true;
    });
  } finally {
    device.createBuffer = original;
  }
  assert.deepEqual(Array.from(await t.data()), new Array(100).fill(3));
  await rt.checkErrors();
  t.dispose();
});

Deno.test("recover drops unsubmitted work after a fault so that data can still be read back", async () => {
  const rt = runtime();
  const t = full([16], 5);
  await rt.sync();
  rt.dispatch(
    {
      name: "faulty_kernel",
      code: "@compute @workgroup_size(64) fn main( { not WGSL",
      entry: "main",
      nIn: 0,
      nOut: 1,
    },
    [t.buffer],
    new Uint32Array(4),
    [1, 1, 1],
  );
  assert.equal(await rt.recover(), true);
  assert.equal(rt.lostReason, null);
  assert.deepEqual(Array.from(await t.data()), new Array(16).fill(5));
  await rt.checkErrors();
  t.dispose();
});

/** Runs `fn` with `navigator.gpu` replaced by `value`, restoring the original afterwards. */
async function withNavigatorGpu(value: unknown, fn: () => Promise<void>): Promise<void> {
  const nav = globalThis.navigator;
  const own = Object.getOwnPropertyDescriptor(nav, "gpu");
  Object.defineProperty(nav, "gpu", { value, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    if (own) Object.defineProperty(nav, "gpu", own);
    else delete (nav as unknown as Record<string, unknown>).gpu;
  }
}

Deno.test("without WebGPU, acquireDevice says what is missing and how to get it", async () => {
  const original = navigator.gpu;
  assert.ok(original, "this test needs a runtime with navigator.gpu");

  await withNavigatorGpu(undefined, async () => {
    assert.equal(navigator.gpu, undefined);
    await assert.rejects(() => acquireDevice(), (e: unknown) => {
      assert.ok(e instanceof WebGPUUnavailableError, `got ${e}`);
      assert.equal(e.name, "WebGPUUnavailableError");
      assert.match(e.message, /navigator\.gpu is undefined/);
      assert.match(e.message, /Deno >= 2|browser with WebGPU/);
      return true;
    });
  });

  await withNavigatorGpu({ requestAdapter: () => Promise.resolve(null) }, async () => {
    await assert.rejects(() => acquireDevice(), (e: unknown) => {
      assert.ok(e instanceof WebGPUUnavailableError, `got ${e}`);
      assert.match(e.message, /no WebGPU adapter was found/);
      assert.match(e.message, /Vulkan/);
      assert.match(e.message, /mesa-vulkan-drivers/);
      return true;
    });
  });

  await withNavigatorGpu({
    requestAdapter: () => Promise.reject(new Error("driver exploded")),
  }, async () => {
    await assert.rejects(() => acquireDevice(), (e: unknown) => {
      assert.ok(e instanceof WebGPUUnavailableError, `got ${e}`);
      assert.match(e.message, /requesting a WebGPU adapter failed: driver exploded/);
      assert.match(e.message, /mesa-vulkan-drivers/);
      return true;
    });
  });

  // restored: the real WebGPU object is back
  assert.equal(navigator.gpu, original);
});

/** Deterministic pseudo-random values in [-1, 1). */
function lcg(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

Deno.test("1000 training steps do not grow the buffer pool", async () => {
  const rt = runtime();
  const x = tensor(lcg(8 * 6 * 6 * 2, 1), [8, 6, 6, 2]);
  const labels = tensor(new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]), [8], "i32");
  type Params = { w1: Tensor; w2: Tensor; b2: Tensor };
  let params: Params = {
    w1: tensor(lcg(3 * 3 * 2 * 4, 2).map((v) => v * 0.5), [3, 3, 2, 4]),
    w2: tensor(lcg(36 * 3, 3).map((v) => v * 0.3), [36, 3]),
    b2: tensor(new Float32Array(3), [3]),
  };
  const loss = (p: Params) => {
    const h = maxPool(relu(conv2d(x, p.w1)), { size: 2 });
    const logits = add(matmul(reshape(h, [8, 36]), p.w2), p.b2);
    return xent(logits, labels);
  };
  const step = valueAndGrad<[Params], Params>(loss);

  const losses: number[] = [];
  let after10 = rt.poolStats();
  const t0 = performance.now();
  for (let i = 1; i <= 1000; i++) {
    const { value, next } = tidy(() => {
      const { value, grads } = step(params);
      const next: Params = {
        w1: sub(params.w1, mul(grads.w1, 0.01)),
        w2: sub(params.w2, mul(grads.w2, 0.01)),
        b2: sub(params.b2, mul(grads.b2, 0.01)),
      };
      return { value, next };
    });
    for (const t of Object.values(params)) t.dispose();
    params = next;
    if (i === 1 || i % 100 === 0) losses.push(await value.item());
    value.dispose();
    if (i === 10) after10 = rt.poolStats();
  }
  const elapsed = performance.now() - t0;
  const after1000 = rt.poolStats();

  assert.equal(after1000.buffers, after10.buffers, "pooled buffers grew");
  assert.equal(after1000.bytes, after10.bytes, "pooled bytes grew");
  assert.equal(after1000.inUse, after10.inUse, "buffers in use grew");
  assert.equal(after1000.inUseBytes, after10.inUseBytes, "bytes in use grew");
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(
    losses[losses.length - 1] < 0.5 * losses[0],
    `the loss did not decrease: ${losses.map((l) => l.toFixed(4))}`,
  );
  console.log(
    `1000 steps in ${(elapsed / 1000).toFixed(1)} s; loss ${losses[0].toFixed(4)} → ` +
      `${losses[losses.length - 1].toFixed(4)}; pool ${JSON.stringify(after1000)}`,
  );

  for (const t of [x, labels, ...Object.values(params)]) t.dispose();
  await rt.checkErrors();
});

Deno.test("many ops followed by one read are submitted in a few batches", async () => {
  const rt = runtime();
  await rt.sync();
  const a = tensor(new Float32Array(1000).fill(1));
  const b = tensor(new Float32Array(1000).fill(0.5));
  const submits = rt.submitCount;
  const dispatches = rt.dispatchCount;
  const values = await tidy(async () => {
    let c = a;
    for (let i = 0; i < 50; i++) c = add(c, b);
    return await c.data();
  });
  assert.equal(rt.dispatchCount - dispatches, 50);
  const used = rt.submitCount - submits;
  assert.ok(used >= 1 && used <= 2, `50 adds and one read took ${used} submissions`);
  assert.ok(values.every((v) => v === 26), "1 + 50·0.5");

  // more dispatches than the parameter arena holds (512): still only a handful of submissions
  const submits2 = rt.submitCount;
  const long = await tidy(async () => {
    let c = a;
    for (let i = 0; i < 1200; i++) c = add(c, b);
    return await c.data();
  });
  const used2 = rt.submitCount - submits2;
  assert.ok(used2 <= 4, `1200 adds and one read took ${used2} submissions`);
  assert.ok(long.every((v) => v === 601), "1 + 1200·0.5");
  a.dispose();
  b.dispose();
});

Deno.test("texels copies a buffer into rgba32float texels, whole rows and a partial last row", async () => {
  const rt = runtime();
  // 1 texel; a partial row; one whole row of 16 texels; many rows and a partial one; more
  // texels than 16-texel rows can hold within the device's height, so a wider texture
  for (const n of [3, 40, 64, 4100, 16 * 4 * rt.limits.maxTextureDimension2D + 36]) {
    const data = new Float32Array(n).map((_, i) => (i % 1009) - 0.5 * (i % 7));
    const t = tensor(data, [n]);
    const tex = rt.texels(t.buffer, n * 4, "test");
    const width = 2 ** tex.shift;
    const texels = Math.ceil(n / 4);
    assert.ok(Math.ceil(texels / width) <= rt.limits.maxTextureDimension2D, `n ${n}`);
    assert.equal(width, n < 16 * 4 * rt.limits.maxTextureDimension2D ? 16 : 32, `width, n ${n}`);
    // read the texture back row by row and compare with the data
    const rows = Math.ceil(texels / width);
    const out = rt.device.createBuffer({
      size: rows * width * 16,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    await rt.sync();
    const enc = rt.device.createCommandEncoder();
    enc.copyTextureToBuffer(
      { texture: tex.texture },
      { buffer: out, bytesPerRow: width * 16 },
      [width, rows],
    );
    rt.device.queue.submit([enc.finish()]);
    await out.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(out.getMappedRange().slice(0));
    out.destroy();
    assert.deepEqual(got.subarray(0, n), data, `n ${n}`);
    tex.dispose();
    t.dispose();
  }
  const small = tensor(new Float32Array(8), [8]);
  assert.throws(
    () => rt.texels(small.buffer, small.buffer.size + 16, "x"),
    /asked for from a buffer/,
  );
  small.dispose();
});
