/**
 * Reproduces every tensor of a model golden file (`mnist_cnn.safetensors`,
 * `resnet_gtsrb.safetensors` or any file of the same layout): parameters rebuilt from the
 * `params` recipe (`hash01`), shapes and settings from the file itself.
 * @module
 */

import assert from "node:assert/strict";
import { assertClose, assertSecondOrder, golden, gpu, host, read, setup } from "../helpers.ts";
import {
  hashed,
  matmul,
  reshape,
  slice,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
  xent,
} from "../../mod.ts";
import { mnistCnn, type Model, type Params, paramsFromHost, resnet } from "../../src/nn/mod.ts";
import { igTerm, lossAndGrads, pgdGradient } from "../../src/rar/mod.ts";
import { integratedGradientsZero, saliencyMap } from "../../src/attribution/mod.ts";
import { attackDirection, massCenter } from "../../src/attacks/mod.ts";
import type { SafeFile } from "../../src/io/safetensors.ts";

interface Recipe {
  seed: number;
  scale: number;
  shape: number[];
}

interface Config {
  m: number;
  approx_factor: number;
  lambda: number;
  weight_decay: number;
  num_IG_steps: number;
  k_top: number;
}

/** The model a golden file describes, from its parameter names and shapes. */
export function modelFor(f: SafeFile): { model: Model; recipes: Record<string, Recipe> } {
  const recipes = JSON.parse(f.metadata.params) as Record<string, Recipe>;
  const x = host(f, "x").shape;
  if (recipes.W_conv1) {
    return {
      model: mnistCnn({ size: x[1], channels: x[3], numClasses: recipes.W_fc2.shape[1] }),
      recipes,
    };
  }
  return {
    model: resnet({ size: x[1], channels: x[3], numClasses: recipes["logit/DW"].shape[1] }),
    recipes,
  };
}

/**
 * The model of a golden file with its parameters rebuilt from the `params` recipe (kept
 * alive for the whole test module).
 */
export async function goldenModel(
  name: string,
): Promise<
  {
    f: SafeFile;
    model: Model;
    recipes: Record<string, Recipe>;
    values: Record<string, Float32Array>;
    params: Params;
  }
> {
  await setup();
  const f = await golden(name);
  const { model, recipes } = modelFor(f);
  const values: Record<string, Float32Array> = {};
  for (const [k, r] of Object.entries(recipes)) values[k] = hashed(r.seed, r.shape, r.scale);
  const params: Params = paramsFromHost(model, values, name);
  for (const t of Object.values(params)) t.keep();
  return { f, model, recipes, values, params };
}

/**
 * Parameters equal to `values` except the output bias, shifted so that the network's logits
 * at image `x` (`[1, H, W, C]`) are `margin` for class `label` and 0 for every other class:
 * `x` is classified as `label`, `margin` away from a tie with all the other classes. The golden
 * networks are untrained and may predict one class for every input, so a test that needs a
 * correctly classified image, or one whose label a small step changes, makes it so. The
 * tensors are kept (outside any `tidy`); dispose them when done.
 */
export async function paramsClassifying(
  model: Model,
  values: Record<string, Float32Array>,
  x: Tensor,
  label: number,
  margin: number,
): Promise<Params> {
  const bias = model.specs[model.specs.length - 1];
  assert.deepEqual(bias.shape, [model.numClasses], `${bias.name}: the output bias`);
  assert.ok(x.shape[0] === 1, `paramsClassifying: one image expected, got [${x.shape}]`);
  const z = await tidy(async () => await read(model.logits(paramsFromHost(model, values), x)));
  const b = values[bias.name].map((v, j) => v - z[j] + (j === label ? margin : 0));
  const params = paramsFromHost(model, { ...values, [bias.name]: b }, `${bias.name} shifted`);
  for (const t of Object.values(params)) t.keep();
  return params;
}

