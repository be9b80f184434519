import assert from "node:assert/strict";
import { assertClose, read, setup } from "../helpers.ts";
import { add, hashed, type Tensor, tensor, tidy } from "../../mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import { initParams, mnistCnn, resnet } from "../../src/nn/mod.ts";
import { igTermWithGrad, lossAndGrads, planChunks } from "../../src/rar/mod.ts";

await setup();

function images(seed: number, shape: number[], lo: number, hi: number): Tensor {
  const u = hashed(seed, shape, 1); // in [-1, 1)
  return tensor(u.map((v) => lo + (hi - lo) * (v + 1) / 2), shape);
}

Deno.test("IG regulariser: chunked and unchunked values and gradients are equal", async () => {
  await tidy(async () => {
    const model = mnistCnn();
    const params = initParams(model, 7);
    const x = images(11, [3, 28, 28, 1], 0, 1);
    const xadv = add(x, images(12, [3, 28, 28, 1], -0.3, 0.3));
    const y = tensor(new Int32Array([3, 1, 4]), [3]);
    const cfg = { m: 4 };
    const whole = igTermWithGrad(model, params, x, xadv, y, cfg, { params: true, xadv: true });
    assert.equal(whole.plan.chunks.length, 1);
    for (const maxChunkPoints of [2, 4, 5]) {
      const parts = igTermWithGrad(model, params, x, xadv, y, cfg, { params: true, xadv: true }, {
        maxChunkPoints,
      });
      assert.ok(
        parts.plan.chunks.length > 1,
        `${maxChunkPoints} points per chunk gives several chunks`,
      );
      assert.ok(parts.plan.chunkPoints <= maxChunkPoints);
      assertClose(
        await read(parts.value),
        await read(whole.value),
        `value (${maxChunkPoints})`,
        1e-5,
      );
      assertClose(
        await read(parts.xadv!),
        await read(whole.xadv!),
        `∂/∂xadv (${maxChunkPoints})`,
        1e-4,
      );
      for (const s of model.specs) {
        assertClose(
          await read(parts.params![s.name]),
          await read(whole.params![s.name]),
          `∂/∂${s.name} (${maxChunkPoints})`,
          1e-4,
        );
      }
    }
  });
});

Deno.test("chunk plan for Flower (128×128×3 ResNet, batch 16, m = 50) fits the device limits", () => {
  const model = resnet({ size: 128, numClasses: 17 });
  const rt = runtime();
  const plan = planChunks(model, 16, 50, { maxTensorBytes: rt.maxTensorBytes });
  console.log(
    `Flower IG plan: ${plan.points} path points in ${plan.chunks.length} chunks of at most ` +
      `${plan.chunkPoints} (≈${(plan.bytesPerPoint / 2 ** 20).toFixed(1)} MiB per point, largest ` +
      `tensor ${(plan.largestTensorBytes / 2 ** 20).toFixed(1)} MiB of ${
        (plan.maxTensorBytes / 2 ** 20).toFixed(0)
      } MiB, ` +
      `budget ${(plan.memoryBudgetBytes / 2 ** 30).toFixed(1)} GiB)`,
  );
  assert.equal(plan.points, 800);
  assert.ok(plan.largestTensorBytes <= rt.maxTensorBytes);
  assert.ok(plan.chunkPoints * plan.bytesPerPoint <= plan.memoryBudgetBytes);
  // every (coefficient, image) pair exactly once
  const seen = new Set<string>();
  for (const c of plan.chunks) {
    for (const a of c.alphaIndex) {
      for (let b = c.b0; b < c.b1; b++) {
        const k = `${a},${b}`;
        assert.ok(!seen.has(k), `pair ${k} planned twice`);
        seen.add(k);
      }
    }
  }
  assert.equal(seen.size, 800);
  // a smaller budget gives more, smaller chunks; an impossible one is a clear error
  const small = planChunks(model, 16, 50, {
    maxTensorBytes: rt.maxTensorBytes,
    memoryBudgetBytes: 2 ** 29,
  });
  assert.ok(small.chunkPoints < plan.chunkPoints || plan.chunkPoints === 1);
  assert.throws(
    () => planChunks(model, 16, 50, { maxTensorBytes: rt.maxTensorBytes, memoryBudgetBytes: 1e6 }),
    /path point of the resnet model .* needs about \d+ bytes/,
  );
});

Deno.test("Flower-size IG-NORM step (128×128×3, batch 2, m = 4) runs in chunks", async () => {
  await tidy(async () => {
    const model = resnet({ size: 128, numClasses: 17 });
    const params = initParams(model, 3);
    const x = images(21, [2, 128, 128, 3], 0, 255);
    const xadv = add(x, images(22, [2, 128, 128, 3], -8, 8));
    const y = tensor(new Int32Array([5, 16]), [2]);
    const before = runtime().poolStats().bytes;
    const r = lossAndGrads(model, params, { x, xadv, y }, "ar", {
      lambda: 0.1,
      m: 4,
      approxFactor: 1,
      weightDecay: 0.0002,
      maxChunkPoints: 3,
    });
    assert.ok(r.plan!.chunks.length >= 4, `planned ${r.plan!.chunks.length} chunks`);
    const loss = await r.loss.item();
    const ig = await r.igTerm!.item();
    assert.ok(Number.isFinite(loss) && ig > 0, `loss ${loss}, IG term ${ig}`);
    for (const s of model.specs) {
      const g = await read(r.grads[s.name]);
      assert.ok(g.every(Number.isFinite), `gradient of ${s.name} is finite`);
    }
    const grown = runtime().poolStats().bytes - before;
    console.log(
      `Flower step: ${r.plan!.chunks.length} chunks of ≤ ${r.plan!.chunkPoints} points, ` +
        `pool grew by ${(grown / 2 ** 20).toFixed(0)} MiB (plan estimate ` +
        `${(r.plan!.chunkPoints * r.plan!.bytesPerPoint / 2 ** 20).toFixed(0)} MiB per chunk)`,
    );
  });
});
