/**
 * The experiment's report: `report.json` (every number and setting), `report.md` (one table row
 * per model, then the settings) and `comparison.png` (the paper's figure).
 * @module
 */

import { join } from "node:path";
import type { Config } from "../config.ts";
import { OBJECTIVE_PARTS, objectiveRunsPgd } from "../vocabulary.ts";
import type { Dataset } from "../data/mod.ts";
import { atomicWrite } from "../io/files.ts";
import { comparisonFigure, type ComparisonImage, type ComparisonModel } from "../io/figure.ts";
import { formatDuration } from "../train/report.ts";
import type { ExperimentSpec } from "./spec.ts";
import type { FigureRecord, Selection } from "./run.ts";

/** A mean over images with its standard error. */
export interface Estimate {
  /** Mean. */
  mean: number;
  /** Standard error of the mean (NaN for fewer than two values). */
  se: number;
  /** Number of values. */
  n: number;
}

/** One model's row of the report. */
export interface ModelReport {
  /** Run name. */
  name: string;
  /** Training objective. */
  objective: string;
  /** The run or path it was fine-tuned from. */
  initFrom?: string;
  /** Natural accuracy on every test image. */
  naturalAccuracy: number;
  /** Test images of the natural accuracy. */
  naturalExamples: number;
  /** Accuracy under PGD. */
  pgdAccuracy: number;
  /** Test images of the PGD accuracy. */
  pgdExamples: number;
  /** Top-k intersection over the attacked images. */
  intersection: Estimate;
  /** Kendall's τ over the attacked images. */
  kendall: Estimate;
  /** Spearman's ρ over the attacked images. */
  spearman: Estimate;
  /** Images attacked. */
  attacked: number;
  /** Images given to the attack. */
  images: number;
  /** Steps trained and cumulative training time. */
  training: { steps: number; seconds?: number };
  /** The run's configuration. */
  config: Config;
  /** PGD settings. */
  pgdSettings: Record<string, unknown>;
  /** Attribution-attack settings. */
  attackSettings: Record<string, unknown>;
  /** What the figure shows of this model. */
  figure: FigureRecord[];
  /** The metrics of each attacked image, by test-set index. */
  perImage: ReadonlyMap<number, { intersection?: number; kendall?: number; spearman?: number }>;
}

/** Mean and standard error of the mean (sample standard deviation / √n). */
export function meanAndError(values: readonly number[]): Estimate {
  const n = values.length;
  if (!n) return { mean: NaN, se: NaN, n };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, se: NaN, n };
  const v = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(v / n), n };
}

/** The three attribution metrics. */
const METRICS = ["intersection", "kendall", "spearman"] as const;

/**
 * Each metric's per-image difference `model − reference` over the images both attacked (the
 * same images, so the comparison is paired), as mean ± standard error.
 */
export function pairedDifference(
  model: ModelReport,
  reference: ModelReport,
): Record<(typeof METRICS)[number], Estimate> {
  const out = {} as Record<(typeof METRICS)[number], Estimate>;
  for (const k of METRICS) {
    const d: number[] = [];
    for (const [i, r] of model.perImage) {
      const ref = reference.perImage.get(i);
      if (ref && r[k] !== undefined && ref[k] !== undefined) d.push(r[k]! - ref[k]!);
    }
    out[k] = meanAndError(d);
  }
  return out;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "–");
const est = (e: Estimate) =>
  Number.isFinite(e.mean)
    ? `${e.mean.toFixed(3)} ± ${Number.isFinite(e.se) ? e.se.toFixed(3) : "–"}`
    : "–";

/** The settings of a run that tell the objectives apart, in a short line. */
function runSettings(c: Config): string {
  const parts = [`${c.max_num_training_steps} steps of batch ${c.training_batch_size}`];
  if (c.learning_rate !== undefined) parts.push(`Adam ${c.learning_rate}`);
  const objective = OBJECTIVE_PARTS[c.training_objective];
  if (objectiveRunsPgd(c.training_objective)) {
    parts.push(
      `PGD ${c.loss_func} ε ${c.epsilon}, ${c.num_steps} steps of ${c.step_size}` +
        (c.random_start ? ", random start" : ""),
    );
  }
  if (objective.igTerm) {
    parts.push(`m ${c.m}, approx_factor ${c.approx_factor}, λ ${c.lambda}`);
  }
  return parts.join("; ");
}

/** Omits the attacked image list from settings shown in the report. */
function shownSettings(run: Record<string, unknown>): Record<string, unknown> {
  const { checkpoint: _c, images: _i, target: _t, ...rest } = run;
  return rest;
}

/**
 * Writes `report.json`, `report.md` and `comparison.png` into the experiment's directory.
 */