/** Compares a gradient with the stored tensor, or with its probes for large gradients. */
async function checkGrad(f: SafeFile, key: string, g: Tensor, second: boolean): Promise<void> {
  const cmp = second
    ? assertSecondOrder
    : (a: ArrayLike<number>, b: ArrayLike<number>, w: string) => assertClose(a, b, w, 1e-3);
  if (f.tensors.has(key)) {
    cmp(await read(g), host(f, key).data, key);
    return;
  }
  // probe form: sampled entries and projections G·r_out, r_inᵀ·G
  assert.ok(
    f.tensors.has(`${key}.sample_idx`),
    `${key}: neither the tensor nor its probes are stored`,
  );
  const G = await read(g);
  const idx = host(f, `${key}.sample_idx`).data;
  cmp(Array.from(idx, (i) => G[i]), host(f, `${key}.sample_val`).data, `${key}.sample_val`);
  const [rows, cols] = [g.shape[0], g.size / g.shape[0]];
  await tidy(async () => {
    const g2 = reshape(g, [rows, cols]);
    const rOut = gpu(f, `${key}.r_out`), rIn = gpu(f, `${key}.r_in`);
    const projOut = matmul(g2, reshape(rOut, [cols, 1]));
    const projIn = matmul(reshape(rIn, [1, rows]), g2);
    cmp(await read(projOut), host(f, `${key}.proj_out`).data, `${key}.proj_out`);
    cmp(await read(projIn), host(f, `${key}.proj_in`).data, `${key}.proj_in`);
  });
}

