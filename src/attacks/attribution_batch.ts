/**
 * The attribution attack of docs/spec.md §8 on a batch of images (see `attribution.ts` for how docs/spec.md §8
 * is read). Every correctly classified image is attacked at once: the images' IG path points
 * share dispatches, in groups sized by the memory planner (`src/rar/planner.ts`), while each
 * image keeps its own state (current image, best criterion and image, label changes, repeats)
 * and its own `random` seed. An image's trajectory depends only on that image: the result of
 * image b equals that of the one-image attack of b alone (up to the summation order of batched
 * products, see `tests/attacks/attribution_batch_test.ts`).
 *
 * The attack state lives on the host between steps (an image is 784 floats on MNIST): each
 * step uploads the current images of a group, computes their directions, steps and
 * predictions on the GPU, and reads them back, so the ReLU saliency maps are taken of exactly
 * the images whose label is unchanged without gathering on the GPU.
 * @module
 */

import { type Tensor, tensor, tidy } from "../tensor.ts";
import { add, argMax, clip, mul, reshape, sign, slice, sub, topKMask } from "../ops/mod.ts";
import type { Model, Params } from "../nn/model.ts";
import { saliencyMap } from "../attribution/saliency.ts";
import {
  kendallTauB,
  massCenterMeasure,
  spearman,
  topKIntersection,
} from "../attribution/metrics.ts";
import { hash01 } from "../io/hash.ts";
import { runtime } from "../gpu/runtime.ts";
import { planChunks } from "../rar/planner.ts";
import { ATTRIBUTION_ATTACK_MEASURES, ATTRIBUTION_ATTACK_METHODS, isOneOf } from "../vocabulary.ts";
import {
  attackDirection,
  countNonZeroSaliency,
  type DirectionSetup,
  topKDegenerate,
} from "./directions.ts";
import type {
  AttributionAttackConfig,
  AttributionAttackRepeat,
  AttributionAttackResult,
} from "./attribution.ts";

/** Seed of the `random` directions of repeat `repeat`. */
export function repeatSeed(seed: number, repeat: number): number {
  return Math.floor(hash01(seed >>> 0, repeat) * 2 ** 32) >>> 0;
}

/** The docs/spec.md §8 warning for a `topK` attack whose mask covers every non-zero saliency entry. */
export function topKDegenerateWarning(kTop: number, nonZero: number): string {
  return `topK attack: k_top = ${kTop} is at least the ${nonZero} non-zero entries of the ` +
    `image's saliency map, so the top-k mask covers all of them and the topK direction is ` +
    `exactly zero: the attack leaves the image unchanged (docs/spec.md §8). Use a smaller k_top.`;
}

/** Problems of the settings `cfg` for images of `hw` pixels (empty when valid). */
export function attackConfigProblems(cfg: AttributionAttackConfig, hw: number): string[] {
  const bad: string[] = [];
  const int = (v: number, lo: number, hi: number, what: string) => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      bad.push(`${what} must be an integer in [${lo}, ${hi}], got ${v}`);
    }
  };
  const nonNeg = (v: number, what: string) => {
    if (!(Number.isFinite(v) && v >= 0)) bad.push(`${what} must be finite and ≥ 0, got ${v}`);
  };
  int(cfg.kTop, 1, hw, "k_top");
  int(cfg.evalKTop, 1, hw, "eval_k_top");
  int(cfg.igSteps, 1, Number.MAX_SAFE_INTEGER, "num_IG_steps");
  int(cfg.steps, 0, Number.MAX_SAFE_INTEGER, "attribution_attack_steps");
  int(cfg.times, 1, Number.MAX_SAFE_INTEGER, "attribution_attack_times");
  nonNeg(cfg.stepSize, "attribution_attack_step_size");
  nonNeg(cfg.epsilon, "epsilon");
  if (!(cfg.pixelMax > 0)) bad.push(`pixelMax must be positive, got ${cfg.pixelMax}`);
  if (!isOneOf(ATTRIBUTION_ATTACK_METHODS, cfg.method)) {
    bad.push(
      `attribution_attack_method must be one of ${ATTRIBUTION_ATTACK_METHODS.join(", ")}; got ${
        JSON.stringify(cfg.method)
      }`,
    );
  }
  if (!isOneOf(ATTRIBUTION_ATTACK_MEASURES, cfg.measure)) {
    bad.push(
      `attribution_attack_measure must be one of ${ATTRIBUTION_ATTACK_MEASURES.join(", ")}; got ${
        JSON.stringify(cfg.measure)
      }`,
    );
  }
  if (cfg.target && cfg.target.length !== hw) {
    bad.push(`the target map has ${cfg.target.length} entries, expected H·W = ${hw}`);
  }
  if (cfg.stepsPerChunk !== undefined) {
    int(cfg.stepsPerChunk, 1, Number.MAX_SAFE_INTEGER, "stepsPerChunk");
  }
  return bad;
}

