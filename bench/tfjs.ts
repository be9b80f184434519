/**
 * W1–W4 on TensorFlow.js (`npm:@tensorflow/tfjs`, i.e. tfjs-core with its gradients, with `@tensorflow/tfjs-backend-webgpu`,
 * or `@tensorflow/tfjs-backend-wasm` on the CPU; benchmark-only), in eager mode with `tf.tidy`
 * and `tf.grad`/`tf.valueAndGrads` (TF.js has no jit). NHWC and HWIO are TF.js's own layouts.
 * @module
 */

// the union package: tfjs-core alone registers no gradients (its ESM registration module does
// not load under Node-style resolution); `@tensorflow/tfjs` bundles them
import * as tf from "@tensorflow/tfjs";
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

const VERSION = "4.22.0";

type T = tf.Tensor;
type P = Record<string, T>;
/**
 * `tf.maxPool`, or the same 2x2/2 max-pool written as `max(a, b) = (a + b + |a − b|)/2` over the
 * window: TF.js has no gradient for `MaxPoolGrad` (nor for `Equal`, which `tf.max`'s gradient
 * uses), so only this form can be differentiated twice.
 */
type PoolForm = "maxPool" | "absMax";

function pool(x: tf.Tensor4D, form: PoolForm): tf.Tensor4D {
  if (form === "maxPool") return tf.maxPool(x, 2, 2, "same");
  const [b, h, w, c] = x.shape;
  const amax = (u: T, v: T) => tf.mul(tf.add(tf.add(u, v), tf.abs(tf.sub(u, v))), 0.5);
  // ranks ≤ 4 only: TF.js's webgpu backend returns wrong slice gradients at rank 5
  const r = tf.reshape(x, [b * h / 2, 2, w / 2, 2 * c]);
  const size = [b * h / 2, 1, w / 2, 2 * c];
  const rows = tf.reshape(
    amax(tf.slice(r, [0, 0, 0, 0], size), tf.slice(r, [0, 1, 0, 0], size)),
    [b * h / 2 * w / 2, 2, c],
  );
  const half = [b * h / 2 * w / 2, 1, c];
  return tf.reshape(
    amax(tf.slice(rows, [0, 0, 0], half), tf.slice(rows, [0, 1, 0], half)),
    [b, h / 2, w / 2, c],
  ) as tf.Tensor4D;
}

/** The MNIST CNN of docs/spec.md §2 (NHWC images, HWIO kernels). */
function logits(p: P, x: T, form: PoolForm): T {
  const b = x.shape[0];
  const conv = (h: T, w: T, bias: T) =>
    tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, w as tf.Tensor4D, 1, "same"), bias)) as tf.Tensor4D;
  let h = pool(conv(x, p.W_conv1, p.b_conv1), form);
  h = pool(conv(h, p.W_conv2, p.b_conv2), form);
  const f = tf.reshape(h, [b, 7 * 7 * 64]);
  const f1 = tf.relu(tf.add(tf.matMul(f as tf.Tensor2D, p.W_fc1 as tf.Tensor2D), p.b_fc1));
  return tf.add(tf.matMul(f1 as tf.Tensor2D, p.W_fc2 as tf.Tensor2D), p.b_fc2);
}

/** Summed softmax cross-entropy with one-hot labels. */
function xent(z: T, onehot: T): T {
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), onehot)));
}

/**
 * The IG path loss of docs/spec.md §3, summed: `−log(clip(softmax(z)[y], 1e−10, 1))`.
 * Without `clip`: `−log softmax(z)[y]`, the same where the clip is inactive (TF.js cannot
 * differentiate the clip's gradient: it has no gradient for `LogicalAnd`).
 */
function pathLoss(z: T, onehot: T, clip: boolean): T {
  if (!clip) return xent(z, onehot);
  const py = tf.sum(tf.mul(tf.softmax(z), onehot), -1);
  return tf.neg(tf.sum(tf.log(tf.clipByValue(py, 1e-10, 1))));
}

function oneHot(labels: Int32Array, rows = labels.length): T {
  const v = new Float32Array(rows * CLASSES);
  for (let i = 0; i < rows; i++) v[i * CLASSES + labels[i % labels.length]] = 1;
  return tf.tensor2d(v, [rows, CLASSES]);
}