/** Registers the golden tests of model file `name` (in `tests/goldens/`, see `GOLDENS`). */
export async function registerModelGoldenTests(name: string): Promise<void> {
  const { f, model, recipes, values, params } = await goldenModel(name);
  const cfg = JSON.parse(f.metadata.config) as Config;
  const x = gpu(f, "x").keep(), y = gpu(f, "y").keep(), xadv = gpu(f, "xadv").keep();
  const resnetFamily = model.kind === "resnet";
  const wd = resnetFamily ? cfg.weight_decay : 0;
  const objCfg = { lambda: cfg.lambda, m: cfg.m, approxFactor: 1, weightDecay: wd };
  const t = (label: string, fn: () => Promise<void>) =>
    Deno.test(`${name}: ${label}`, () => tidy(fn) as Promise<void>);

  Deno.test(`${name}: parameters rebuilt from the recipe equal the stored ones`, () => {
    let n = 0;
    for (const [k, r] of Object.entries(recipes)) {
      const key = `param.${k}`;
      if (!f.tensors.has(key)) continue;
      assert.deepEqual(host(f, key).shape, r.shape);
      assert.deepEqual(Array.from(values[k]), Array.from(host(f, key).data), key);
      n++;
    }
    assert.ok(n > 0);
  });

  t("forward: logits, surrogate logits, xent, weight decay", async () => {
    assertClose(await read(model.logits(params, x)), host(f, "logits").data, "logits");
    assertClose(
      await read(model.logits(params, x, "softplus")),
      host(f, "softplus_logits").data,
      "softplus_logits",
    );
    assertClose(await read(xent(model.logits(params, x), y)), host(f, "xent").data, "xent");
    if (f.tensors.has("weight_decay_loss")) {
      assertClose(
        await read(model.weightDecayLoss(params)!),
        host(f, "weight_decay_loss").data,
        "weight_decay_loss",
      );
    }
  });

  t("first order: grad_x.nat and grad.nat.<param>", async () => {
    const gp = valueAndGrad<[Params], Params>((p: Params) => xent(model.logits(p, x), y))(params);
    for (const s of model.specs) await checkGrad(f, `grad.nat.${s.name}`, gp.grads[s.name], false);
    // ∂xent/∂x: per image to 1e-3, except that blank MNIST regions give exact 4-way max-pool
    // ties; the stored value for one image routes some of them off the first arg-max (the
    // parameter gradients above, from the same images, follow the first-arg-max rule to 1e-7),
    // so an image may instead agree in direction (cosine > 0.999) and norm (1e-2).
    const gx = await read(valueAndGrad((xx: Tensor) => xent(model.logits(params, xx), y))(x).grads);
    const want = host(f, "grad_x.nat").data;
    const per = gx.length / x.shape[0];
    let strict = 0;
    for (let b = 0; b < x.shape[0]; b++) {
      const a = gx.subarray(b * per, (b + 1) * per), e = want.subarray(b * per, (b + 1) * per);
      try {
        assertClose(a, e, `grad_x.nat image ${b}`, 1e-3);
        strict++;
      } catch {
        assertSecondOrder(a, e, `grad_x.nat image ${b}`);
      }
    }
    assert.ok(strict >= x.shape[0] - 1, `grad_x.nat: only ${strict} images agree to 1e-3`);
  });

  t("IG regulariser: ig_term and ig_term_approx", async () => {
    const net = (p: Params, z: Tensor) => model.logits(p, z);
    assertClose(
      await read(igTerm(net, params, x, xadv, y, { m: cfg.m })),
      host(f, "ig_term").data,
      "ig_term",
    );
    assertClose(
      await read(igTerm(net, params, x, xadv, y, { m: cfg.m, approxFactor: cfg.approx_factor })),
      host(f, "ig_term_approx").data,
      "ig_term_approx",
    );
  });

  for (const obj of ["ar", "adv_ar"] as const) {
    t(`second order: loss.${obj} and grad.${obj}.<param>`, async () => {
      const r = lossAndGrads(model, params, { x, xadv, y }, obj, objCfg);
      assertClose(await read(r.loss), host(f, `loss.${obj}`).data, `loss.${obj}`);
      for (const s of model.specs) {
        await checkGrad(f, `grad.${obj}.${s.name}`, r.grads[s.name], true);
      }
    });
  }

  for (const lf of ["ar_approx", "adv_ar_approx"] as const) {
    t(`second order: pgd_grad.${lf}`, async () => {
      const g = pgdGradient(model, params, x, xadv, y, lf, {
        ...objCfg,
        approxFactor: cfg.approx_factor,
      });
      assertSecondOrder(await read(g), host(f, `pgd_grad.${lf}`).data, `pgd_grad.${lf}`);
    });
  }

  const labels = host(f, "y").data;
  for (let j = 0; f.tensors.has(`ig.${j}`); j++) {
    const one = () => ({
      xj: slice(x, [j, 0, 0, 0], [1, -1, -1, -1]),
      yj: tensor(new Int32Array([labels[j]]), [1]),
    });
    t(`image ${j}: IG, saliency maps, mass centres`, async () => {
      const { xj, yj } = one();
      const steps = cfg.num_IG_steps;
      assertClose(
        await read(integratedGradientsZero(model, params, xj, yj, { steps })),
        host(f, `ig.${j}`).data,
        `ig.${j}`,
        1e-3,
      );
      const sIg = saliencyMap(model, params, xj, yj, "ig", { steps });
      assertClose(await read(sIg), host(f, `saliency.ig.${j}`).data, `saliency.ig.${j}`, 1e-3);
      assertClose(
        await read(saliencyMap(model, params, xj, yj, "simple_gradient")),
        host(f, `saliency.simple_gradient.${j}`).data,
        `saliency.simple_gradient.${j}`,
        1e-3,
      );
      assertClose(
        await read(massCenter(sIg)),
        host(f, `attack.mass_center_relu.${j}`).data,
        `attack.mass_center_relu.${j}`,
        1e-3,
      );
    });

    t(`image ${j}: topK mask and direction (second order)`, async () => {
      const { xj, yj } = one();
      const setupJ = {
        model,
        params,
        x: xj,
        labels: yj,
        saliencyType: "ig" as const,
        steps: cfg.num_IG_steps,
        kTop: cfg.k_top,
      };
      const own = attackDirection("topK", setupJ);
      const mask = host(f, `attack.topk_mask.${j}`).data;
      const ownMask = await read(own.reference!);
      const differ = ownMask.reduce((n, v, i) => n + (v !== mask[i] ? 1 : 0), 0);
      assert.ok(
        differ <= 2,
        `attack.topk_mask.${j}: ${differ} entries differ from the stored mask`,
      );
      own.dispose();
      const stored = attackDirection("topK", {
        ...setupJ,
        referenceMask: gpu(f, `attack.topk_mask.${j}`),
      });
      assertSecondOrder(
        await read(stored.direction(xj, 0)),
        host(f, `attack.dir.topK.${j}`).data,
        `attack.dir.topK.${j}`,
      );
    });

    t(`image ${j}: mass_center reference and direction (second order)`, async () => {
      const { xj, yj } = one();
      const mc = attackDirection("mass_center", {
        model,
        params,
        x: xj,
        labels: yj,
        saliencyType: "ig",
        steps: cfg.num_IG_steps,
        kTop: cfg.k_top,
      });
      assert.deepEqual(
        Array.from(await read(mc.reference!)),
        Array.from(host(f, `attack.mass_center_softplus_floor.${j}`).data),
      );
      assertSecondOrder(
        await read(mc.direction(xj, 0)),
        host(f, `attack.dir.mass_center.${j}`).data,
        `attack.dir.mass_center.${j}`,
      );
      mc.dispose();
    });
  }
}
