/**
 * W1–W4 on jax-js (`npm:@jax-js/jax`, benchmark-only) on its `webgpu` device, each workload one
 * `jit`-compiled function. jax-js convolutions are NCHW/OIHW: the model transposes the NHWC
 * images and HWIO kernels inside the jitted function, so gradients come back in the layout of
 * docs/spec.md §1.
 * jax-js arrays are reference counted: every use past the first takes `.ref`.
 * @module
 */

import {
  type Array as JArray,
  blockUntilReady,
  defaultDevice,
  getWebGPUDevice,
  grad,
  init,
  jit,
  lax,
  numpy as np,
  type OwnedFunction,
  tree,
  valueAndGrad,
} from "@jax-js/jax";
import {
  ADAM,
  BATCH,
  benchInputs,
  benchParams,
  type BenchSettings,
  CLASSES,
  EPSILON,
  errorText,
  LAMBDA,
  LEARNING_RATE,
  NO_ATTACK,
  type Outputs,
  PARAM_NAMES,
  SIZE,
  STEP_SIZE,
  type SystemReport,
  type Workload,
  type WorkloadId,
} from "./workloads.ts";

type P = Record<string, JArray>;

/** How W4's inner gradient sees the weights: closed over (correct) or as an `argnums` argument. */
export type W4Form = "closure" | "argnums";

const VERSION = "0.1.25";

/** `[B,C,2H,2W] → [B,C,H,W]`, 2x2/2 max-pool (even sizes: SAME = VALID) via jax-js's `pool`. */
function maxPool(x: JArray): JArray {
  return lax.reduceWindow(x, (w: JArray) => np.max(w), [2, 2], [2, 2]);
}

/** The MNIST CNN of docs/spec.md §2 on NHWC images `x` (consumes `p` and `x`). */
function logits(p: P, x: JArray): JArray {
  const b = x.shape[0];
  const conv = (h: JArray, w: JArray, bias: JArray) =>
    lax.convGeneralDilated(h, w.transpose([3, 2, 0, 1]), [1, 1], "SAME")
      .add(bias.reshape([1, -1, 1, 1]));
  let h = x.transpose([0, 3, 1, 2]);
  h = maxPool(np.maximum(conv(h, p.W_conv1, p.b_conv1), 0));
  h = maxPool(np.maximum(conv(h, p.W_conv2, p.b_conv2), 0));
  h = h.transpose([0, 2, 3, 1]).reshape([b, 7 * 7 * 64]);
  h = np.maximum(np.matmul(h, p.W_fc1).add(p.b_fc1), 0);
  return np.matmul(h, p.W_fc2).add(p.b_fc2);
}

/** Summed softmax cross-entropy with one-hot labels. */
function xent(z: JArray, onehot: JArray): JArray {
  return np.sum(logSoftmax(z).mul(onehot)).neg();
}

function logSoftmax(z: JArray): JArray {
  const m = lax.stopGradient(np.max(z.ref, -1, { keepdims: true }));
  const s = z.sub(m);
  return s.ref.sub(np.log(np.sum(np.exp(s), -1, { keepdims: true })));
}

/** The IG path loss of docs/spec.md §3, summed: `−log(clip(softmax(z)[y], 1e−10, 1))`. */
function pathLoss(z: JArray, onehot: JArray): JArray {
  const py = np.sum(np.exp(logSoftmax(z)).mul(onehot), -1);
  return np.sum(np.log(np.clip(py, 1e-10, 1))).neg();
}

function oneHot(labels: Int32Array, rows = labels.length): JArray {
  const v = new Float32Array(rows * CLASSES);
  for (let i = 0; i < rows; i++) v[i * CLASSES + labels[i % labels.length]] = 1;
  return np.array(v).reshape([rows, CLASSES]);
}