export async function writeReport(
  spec: ExperimentSpec,
  dataset: Dataset,
  selection: Selection,
  models: readonly ModelReport[],
): Promise<void> {
  const paired = models.map((m) => pairedDifference(m, models[0]));
  const json = {
    experiment: spec.source,
    dataset: dataset.name,
    images: selection.images,
    images_scanned: selection.scanned,
    models: models.map((m, i) => ({
      name: m.name,
      objective: m.objective,
      init_from: m.initFrom ?? null,
      natural_accuracy: m.naturalAccuracy,
      natural_examples: m.naturalExamples,
      pgd_accuracy: m.pgdAccuracy,
      pgd_examples: m.pgdExamples,
      intersection: m.intersection,
      kendall: m.kendall,
      spearman: m.spearman,
      paired_difference_to_first: i === 0 ? null : paired[i],
      attacked: m.attacked,
      images: m.images,
      training_steps: m.training.steps,
      training_seconds: m.training.seconds ?? null,
      pgd_settings: shownSettings(m.pgdSettings),
      attack_settings: shownSettings(m.attackSettings),
      config: m.config,
    })),
  };
  await atomicWrite(join(spec.dir, "report.json"), JSON.stringify(json, null, 1) + "\n");

  const a = models[0]?.attackSettings ?? {};
  const p = models[0]?.pgdSettings ?? {};
  const lines = [
    `# Experiment ${spec.source}`,
    "",
    `Dataset ${dataset.name}. Attribution attack on the first ${selection.images.length} test ` +
    `images that every model classifies correctly (of the first ${selection.scanned}); ` +
    `metrics are the mean ± standard error over the attacked images.`,
    "",
    "| model | objective | natural accuracy | PGD accuracy | top-k intersection | Kendall's τ | Spearman's ρ | attacked | training |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
    ...models.map((m) =>
      `| ${m.name} | ${m.objective}${m.initFrom ? ` (from ${m.initFrom})` : ""} | ` +
      `${pct(m.naturalAccuracy)} | ${pct(m.pgdAccuracy)} | ${est(m.intersection)} | ` +
      `${est(m.kendall)} | ${est(m.spearman)} | ${m.attacked}/${m.images} | ` +
      `${m.training.steps} steps${
        m.training.seconds !== undefined ? `, ${formatDuration(m.training.seconds)}` : ""
      } |`
    ),
    "",
    `Paired differences to ${models[0]?.name} on the same images (mean ± standard error of the ` +
    `per-image difference; positive: the attributions changed less under attack):`,
    "",
    "| model | Δ top-k intersection | Δ Kendall's τ | Δ Spearman's ρ |",
    "| --- | --: | --: | --: |",
    ...models.slice(1).map((m, j) => {
      const d = paired[j + 1];
      const sign = (e: Estimate) => (e.mean > 0 ? "+" : "") + est(e);
      return `| ${m.name} | ${sign(d.intersection)} | ${sign(d.kendall)} | ${sign(d.spearman)} |`;
    }),
    "",
    "## Settings",
    "",
    `- Attribution attack: ${a.method} direction, measure ${a.measure}, ${a.saliencyType} ` +
    `saliency with ${a.igSteps} steps, k_top ${a.kTop}, top-${a.evalKTop} intersection, ` +
    `${a.steps} steps of ${a.stepSize}, ε ${a.epsilon}, ${a.times} repeat(s), seed ${a.seed}.`,
    `- PGD: ${p.loss_func}, ε ${p.epsilon}, ${p.num_steps} steps of ${p.step_size}` +
    `${p.random_start ? ", random start" : ""}, on the first ${
      models[0]?.pgdExamples ?? 0
    } test images; natural accuracy on all ${models[0]?.naturalExamples ?? 0}.`,
    ...models.map((m) =>
      `- ${m.name}: ${m.objective}${m.initFrom ? ` from ${m.initFrom}` : ""}, ${
        runSettings(m.config)
      }.`
    ),
    "",
    "![comparison](comparison.png)",
    "",
  ];
  await atomicWrite(join(spec.dir, "report.md"), lines.join("\n"));

  const [H, W, C] = dataset.test.shape;
  const n = H * W * C;
  const images: ComparisonImage[] = selection.images.slice(0, spec.evaluation.figureImages).map(
    (index, r) => ({
      image: Float32Array.from(
        dataset.test.images.subarray(index * n, (index + 1) * n),
        (v) => v / 255 * dataset.pixelMax,
      ),
      label: dataset.test.labels[index],
      models: models.map((m): ComparisonModel => {
        const f = m.figure[r];
        if (!f.attacked) return { name: m.name, predicted: f.predicted };
        return {
          name: m.name,
          predicted: f.predicted,
          map: Float32Array.from(f.originalSaliency!),
          attack: {
            image: Float32Array.from(f.perturbed!),
            map: Float32Array.from(f.attackedSaliency!),
            predicted: f.attackedPredicted!,
            intersection: f.intersection!,
            kendall: f.kendall!,
          },
        };
      }),
    }),
  );
  if (images.length) {
    const png = comparisonFigure({
      height: H,
      width: W,
      channels: C,
      pixelMax: dataset.pixelMax,
      images,
      kTop: Number(a.evalKTop),
    });
    await atomicWrite(join(spec.dir, "comparison.png"), png);
  }
}