/** Starts TF.js on `backend` and returns the report head and a workload factory. */
export async function tfjsSystem(
  settings: BenchSettings,
  backend: "webgpu" | "wasm" | "cpu",
): Promise<{
  head: Omit<SystemReport, "workloads">;
  setup: (id: WorkloadId) => Workload;
}> {
  let device: string = backend;
  if (backend === "webgpu") {
    await import("@tensorflow/tfjs-backend-webgpu");
  } else if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // the .wasm files ship inside the package; load them from where it was installed
    const dir = new URL(
      "./dist/",
      import.meta.resolve("@tensorflow/tfjs-backend-wasm/package.json"),
    );
    wasm.setWasmPaths(dir.pathname);
  }
  if (!(await tf.setBackend(backend))) {
    throw new Error(`tf.setBackend("${backend}") returned false (the backend did not start)`);
  }
  await tf.ready();
  if (tf.getBackend() !== backend) {
    throw new Error(`TF.js runs on "${tf.getBackend()}" instead of "${backend}"`);
  }
  if (backend === "webgpu") {
    // deno-lint-ignore no-explicit-any
    const info = (tf.backend() as any).adapterInfo;
    if (info) device = `webgpu (vendor ${info.vendor ?? "?"})`;
  }
  const host = benchParams();
  const inp = benchInputs();
  const params = (): P => {
    const p: P = {};
    for (const k of PARAM_NAMES) p[k] = tf.tensor(host[k].data.slice(), host[k].shape);
    return p;
  };
  const arr = (t: { data: Float32Array; shape: number[] }) => tf.tensor(t.data, t.shape);
  const readF = async (t: T) => new Float32Array(await t.data());

  const trainStep = (objective: "nat" | "ar"): Workload => {
    const m = settings.m;
    let p = params();
    let mom: P = {}, vel: P = {};
    for (const k of PARAM_NAMES) {
      mom[k] = tf.zeros(host[k].shape);
      vel[k] = tf.zeros(host[k].shape);
    }
    const x = arr(inp.x), xadv = arr(inp.xadv), y = oneHot(inp.labels);
    // path points as [m, B, 784] (rank 3: see `pool`)
    const alphas = tf.tensor(Float32Array.from({ length: m }, (_, k) => (k + 1) / m), [m, 1, 1]);
    const yz = oneHot(inp.labels, m * BATCH);
    let form: PoolForm = "maxPool";
    const tried: string[] = [];

    /** `[xent(x), IG_term(x, x')]`, differentiable in the weights (second order). */
    const arParts = (pp: P): [T, T] => {
      const ce = xent(logits(pp, x, form), y);
      const diff = tf.sub(xadv, x);
      const flat = [1, BATCH, SIZE * SIZE];
      const z = tf.reshape(
        tf.add(tf.reshape(x, flat), tf.mul(alphas, tf.reshape(diff, flat))),
        [m * BATCH, SIZE, SIZE, 1],
      );
      const g = tf.grad((zz: T) => pathLoss(logits(pp, zz, form), yz, form === "maxPool"))(z);
      const gsum = tf.reshape(tf.sum(tf.reshape(g, [m, BATCH, SIZE * SIZE]), 0), x.shape);
      return [ce, tf.sum(tf.abs(tf.mul(tf.mul(diff, gsum), 1 / m)))];
    };
    const lossOf = (...vals: T[]): T => {
      const pp: P = Object.fromEntries(PARAM_NAMES.map((k, i) => [k, vals[i]]));
      if (objective === "nat") return xent(logits(pp, x, form), y);
      const [ce, term] = arParts(pp);
      return tf.add(ce, tf.mul(term, LAMBDA));
    };

    let t = 0;
    const self: Workload = {
      async run(first) {
        t++;
        const lrT = LEARNING_RATE * Math.sqrt(1 - ADAM.beta2 ** t) / (1 - ADAM.beta1 ** t);
        const { beta1: b1, beta2: b2, epsilon: eps } = ADAM;
        let r: { loss: T; g: P; p: P; m: P; v: P };
        for (;;) {
          try {
            r = tf.tidy(() => {
              const { value, grads } = tf.valueAndGrads(lossOf)(PARAM_NAMES.map((k) => p[k]));
              const g: P = {}, np2: P = {}, nm: P = {}, nv: P = {};
              PARAM_NAMES.forEach((k, i) => {
                g[k] = grads[i];
                nm[k] = tf.add(tf.mul(mom[k], b1), tf.mul(grads[i], 1 - b1));
                nv[k] = tf.add(tf.mul(vel[k], b2), tf.mul(tf.square(grads[i]), 1 - b2));
                np2[k] = tf.sub(p[k], tf.div(tf.mul(nm[k], lrT), tf.add(tf.sqrt(nv[k]), eps)));
              });
              return { loss: value, g, p: np2, m: nm, v: nv };
            });
            break;
          } catch (e) {
            const noGrad = /gradient function not found/.test(errorText(e));
            if (!first || objective !== "ar" || form !== "maxPool" || !noGrad) throw e;
            tried.push(`as written: ${errorText(e)}`);
            self.note = tried.join("; ");
            form = "absMax";
          }
        }
        tf.dispose([p, mom, vel] as unknown as tf.TensorContainer);
        p = r.p;
        mom = r.m;
        vel = r.v;
        // reading an updated weight waits for everything queued before it
        await p.b_fc2.data();
        let out: Outputs | undefined;
        if (first) {
          out = { scalars: { loss: (await r.loss.data())[0] }, tensors: {} };
          if (objective === "ar") {
            const [ce, term] = tf.tidy(() => arParts(params()));
            out.scalars.xent = (await ce.data())[0];
            out.scalars.ig_term = (await term.data())[0];
            tf.dispose([ce, term]);
            self.note = tried.length
              ? `${tried.join("; ")}; ran with max-pool as (a+b+|a−b|)/2 and the path loss's ` +
                "1e-10 clip left out (TF.js has no gradient for MaxPoolGrad, Equal, LogicalAnd)"
              : "ran with tf.maxPool";
          } else out.scalars.xent = out.scalars.loss;
          for (const k of PARAM_NAMES) out.tensors[`grad.${k}`] = await readF(r.g[k]);
          let l1 = 0;
          for (const k of PARAM_NAMES) {
            const after = await p[k].data();
            const before = host[k].data;
            for (let i = 0; i < after.length; i++) l1 += Math.abs(after[i] - before[i]);
          }
          out.scalars.adam_update_l1 = l1;
        }
        tf.dispose([r.loss, r.g] as unknown as tf.TensorContainer);
        return out;
      },
      dispose() {
        tf.dispose([p, mom, vel, x, xadv, y, yz, alphas] as unknown as tf.TensorContainer);
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
        const lo = tf.maximum(tf.sub(x, EPSILON), 0), hi = tf.minimum(tf.add(x, EPSILON), 1);
        return {
          async run(first) {
            const { loss, g, next } = tf.tidy(() => {
              const { value, grad } = tf.valueAndGrad((z: T) => xent(logits(p, z, "maxPool"), y))(
                xa,
              );
              const next = tf.minimum(
                tf.maximum(tf.add(xa, tf.mul(tf.sign(grad), STEP_SIZE)), lo),
                hi,
              );
              return { loss: value, g: grad, next };
            });
            await next.data();
            let out: Outputs | undefined;
            if (first) {
              out = {
                scalars: { loss: (await loss.data())[0] },
                tensors: { grad_x: await readF(g), x_next: await readF(next) },
              };
            }
            tf.dispose([loss, g, next]);
            return out;
          },
          dispose: () => tf.dispose([...Object.values(p), x, xa, y, lo, hi]),
        };
      }
      case "W3": {
        const n = settings.igSteps;
        const p = params();
        const img = arr(inp.image);
        const yn = oneHot(inp.imageLabel, n);
        const alphas = tf.tensor(Float32Array.from({ length: n }, (_, i) => (i + 1) / n), [
          n,
          1,
          1,
          1,
        ]);
        return {
          async run(first) {
            const { attr, map } = tf.tidy(() => {
              const z = tf.mul(alphas, img);
              const g = tf.grad((zz: T) => tf.sum(tf.mul(logits(p, zz, "maxPool"), yn)))(z);
              const attr = tf.mul(tf.mean(g, 0, true), img);
              const s = tf.abs(attr);
              return { attr, map: tf.mul(tf.div(s, tf.sum(s)), SIZE * SIZE) };
            });
            const a = await readF(attr);
            let out: Outputs | undefined;
            if (first) {
              out = {
                scalars: { ig_sum: a.reduce((s, v) => s + v, 0) },
                tensors: { ig: a, saliency: await readF(map) },
              };
            }
            tf.dispose([attr, map]);
            return out;
          },
          dispose: () => tf.dispose([...Object.values(p), img, yn, alphas]),
        };
      }
    }
  };
  return {
    head: {
      system: backend === "webgpu" ? "tfjs" : `tfjs-${backend}`,
      label: `TF.js ${VERSION} (${backend})`,
      device,
    },
    setup,
  };
}
