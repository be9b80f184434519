/**
 * W1–W4 on this engine (see `workloads.ts`), through the project's own entry points:
 * `lossAndGrads` + `adam` (W1, W4), `pgdGradient` (W2), `saliencyMap`/`integratedGradientsZero`
 * (W3).
 * @module
 */

import {
  abs,
  add,
  dispose,
  div,
  init,
  integratedGradientsZero,
  lossAndGrads,
  maximum,
  minimum,
  mnistCnn,
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
import { adam } from "../src/train/optimizers.ts";
import {
  ADAM,
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

/** Starts the engine and returns the report head and a workload factory. */
export async function oursSystem(settings: BenchSettings): Promise<{
  head: Omit<SystemReport, "workloads">;
  setup: (id: WorkloadId) => Workload;
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

  const setup = (id: WorkloadId): Workload => {
    switch (id) {
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
              // saliency (SPEC §7): one channel, so Σ_channels |IG| = |IG|
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
