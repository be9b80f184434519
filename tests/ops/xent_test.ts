import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import { grad, mul, sum, type Tensor, tidy, xent } from "../../mod.ts";
import { igPathLoss } from "../../src/ops/mod.ts";

const ops = await golden("ops.safetensors");
await setup();

const want = (k: string) => host(ops, k).data;

Deno.test("xent: summed loss and gradient", async () => {
  await tidy(async () => {
    const logits = gpu(ops, "xent.logits"), labels = gpu(ops, "xent.labels");
    assert.equal(labels.dtype, "i32");
    const loss = xent(logits, labels);
    assert.equal(loss.size, 1);
    assertClose(await read(loss), want("xent.loss"), "xent.loss");
    const g = grad((z: Tensor) => xent(z, labels))(logits);
    assert.deepEqual(g.shape, logits.shape);
    assertClose(await read(g), want("xent.glogits"), "xent.glogits", 1e-3);
  });
});

Deno.test("xent: second order d<v, glogits>/dlogits through autodiff", async () => {
  await tidy(async () => {
    const logits = gpu(ops, "xent.logits"), labels = gpu(ops, "xent.labels");
    const v = gpu(ops, "xent.v");
    const g = (z: Tensor) => grad((z: Tensor) => xent(z, labels))(z);
    const d = grad((z: Tensor) => sum(mul(v, g(z))))(logits);
    assertSecondOrder(await read(d), want("xent.d_vg_dlogits"), "xent.d_vg_dlogits");
  });
});

Deno.test("igPathLoss: per-example clipped loss and its gradients", async () => {
  await tidy(async () => {
    const logits = gpu(ops, "xent.logits"), labels = gpu(ops, "xent.labels");
    const v = gpu(ops, "xent.v");
    const loss = igPathLoss(logits, labels);
    assert.deepEqual(loss.shape, host(ops, "xent.clipped_loss").shape);
    const l = await read(loss);
    assertClose(l, want("xent.clipped_loss"), "xent.clipped_loss");
    // the goldens have at least one row where the clip is active (loss = −log 1e−10)
    const clippedRows = [...want("xent.clipped_loss")]
      .map((x, i) => [x, i])
      .filter(([x]) => Math.abs(x + Math.log(1e-10)) < 1e-3)
      .map(([, i]) => i);
    assert.ok(clippedRows.length > 0, "no clipped row in the goldens");

    const total = (z: Tensor) => sum(igPathLoss(z, labels));
    const g = await read(grad(total)(logits));
    assertClose(g, want("xent.clipped_glogits"), "xent.clipped_glogits", 1e-3);
    // where the clip is active the whole row's gradient is exactly 0
    const k = logits.shape[1];
    for (const r of clippedRows) {
      assert.ok(g.slice(r * k, (r + 1) * k).every((x) => x === 0), `row ${r} gradient`);
    }
    const gz = (z: Tensor) => grad(total)(z);
    const d = grad((z: Tensor) => sum(mul(v, gz(z))))(logits);
    assertSecondOrder(
      await read(d),
      want("xent.clipped_d_vg_dlogits"),
      "xent.clipped_d_vg_dlogits",
    );
  });
});
