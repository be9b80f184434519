/**
 * The comparison workloads W1–W5 shared by every system of `deno task bench`: their settings,
 * the hashed weights and inputs every system starts from (identical bytes), the result format a
 * system's subprocess writes, and the timing helper.
 *
 * - W1: natural training step of the MNIST CNN (docs/spec.md §2), batch 50: summed xent, its
 *   gradient w.r.t. every weight, one Adam update (docs/spec.md §6).
 * - W2: one PGD step on xent (docs/spec.md §5): `∂xent/∂x'`, `x' += a·sign(g)`, projection to
 *   the ε-ball and to `[0, 1]`.
 * - W3: IG saliency (docs/spec.md §7, zero reference) of one image with `igSteps` counterfactuals.
 * - W4: the IG-NORM training step (`ar`, docs/spec.md §4): `xent(x) + λ·IG_term(x, x')` with
 *   `m` path points, its gradient w.r.t. every weight (second order), one Adam update.
 * - W5: the attribution attack (docs/spec.md §8, `topK`, measure `kendall`) of the first MNIST
 *   test images, each labelled with the network's own prediction so that every image is attacked:
 *   the batched attack of all images at once and the one-image attack of each in turn,
 *   alternating in one process (ours only: the peers have no correct second-order gradient,
 *   see W4).
 *
 * Pure TypeScript apart from file output: peers' subprocesses import it without the engine.
 * @module
 */

import { hash01, hashed } from "../src/io/hash.ts";

/** Workload ids, in table order. */
export const WORKLOADS = ["W1", "W2", "W3", "W4", "W5"] as const;
/** A workload id. */
export type WorkloadId = typeof WORKLOADS[number];

/** One-line descriptions for the table. */
export const WORKLOAD_TITLES: Record<WorkloadId, string> = {
  W1: "natural training step (xent, Adam)",
  W2: "PGD xent step (∂x, sign, project)",
  W3: "IG saliency, 1 image",
  W4: "IG-NORM training step (ar, 2nd order)",
  W5: "attribution attack (topK), batched",
};

/** Workloads only ours runs (the peers have no correct attack, see W4). */
export const OURS_ONLY: readonly WorkloadId[] = ["W5"];

/** Why a peer does not run W5. */
export const NO_ATTACK =
  "not run: the attribution attack's direction is a second-order gradient, which this " +
  "peer does not compute correctly (see W4), so it has no correct attack to time";

/** Batch size of W1, W2 and W4. */
export const BATCH = 50;
/** Image side and channels of the MNIST CNN. */
export const SIZE = 28;
/** Classes of the MNIST CNN. */
export const CLASSES = 10;
/** PGD radius ε (MNIST scale). */
export const EPSILON = 0.3;
/** PGD step size `a`. */
export const STEP_SIZE = 0.01;
/** λ of the `ar` objective. */
export const LAMBDA = 1;
/** Adam learning rate (docs/spec.md §6). */
export const LEARNING_RATE = 1e-4;
/** Adam β₁, β₂, ε (docs/spec.md §6). */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** Settings of one bench run. */
export interface BenchSettings {
  /** Timed repetitions per workload (after one warm-up call whose outputs are compared). */
  reps: number;
  /** Counterfactuals of W3. */
  igSteps: number;
  /** Path points `m` of W4. */
  m: number;
  /**
   * Skip a workload's further timed repetitions when they would end past this many ms (one
   * always runs): a peer's W4 step can take minutes on a software adapter.
   */
  budgetMs: number;
  /** W5's attack. */
  attack: AttackSettings;
}

/** W5: the attribution attack's settings (docs/spec.md §8; config keys in brackets). */
export interface AttackSettings {
  /** The first MNIST test images attacked. */
  images: number;
  /** IG steps of the saliency maps [`num_IG_steps`]. */
  igSteps: number;
  /** Attack steps [`attribution_attack_steps`]. */
  steps: number;
  /** Step size [`attribution_attack_step_size`]. */
  stepSize: number;
  /** L∞ radius [`epsilon`]. */
  epsilon: number;
  /** Size of the top-k mask [`k_top`, `eval_k_top`]. */
  kTop: number;
  /**
   * Like `budgetMs`, for W5, one of whose calls runs both attacks: long enough for two calls
   * (one in each order) at the full settings.
   */
  budgetMs: number;
}