/** Adam (TF1 form) on a parameter tree; consumes everything. */
function adamUpdate(p: P, g: P, m: P, v: P, lrT: JArray) {
  const { beta1: b1, beta2: b2, epsilon: eps } = ADAM;
  const np2: P = {}, nm: P = {}, nv: P = {};
  for (const k of PARAM_NAMES) {
    nm[k] = m[k].mul(b1).add(g[k].ref.mul(1 - b1));
    nv[k] = v[k].mul(b2).add(np.square(g[k]).mul(1 - b2));
    np2[k] = p[k].sub(lrT.ref.mul(nm[k].ref).div(np.sqrt(nv[k].ref).add(eps)));
  }
  lrT.dispose();
  return { p: np2, m: nm, v: nv };
}

async function readTree(t: P, prefix: string, into: Record<string, Float32Array>) {
  for (const k of PARAM_NAMES) into[prefix + k] = new Float32Array(await t[k].ref.data());
}

/** Starts jax-js on WebGPU and returns the report head and a workload factory. */
export async function jaxSystem(settings: BenchSettings, w4Form: W4Form = "closure"): Promise<{
  head: Omit<SystemReport, "workloads">;
  setup: (id: WorkloadId) => Workload;
}> {
  const devices = await init("webgpu");
  if (!devices.includes("webgpu")) {
    throw new Error(`jax-js could not start its webgpu device (init returned [${devices}])`);
  }
  defaultDevice("webgpu");
  const dev = getWebGPUDevice() as GPUDevice & { adapterInfo?: GPUAdapterInfo };
  const info = dev.adapterInfo;
  // jax-js logs WebGPU validation errors instead of throwing them; collect them for the table
  const gpuErrors: string[] = [];
  dev.addEventListener("uncapturederror", (e) => {
    gpuErrors.push(errorText((e as GPUUncapturedErrorEvent).error.message));
  });
  const host = benchParams();
  const inp = benchInputs();
  const params = (): P => {
    const p: P = {};
    for (const k of PARAM_NAMES) p[k] = np.array(host[k].data.slice()).reshape(host[k].shape);
    return p;
  };
  const arr = (t: { data: Float32Array; shape: number[] }) =>
    np.array(t.data as Float32Array<ArrayBuffer>).reshape(t.shape);

  const trainStep = (objective: "nat" | "ar"): Workload => {
    const m = settings.m;
    let p = params();
    let mom: P = {}, vel: P = {};
    for (const k of PARAM_NAMES) {
      mom[k] = np.zeros(host[k].shape);
      vel[k] = np.zeros(host[k].shape);
    }
    const x = arr(inp.x), xadv = arr(inp.xadv), y = oneHot(inp.labels);
    // path points z_k = x + (k/m)(x' − x), k = 1..m, stacked as [m·B, 28, 28, 1]
    const alphas = np.array(Float32Array.from({ length: m }, (_, k) => (k + 1) / m))
      .reshape([m, 1, 1, 1, 1]);
    const yz = oneHot(inp.labels, m * BATCH);

    /** `[xent(x), IG_term(x, x')]` (consumes everything). */
    const arParts = (
      pp: P,
      x: JArray,
      xa: JArray,
      y: JArray,
      yz: JArray,
      al: JArray,
      form: W4Form,
    ) => {
      const ce = xent(logits(tree.ref(pp), x.ref), y);
      const diff = xa.sub(x.ref);
      const z = x.reshape([1, BATCH, SIZE, SIZE, 1])
        .add(al.mul(diff.ref.reshape([1, BATCH, SIZE, SIZE, 1])))
        .reshape([m * BATCH, SIZE, SIZE, 1]);
      const g = form === "argnums"
        // the weights passed as an argument the inner grad does not differentiate
        ? grad((q: P, zz: JArray) => pathLoss(logits(q, zz), yz), { argnums: 1 })(pp, z) as JArray
        // the inner gradient closes over the weights, so the outer one sees its dependence
        : grad((zz: JArray) => pathLoss(logits(pp, zz), yz))(z);
      const gsum = np.sum(g.reshape([m, BATCH, SIZE, SIZE, 1]), 0);
      const term = np.sum(np.abs(diff.mul(gsum).mul(1 / m)));
      return [ce, term] as [JArray, JArray];
    };
    type Args = [P, P, P, JArray, JArray, JArray, JArray, JArray, JArray];
    const makeStep = (form: W4Form) => (...[pp, mm, vv, lrT, x, xa, y, yz, al]: Args) => {
      let loss: JArray, g: P;
      if (objective === "nat") {
        tree.dispose([xa, yz, al]);
        [loss, g] = valueAndGrad((q: P) => xent(logits(q, x), y))(tree.ref(pp)) as [JArray, P];
      } else {
        [loss, g] = valueAndGrad((q: P) => {
          const [ce, term] = arParts(q, x, xa, y, yz, al, form);
          return ce.add(term.mul(LAMBDA));
        })(tree.ref(pp)) as [JArray, P];
      }
      const u = adamUpdate(pp, tree.ref(g), mm, vv, lrT);
      return [loss, g, u.p, u.m, u.v] as [JArray, P, P, P, P];
    };
    // W4: the correct formulation (closure) under jit, else eagerly; `--jax-w4 argnums` shows
    // the formulation whose second-order term jax-js drops
    const forms: [W4Form, boolean][] = objective === "nat"
      ? [["closure", true]]
      : w4Form === "argnums"
      ? [["argnums", true], ["argnums", false]]
      : [["closure", true], ["closure", false]];
    let k = 0;
    let step: OwnedFunction<(...a: Args) => [JArray, P, P, P, P]> = jit(makeStep(forms[0][0]));
    const tried: string[] = [];

    let t = 0;
    const self: Workload = {
      async run(first) {
        t++;
        const lrT = LEARNING_RATE * Math.sqrt(1 - ADAM.beta2 ** t) / (1 - ADAM.beta1 ** t);
        let res: [JArray, P, P, P, P];
        gpuErrors.length = 0;
        for (;;) {
          try {
            res = step(
              tree.ref(p),
              tree.ref(mom),
              tree.ref(vel),
              np.array(lrT),
              x.ref,
              xadv.ref,
              y.ref,
              yz.ref,
              alphas.ref,
            );
            break;
          } catch (e) {
            if (!first || k + 1 >= forms.length) throw e;
            tried.push(`${forms[k][0]}${forms[k][1] ? " + jit" : " (eager)"}: ${errorText(e)}`);
            step.dispose();
            k++;
            const f = makeStep(forms[k][0]);
            step = forms[k][1] ? jit(f) : Object.assign(f, { dispose() {} });
          }
        }
        const [loss, g, np2, nm, nv] = res;
        tree.dispose([p, mom, vel]);
        p = np2;
        mom = nm;
        vel = nv;
        await blockUntilReady([loss, g, p, mom, vel]);
        let out: Outputs | undefined;
        if (first) {
          out = { scalars: { loss: (await loss.ref.data())[0] }, tensors: {} };
          if (objective === "ar") {
            const [ce, term] = arParts(
              params(),
              x.ref,
              xadv.ref,
              y.ref,
              yz.ref,
              alphas.ref,
              forms[k][0],
            );
            out.scalars.xent = (await ce.data())[0];
            out.scalars.ig_term = (await term.data())[0];
          } else out.scalars.xent = out.scalars.loss;
          await readTree(g, "grad.", out.tensors);
          let l1 = 0;
          for (const name of PARAM_NAMES) {
            const after = await p[name].ref.data();
            const before = host[name].data;
            for (let i = 0; i < after.length; i++) l1 += Math.abs(after[i] - before[i]);
          }
          out.scalars.adam_update_l1 = l1;
          if (objective === "ar") {
            const how = `${forms[k][0]} formulation${forms[k][1] ? " + jit" : ", eager"}`;
            const errs = [...new Set(gpuErrors)].slice(0, 3);
            self.note = [
              `W4 ran the ${how}`,
              ...tried.map((s) => `failed: ${s}`),
              ...(errs.length ? [`WebGPU errors (not thrown): ${errs.join("; ")}`] : []),
            ].join("; ");
          }
        }
        tree.dispose([loss, g]);
        return out;
      },
      dispose() {
        tree.dispose([p, mom, vel, x, xadv, y, yz, alphas]);
        step.dispose();
      },
    };
    return self;
  };

  const setup = (id: WorkloadId): Workload => {
    switch (id) {
      case "W5":
        throw new Error(NO_ATTACK);
      case "W1":
        return trainStep("nat");
      case "W4":
        return trainStep("ar");
      case "W2": {
        const p = params();
        const x = arr(inp.x), xa = arr(inp.xPgd), y = oneHot(inp.labels);
        const lo = np.maximum(x.ref.sub(EPSILON), 0), hi = np.minimum(x.add(EPSILON), 1);
        const step = jit((pp: P, xa: JArray, y: JArray, lo: JArray, hi: JArray) => {
          const [loss, g] = valueAndGrad((z: JArray) => xent(logits(pp, z), y))(xa.ref);
          const next = np.minimum(np.maximum(xa.add(np.sign(g.ref).mul(STEP_SIZE)), lo), hi);
          return [loss, g, next] as const;
        });
        return {
          async run(first) {
            const [loss, g, next] = step(
              tree.ref(p),
              xa.ref,
              y.ref,
              lo.ref,
              hi.ref,
            ) as unknown as JArray[];
            await blockUntilReady([loss, g, next]);
            let out: Outputs | undefined;
            if (first) {
              out = {
                scalars: { loss: (await loss.ref.data())[0] },
                tensors: {
                  grad_x: new Float32Array(await g.ref.data()),
                  x_next: new Float32Array(await next.ref.data()),
                },
              };
            }
            tree.dispose([loss, g, next]);
            return out;
          },
          dispose() {
            tree.dispose([p, xa, y, lo, hi]);
            step.dispose();
          },
        };
      }
      case "W3": {
        const n = settings.igSteps;
        const p = params();
        const img = arr(inp.image);
        const yn = oneHot(inp.imageLabel, n);
        const alphas = np.array(Float32Array.from({ length: n }, (_, i) => (i + 1) / n))
          .reshape([n, 1, 1, 1]);
        const ig = jit((pp: P, img: JArray, yn: JArray, al: JArray) => {
          const z = al.mul(img.ref);
          const g = grad((zz: JArray) => np.sum(logits(pp, zz).mul(yn)))(z);
          const attr = np.mean(g, 0, { keepdims: true }).mul(img);
          const s = np.abs(attr.ref);
          return [attr, s.ref.div(np.sum(s)).mul(SIZE * SIZE)] as const;
        });
        return {
          async run(first) {
            const [attr, map] = ig(tree.ref(p), img.ref, yn.ref, alphas.ref) as unknown as JArray[];
            await blockUntilReady([attr, map]);
            let out: Outputs | undefined;
            if (first) {
              const a = new Float32Array(await attr.ref.data());
              out = {
                scalars: { ig_sum: a.reduce((s, v) => s + v, 0) },
                tensors: { ig: a, saliency: new Float32Array(await map.ref.data()) },
              };
            }
            tree.dispose([attr, map]);
            return out;
          },
          dispose() {
            tree.dispose([p, img, yn, alphas]);
            ig.dispose();
          },
        };
      }
    }
  };
  return {
    head: {
      system: w4Form === "closure" ? "jax" : "jax-argnums",
      label: `jax-js ${VERSION} (webgpu, jit)${
        w4Form === "closure" ? "" : ", W4 inner grad via argnums"
      }`,
      device: info
        ? `${info.description || info.device || "webgpu"} (vendor ${info.vendor || "?"})`
        : "webgpu",
    },
    setup,
  };
}