/** Options of {@linkcode attributionAttackBatch}. */
export interface AttributionBatchOptions {
  /**
   * Seed of image b's `random` directions (default: `cfg.seed` for every image). Image b then
   * draws what the one-image attack with `seed: seeds[b]` draws.
   */
  seeds?: readonly number[];
  /** Memory budget in bytes for the path points processed at once (`memory_budget_mb`). */
  memoryBudgetBytes?: number;
  /** At most this many path points at once (e.g. to test the grouping). */
  maxChunkPoints?: number;
  /** Called after each attack step of the batch (0-based repeat and step). */
  onStep?: (repeat: number, step: number) => void;
}

/** First index of the lowest value, a NaN counting as lowest (NumPy's `argmin`). */
function argminNumpy(v: number[]): number {
  const nan = v.findIndex(Number.isNaN);
  if (nan >= 0) return nan;
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[best]) best = i;
  return best;
}

/** One repeat's outcome for one image, with the host arrays of its best image. */
interface Once extends AttributionAttackRepeat {
  perturbed: Float32Array;
  saliency: Float32Array;
}

/** An image's state during one repeat. */
interface Track {
  xt: Float32Array;
  best: { step: number; criterion: number; x: Float32Array; s: Float32Array } | null;
  labelChanges: number;
}

/** `[0, n)` in consecutive runs of at most `size`. */
function runs(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a < n; a += size) out.push([a, Math.min(n, a + size)]);
  return out;
}

/** Reads a tensor to the host and releases it. */
async function take(t: Tensor): Promise<Float32Array | Int32Array> {
  try {
    return await t.data();
  } finally {
    t.dispose();
  }
}

/**
 * Attacks the attribution of the images `x [B, H, W, C]` with true labels `labels` (docs/spec.md §8),
 * all at once, and returns one result per image, in order: `{attacked: false}` for the images
 * the ReLU network misclassifies, else what `attributionAttack` returns for the image alone
 * with its seed `opts.seeds[b]` (see the module documentation).
 *
 * Path points are processed in groups that the memory planner sizes from `memoryBudgetBytes`
 * and the device's buffer limit: the attack directions of `⌊cap / num_IG_steps⌋` images at a
 * time (one image's path is never split there: the saliency's normalisation couples its path
 * points), the ReLU saliency maps of up to `⌊cap / c⌋` images in chunks of `c` counterfactuals
 * (`c = min(stepsPerChunk, num_IG_steps, cap)`), where `cap` is the planner's number of path
 * points per chunk. The images whose label is unchanged after a step go to the saliency maps
 * in runs of {@linkcode pow2Runs}, so that the pool of GPU buffers does not grow with every
 * count of them. Every tensor created here is released before returning.
 * @throws Error for invalid settings (naming each), or a `target` method without a target map.
 */