/** Settings of `deno task bench` and of `--quick`. */
export function benchSettings(quick: boolean): BenchSettings {
  return quick
    ? {
      reps: 1,
      igSteps: 10,
      m: 2,
      budgetMs: 60_000,
      attack: {
        images: 4,
        igSteps: 10,
        steps: 3,
        stepSize: 0.01,
        epsilon: 0.3,
        kTop: 50,
        budgetMs: 60_000,
      },
    }
    : {
      reps: 3,
      igSteps: 100,
      m: 10,
      budgetMs: 180_000,
      attack: {
        images: 20,
        igSteps: 30,
        steps: 15,
        stepSize: 0.01,
        epsilon: 0.3,
        kTop: 50,
        budgetMs: 720_000,
      },
    };
}

/** A host tensor (row-major). */
export interface HostTensor {
  /** Shape. */
  shape: number[];
  /** Values. */
  data: Float32Array;
}

/**
 * The MNIST CNN's parameters in docs/spec.md §2 order: name, shape, hash seed, scale
 * (`sqrt(6/fan_in)`).
 */
export const PARAM_SPECS: readonly (readonly [string, number[], number, number])[] = [
  ["W_conv1", [5, 5, 1, 32], 100, Math.sqrt(6 / 25)],
  ["b_conv1", [32], 101, 0.1],
  ["W_conv2", [5, 5, 32, 64], 102, Math.sqrt(6 / 800)],
  ["b_conv2", [64], 103, 0.1],
  ["W_fc1", [3136, 1024], 104, Math.sqrt(6 / 3136)],
  ["b_fc1", [1024], 105, 0.1],
  ["W_fc2", [1024, 10], 106, Math.sqrt(6 / 1024)],
  ["b_fc2", [10], 107, 0.1],
];

/** Parameter names in docs/spec.md §2 order. */
export const PARAM_NAMES: readonly string[] = PARAM_SPECS.map((s) => s[0]);

/** The weights every system starts from: `hashed(seed, shape, scale)` per parameter. */
export function benchParams(): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, shape, seed, scale] of PARAM_SPECS) {
    out[name] = { shape: [...shape], data: hashed(seed, shape, scale) };
  }
  return out;
}

function clip01(v: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) v[i] = Math.min(1, Math.max(0, v[i]));
  return v;
}

/** The inputs every system uses. */
export interface BenchInputs {
  /** Natural images `[50, 28, 28, 1]` in `[0, 1]`. */
  x: HostTensor;
  /** Labels `[50]` in `0..9`. */
  labels: Int32Array;
  /** The PGD iterate of W2, inside the ε-ball around `x` and in `[0, 1]`. */
  xPgd: HostTensor;
  /** The perturbed batch `x'` of W4, inside the ε-ball around `x` and in `[0, 1]`. */
  xadv: HostTensor;
  /** The image of W3 `[1, 28, 28, 1]` (image 0 of `x`). */
  image: HostTensor;
  /** Its label. */
  imageLabel: Int32Array;
}

/** Hashed images in `[0, 1]`, labels, and two fixed points of the ε-ball (seeds 200–203). */
export function benchInputs(): BenchInputs {
  const shape = [BATCH, SIZE, SIZE, 1];
  const x = hashed(200, shape, 0.5).map((v) => v + 0.5);
  const labels = new Int32Array(BATCH);
  for (let i = 0; i < BATCH; i++) labels[i] = Math.floor(hash01(201, i) * CLASSES);
  const ball = (seed: number) => {
    const d = hashed(seed, shape, EPSILON);
    return clip01(x.map((v, i) => v + d[i]));
  };
  const n1 = SIZE * SIZE;
  return {
    x: { shape, data: x },
    labels,
    xPgd: { shape, data: ball(203) },
    xadv: { shape, data: ball(202) },
    image: { shape: [1, SIZE, SIZE, 1], data: x.slice(0, n1) },
    imageLabel: labels.slice(0, 1),
  };
}

/** What one call of a workload produced (compared between systems). */
export interface Outputs {
  /** Scalars (losses, sums). */
  scalars: Record<string, number>;
  /** Tensors (gradients, images), flattened. */
  tensors: Record<string, Float32Array>;
}

/** A workload's timings or error, and the outputs of its first call. */
export interface WorkloadReport {
  /** Wall-clock ms of the timed repetitions. */
  ms: number[];
  /** Wall-clock ms of the first (warm-up, compiling) call. */
  firstMs?: number;
  /** Why the workload could not run. */
  error?: string;
  /** Scalars of the first call. */
  scalars?: Record<string, number>;
  /** Tensor outputs of the first call: name → file (raw float32, little-endian) in the folder. */
  tensors?: Record<string, { file: string; length: number }>;
  /** Remarks (how the system was made to run it). */
  note?: string;
  /** W5: ms of the one-image attack of every image, timed alternately with `ms`. */
  baselineMs?: number[];
}