export async function attributionAttackBatch(
  model: Model,
  params: Params,
  x: Tensor,
  labels: ArrayLike<number>,
  cfg: AttributionAttackConfig,
  opts: AttributionBatchOptions = {},
): Promise<AttributionAttackResult[]> {
  const bad: string[] = [];
  if (x.rank !== 4 || x.shape[0] < 1) bad.push(`x must be images [B, H, W, C], got [${x.shape}]`);
  const B = x.rank === 4 ? x.shape[0] : 0;
  if (labels.length !== B) bad.push(`${labels.length} labels for ${B} images`);
  for (let b = 0; b < labels.length; b++) {
    if (!Number.isInteger(labels[b]) || labels[b] < 0) {
      bad.push(`label ${b} must be a non-negative integer, got ${labels[b]}`);
      break;
    }
  }
  if (opts.seeds && opts.seeds.length !== B) {
    bad.push(`${opts.seeds.length} seeds for ${B} images`);
  }
  bad.push(...attackConfigProblems(cfg, x.rank === 4 ? x.shape[1] * x.shape[2] : 0));
  if (bad.length) throw new Error(`attributionAttackBatch: ${bad.join("; ")}`);
  return await attackBatch(model, params, x, Array.from(labels), cfg, opts);
}

/**
 * `[0, n)` in consecutive runs of `size`, then of decreasing powers of two below it: however
 * many images are left, their runs take at most `1 + log2(size)` distinct lengths, so the
 * buffers of the runs' tensors come back from the pool instead of new ones for every length.
 */
export function pow2Runs(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  let a = 0;
  for (; a + size <= n; a += size) out.push([a, a + size]);
  for (let p = 2 ** Math.floor(Math.log2(size)); a < n; p /= 2) {
    if (a + p <= n) {
      out.push([a, a + p]);
      a += p;
    }
  }
  return out;
}

/** Concatenates the host images `imgs[a..b)` (each `size` floats). */
function stack(imgs: readonly Float32Array[], a: number, b: number, size: number): Float32Array {
  const out = new Float32Array((b - a) * size);
  for (let j = a; j < b; j++) out.set(imgs[j], (j - a) * size);
  return out;
}

async function attackBatch(
  model: Model,
  params: Params,
  x: Tensor,
  labels: number[],
  cfg: AttributionAttackConfig,
  opts: AttributionBatchOptions,
): Promise<AttributionAttackResult[]> {
  const [B, H, W, C] = x.shape;
  const HW = H * W, pix = HW * C;
  if (cfg.method === "target" && !cfg.target) {
    throw new Error("the target attack needs a target map (H×W)");
  }
  // path points per image, and the planner's cap on the path points processed at once
  const m = cfg.saliencyType === "ig" ? cfg.igSteps : 1;
  const cap = planChunks(model, 1, B * m, {
    maxTensorBytes: runtime().maxTensorBytes,
    memoryBudgetBytes: opts.memoryBudgetBytes,
    maxChunkPoints: opts.maxChunkPoints,
  }).chunkPoints;
  const perAlpha = Math.min(cfg.stepsPerChunk ?? m, m, cap);
  const dirImages = Math.max(1, Math.floor(cap / m));
  const salImages = Math.max(1, Math.floor(cap / perAlpha));

  const results: AttributionAttackResult[] = new Array(B);
  const owned: Tensor[] = [];
  const own = <T extends Tensor>(t: T): T => {
    owned.push(t.keep());
    return t;
  };
  const disposers: (() => void)[] = [];
  const labelTensor = (ls: number[]) => tensor(new Int32Array(ls), [ls.length]);
  try {
    // the originals' predictions (a forward pass per group of at most `cap` images)
    const predicted: number[] = [];
    for (const [a, b] of runs(B, cap)) {
      const p = tidy(() =>
        argMax(model.logits(params, b - a === B ? x : slice(x, [a, 0, 0, 0], [b - a, H, W, C])))
      );
      predicted.push(...await take(p));
    }
    const hit: number[] = [];
    for (let b = 0; b < B; b++) {
      if (predicted[b] === labels[b]) hit.push(b);
      else {
        results[b] = { attacked: false, label: labels[b], predicted: predicted[b], warnings: [] };
      }
    }
    const n = hit.length;
    if (n === 0) return results;
    const hostX = await x.data() as Float32Array;
    const originals = hit.map((b) => hostX.slice(b * pix, (b + 1) * pix));
    const hitLabels = hit.map((b) => labels[b]);

    /** ReLU saliency maps of the images `imgs` of the attacked images `who`. */
    const reluSaliency = async (imgs: Float32Array[], who: number[]): Promise<Float32Array[]> => {
      // every chunk is queued before the first is read, so the device never waits for the host
      const maps = pow2Runs(who.length, salImages).map(([a, b]) =>
        tidy(() =>
          saliencyMap(
            model,
            params,
            tensor(stack(imgs, a, b, pix), [b - a, H, W, C]),
            labelTensor(who.slice(a, b).map((j) => hitLabels[j])),
            cfg.saliencyType,
            { activation: "relu", steps: cfg.igSteps, stepsPerChunk: perAlpha },
          )
        )
      );
      const out: Float32Array[] = [];
      for (const [k, s] of maps.entries()) {
        const v = await take(s).catch((e) => {
          for (const rest of maps.slice(k + 1)) rest.dispose();
          throw e;
        });
        for (let j = 0; j < s.shape[0]; j++) {
          out.push(v.slice(j * HW, (j + 1) * HW) as Float32Array);
        }
      }
      return out;
    };

    const all = hit.map((_, j) => j);
    const original = await reluSaliency(originals, all);
    const s0 = own(tensor(stack(original, 0, n, HW), [n, H, W]));
    const nonZero = await countNonZeroSaliency(s0);
    const warnings = all.map((j) =>
      cfg.method === "topK" && topKDegenerate(nonZero[j], cfg.kTop)
        ? [topKDegenerateWarning(cfg.kTop, nonZero[j])]
        : []
    );

    // the target map as [1, H, W], broadcast over each group's images
    const target = cfg.target ? own(tensor(cfg.target, [1, H, W])) : undefined;
    // groups of images whose directions are computed together, each with its originals,
    // labels and (except for random) its direction, shared by the repeats
    const groups = runs(n, dirImages).map(([a, b]) => {
      const setup: DirectionSetup = {
        model,
        params,
        x: own(tensor(stack(originals, a, b, pix), [b - a, H, W, C])),
        labels: own(labelTensor(hitLabels.slice(a, b))),
        saliencyType: cfg.saliencyType,
        steps: cfg.igSteps,
        kTop: cfg.kTop,
        target,
        // the ReLU top-k masks of the originals, from the saliency maps computed above
        referenceMask: cfg.method === "topK"
          ? own(
            tidy(() =>
              topKMask(reshape(slice(s0, [a, 0, 0], [b - a, H, W]), [b - a, HW]), cfg.kTop)
            ),
          )
          : undefined,
      };
      const shared = cfg.method === "random" ? null : attackDirection(cfg.method, setup);
      if (shared) disposers.push(shared.dispose);
      return { a, b, setup, shared };
    });

    const measure = (j: number, s: Float32Array): number => {
      switch (cfg.measure) {
        case "intersection":
          return topKIntersection(original[j], s, cfg.kTop);
        case "spearman":
          return spearman(original[j], s);
        case "kendall":
          return kendallTauB(original[j], s);
        case "mass_center":
          return massCenterMeasure(original[j], s, H, W);
      }
    };
    const seedOf = (j: number) => opts.seeds?.[hit[j]] ?? cfg.seed;
    const { stepSize: alpha, epsilon: eps, pixelMax } = cfg;

    /** One repeat for every attacked image. */
    const once = async (repeat: number): Promise<Once[]> => {
      const tracks: Track[] = originals.map((o) => ({ xt: o, best: null, labelChanges: 0 }));
      const dirs = groups.map((g) =>
        g.shared ??
          attackDirection(
            "random",
            g.setup,
            all.slice(g.a, g.b).map((j) => repeatSeed(seedOf(j), repeat)),
          )
      );
      try {
        for (let step = 0; step < cfg.steps; step++) {
          // every group's step and prediction are queued before the first is read
          const stepped = groups.map((g, gi) =>
            tidy(() => {
              const x0 = g.setup.x;
              const prev = tensor(stack(tracks.map((t) => t.xt), g.a, g.b, pix), x0.shape);
              const p = sign(dirs[gi].direction(prev, step));
              const delta = clip(sub(add(prev, mul(p, alpha)), x0), -eps, eps);
              const next = clip(add(x0, delta), 0, pixelMax);
              return { next, pred: argMax(model.logits(params, next)) };
            })
          );
          const kept: number[] = [];
          try {
            for (const [gi, g] of groups.entries()) {
              const { next, pred } = stepped[gi];
              const pv = await take(pred);
              const nv = await take(next);
              for (let j = g.a; j < g.b; j++) {
                tracks[j].xt = nv.slice((j - g.a) * pix, (j - g.a + 1) * pix) as Float32Array;
                if (pv[j - g.a] !== hitLabels[j]) tracks[j].labelChanges++;
                else kept.push(j);
              }
            }
          } finally {
            for (const t of stepped) {
              t.next.dispose();
              t.pred.dispose();
            }
          }
          // the criterion: the measure where the label is unchanged, else 1
          const maps = kept.length ? await reluSaliency(kept.map((j) => tracks[j].xt), kept) : [];
          const sal = new Map(kept.map((j, k) => [j, maps[k]]));
          for (const [j, t] of tracks.entries()) {
            const s = sal.get(j);
            const criterion = s ? measure(j, s) : 1;
            if (criterion < (t.best?.criterion ?? 1)) {
              t.best = { step, criterion, x: t.xt, s: s! };
            }
          }
          opts.onStep?.(repeat, step);
        }
      } finally {
        for (const [gi, g] of groups.entries()) if (!g.shared) dirs[gi].dispose();
      }
      return tracks.map((t, j): Once => {
        if (!t.best) {
          return {
            intersection: 1,
            spearman: 1,
            kendall: 1,
            criterion: 1,
            unchanged: true,
            bestStep: -1,
            labelChanges: t.labelChanges,
            perturbed: originals[j].slice(),
            saliency: original[j],
          };
        }
        const s = t.best.s;
        return {
          intersection: topKIntersection(original[j], s, cfg.evalKTop),
          spearman: spearman(original[j], s),
          kendall: kendallTauB(original[j], s),
          criterion: t.best.criterion,
          unchanged: false,
          bestStep: t.best.step,
          labelChanges: t.labelChanges,
          perturbed: t.best.x,
          saliency: s,
        };
      });
    };

    // every image's repeats; only the host arrays of the repeat that can still count are kept
    const reps: Once[][] = all.map(() => []);
    for (let r = 0; r < cfg.times; r++) {
      const outcome = await once(r);
      for (const j of all) {
        const runsJ = reps[j];
        const keepIdx = argminNumpy([...runsJ.map((q) => q.kendall), outcome[j].kendall]);
        runsJ.push(outcome[j]);
        for (let i = 0; i < runsJ.length; i++) {
          if (i !== keepIdx) {
            runsJ[i].perturbed = new Float32Array(0);
            runsJ[i].saliency = new Float32Array(0);
          }
        }
      }
    }
    for (const j of all) {
      const repeats: AttributionAttackRepeat[] = reps[j].map((o) => ({
        intersection: o.intersection,
        spearman: o.spearman,
        kendall: o.kendall,
        criterion: o.criterion,
        unchanged: o.unchanged,
        bestStep: o.bestStep,
        labelChanges: o.labelChanges,
      }));
      const bestRepeat = argminNumpy(repeats.map((o) => o.kendall));
      const chosen = reps[j][bestRepeat];
      results[hit[j]] = {
        attacked: true,
        label: hitLabels[j],
        predicted: hitLabels[j],
        ...repeats[bestRepeat],
        bestRepeat,
        repeats,
        originalSaliency: original[j],
        attackedSaliency: chosen.saliency,
        perturbed: chosen.perturbed,
        nonZeroSaliency: nonZero[j],
        warnings: warnings[j],
      };
    }
    return results;
  } finally {
    for (const d of disposers) d();
    for (const t of owned) t.dispose();
  }
}