/** What a system's subprocess writes as `report.json` (rewritten after every workload). */
export interface SystemReport {
  /** Id (`ours`, `jax`, `tfjs`, `tfjs-wasm`). */
  system: string;
  /** Name and version for the table. */
  label: string;
  /** Device or adapter description. */
  device: string;
  /** Why the system could not start at all. */
  error?: string;
  /** Per workload. */
  workloads: Partial<Record<WorkloadId, WorkloadReport>>;
}

/** The median of `xs` (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/** An error as one line of text. */
export function errorText(e: unknown): string {
  const msg = e instanceof Error
    ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}`
    : String(e);
  return msg.replace(/\s+/g, " ").trim().slice(0, 400);
}

/**
 * A workload of one system: `run(true)` is the first call and returns its outputs; `run(false)`
 * is a timed repetition and must not resolve before the device has finished its work.
 * `dispose` releases what the workload holds before the next one starts.
 */
export interface Workload {
  /** One call. */
  run(first: boolean): Promise<Outputs | void>;
  /** Releases the workload's tensors. */
  dispose?(): void;
  /** A remark for the table (e.g. a workaround the system needed). */
  note?: string;
  /**
   * Times the workload takes of parts of its calls (W5 runs both attacks in each call): when
   * set, they replace the wall-clock of each call in the report, and its scalars are added.
   */
  own?: { ms: number[]; baselineMs: number[]; scalars: Record<string, number> };
  /** Replaces `budgetMs` of the settings for this workload. */
  budgetMs?: number;
}

/**
 * Runs and records a system's workloads in `dir`, rewriting `report.json` after each one so a
 * crash keeps what was measured before it. `setup` returns a workload's runner (or throws).
 */
export async function runSystem(
  dir: string,
  head: Omit<SystemReport, "workloads">,
  settings: BenchSettings,
  setup: (id: WorkloadId) => Promise<Workload> | Workload,
  only: readonly WorkloadId[] = WORKLOADS,
): Promise<SystemReport> {
  const report: SystemReport = { ...head, workloads: {} };
  const save = () => Deno.writeTextFileSync(`${dir}/report.json`, JSON.stringify(report, null, 1));
  save();
  for (const id of only) {
    const w: WorkloadReport = { ms: [] };
    report.workloads[id] = w;
    w.error = "started but did not finish (the process died)";
    save();
    let wl: Workload | undefined;
    try {
      wl = await setup(id);
      if (wl.note) w.note = wl.note;
      const run = (first: boolean) => wl!.run(first);
      let t0 = performance.now();
      const out = await run(true);
      w.firstMs = performance.now() - t0;
      if (out) {
        w.scalars = out.scalars;
        w.tensors = {};
        for (const [name, v] of Object.entries(out.tensors)) {
          const file = `${id}.${name.replaceAll("/", "_")}.f32`;
          Deno.writeFileSync(
            `${dir}/${file}`,
            new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
          );
          w.tensors[name] = { file, length: v.length };
        }
      }
      // stop when the next repetition would likely end past the budget
      let spent = 0;
      const budget = wl.budgetMs ?? settings.budgetMs;
      for (let r = 0; r < settings.reps; r++) {
        if (r > 0 && spent + spent / r > budget) break;
        t0 = performance.now();
        await run(false);
        w.ms.push(performance.now() - t0);
        spent += w.ms[r];
      }
      if (wl.own) {
        w.ms = [...wl.own.ms];
        w.baselineMs = [...wl.own.baselineMs];
        w.scalars = { ...w.scalars, ...wl.own.scalars };
      }
      delete w.error;
      if (wl.note) w.note = wl.note;
    } catch (e) {
      if (wl?.note) w.note = wl.note;
      w.error = errorText(e);
    }
    try {
      wl?.dispose?.();
    } catch (e) {
      console.error(`[${head.system}] ${id}: dispose failed: ${errorText(e)}`);
    }
    save();
    console.error(
      `[${head.system}] ${id}: ${
        w.error
          ? "error: " + w.error
          : `median ${median(w.ms).toFixed(0)} ms (first ${w.firstMs?.toFixed(0)} ms)`
      }`,
    );
  }
  return report;
}
