/**
 * `prepare`: turns a downloaded dataset into the `train.npz` and `test.npz` that training
 * reads from `data_path` (`images` uint8 NHWC, `labels` int64), or checks Fashion-MNIST's
 * IDX files. Both archives are written as `*.partial` files and renamed only when both are
 * complete; on an error or interruption the partial files are removed.
 * @module
 */

import { join } from "node:path";
import { pathExists } from "../io/files.ts";
import { checkFashion } from "./fashion.ts";
import { FLOWER, readFlower } from "./flower.ts";
import {
  detectGtsrb,
  GTSRB,
  gtsrbArchive,
  type PickleReader,
  readGtsrbOfficial,
  readGtsrbPickle,
} from "./gtsrb.ts";
import { listSource } from "./source.ts";
import { Interrupted, type LabelledImages, type SplitSummary, writeSplit } from "./write.ts";

/** Datasets `prepare` knows. */
export const PREPARE_DATASETS = ["gtsrb", "flower", "fashion_mnist"] as const;
/** A dataset `prepare` knows. */
export type PrepareName = typeof PREPARE_DATASETS[number];

/** Options of {@link prepareDataset}. */
export interface PrepareOptions {
  /** The downloaded archive or folder. */
  src: string;
  /** Folder receiving `train.npz` and `test.npz` (created when missing). */
  out: string;
  /** Seed of the split (Flower) and the augmentation; default 0. */
  seed?: number;
  /** Training images per class after balancing (default GTSRB 10000, Flower 1000). */
  perClass?: number;
  /** Replace `train.npz`/`test.npz` already in `out`. */
  overwrite?: boolean;
  /** Called as work advances: a stage name, units done, units in the stage. */
  progress?: (stage: string, done: number, total: number) => void;
  /** Polled as work advances; true stops it (the partial files are removed). */
  stop?: () => boolean;
  /** Reader of pickled arrays (GTSRB's pickled form). */
  pickleReader?: PickleReader;
  /** Zip64 threshold passed to the writer (tests). */
  zip64From?: number;
}

/** What {@link prepareDataset} did. */
export interface PrepareResult {
  /** The dataset. */
  dataset: PrepareName;
  /** The form the source held (`official`, `pickle`, `jpeg`, `idx`). */
  form: string;
  /** Files written (empty for Fashion-MNIST). */
  written: string[];
  /** Training split: images per class, originals, augmented. */
  train: Pick<SplitSummary, "counts" | "originals" | "augmented">;
  /** Test split: images per class. */
  test: { counts: number[] };
  /** Seconds from start to end. */
  seconds: number;
  /** Augmented images made per second (undefined when none were made). */
  augmentRate?: number;
}

/**
 * Prepares (or, for Fashion-MNIST, checks) a dataset; see the module documentation.
 * @throws Error naming the source or file at fault; {@link Interrupted} when stopped.
 */
export async function prepareDataset(
  dataset: PrepareName,
  opts: PrepareOptions,
): Promise<PrepareResult> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (dataset === "fashion_mnist") {
    const s = await checkFashion(opts.src);
    const originals = s.train.reduce((a, b) => a + b, 0);
    return {
      dataset,
      form: "idx",
      written: [],
      train: { counts: s.train, originals, augmented: 0 },
      test: { counts: s.test },
      seconds: seconds(),
    };
  }
  if (!PREPARE_DATASETS.includes(dataset)) {
    throw new Error(
      `unknown dataset ${JSON.stringify(dataset)} (prepare knows ${PREPARE_DATASETS.join(", ")})`,
    );
  }
  const paths = { train: join(opts.out, "train.npz"), test: join(opts.out, "test.npz") };
  if (!opts.overwrite) {
    for (const p of Object.values(paths)) {
      if (await pathExists(p)) {
        throw new Error(`${p} exists: move it away, choose another --out, or add --overwrite`);
      }
    }
  }
  const progress = (stage: string) => (done: number, total: number) => {
    if (opts.stop?.()) throw new Interrupted();
    opts.progress?.(stage, done, total);
  };
  let form: string, splits: { train: LabelledImages; test: LabelledImages };
  let numClasses: number, perClass: number;
  if (dataset === "flower") {
    form = "jpeg";
    numClasses = FLOWER.classes, perClass = opts.perClass ?? FLOWER.perClass;
    splits = await readFlower(opts.src, { seed: opts.seed, progress: progress("decode") });
  } else {
    numClasses = GTSRB.classes, perClass = opts.perClass ?? GTSRB.perClass;
    const files = await listSource(opts.src, gtsrbArchive);
    form = detectGtsrb(files, opts.src);
    if (form === "official") {
      splits = await readGtsrbOfficial(files, opts.src, {
        progress: (split, d, t) => progress(`decode ${split}`)(d, t),
      });
    } else {
      if (!opts.pickleReader) throw new Error("prepare: no pickle reader given");
      splits = await readGtsrbPickle(files, opts.src, opts.pickleReader);
    }
  }
  await Deno.mkdir(opts.out, { recursive: true });
  const common = { numClasses, seed: opts.seed, stop: opts.stop, keepPartial: true };
  const partials = Object.values(paths).map((p) => `${p}.partial`);
  try {
    const test = await writeSplit(paths.test, splits.test, {
      ...common,
      progress: progress("write test"),
      zip64From: opts.zip64From,
    });
    const train = await writeSplit(paths.train, splits.train, {
      ...common,
      perClass,
      progress: progress("write train"),
      zip64From: opts.zip64From,
    });
    await Deno.rename(`${paths.test}.partial`, paths.test);
    await Deno.rename(`${paths.train}.partial`, paths.train);
    return {
      dataset,
      form,
      written: [paths.train, paths.test],
      train,
      test,
      seconds: seconds(),
      augmentRate: train.augmented ? train.augmented / train.augmentSeconds : undefined,
    };
  } finally {
    for (const p of partials) await Deno.remove(p).catch(() => {});
  }
}

const FORMS: Record<string, string> = {
  official: "the official archives",
  pickle: "the pickled split",
  jpeg: "the JPEG files",
  idx: "the IDX files",
};

/** The summary printed at the end: files, counts per class, time. */
export function formatSummary(r: PrepareResult, formatSeconds: (s: number) => string): string {
  const perClass = (counts: number[]) => counts.map((n, c) => `${c}:${n}`).join(" ");
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const lines = [`${r.dataset} from ${FORMS[r.form] ?? r.form}`];
  if (!r.written.length) {
    lines.push(
      `checked: ${sum(r.train.counts)} training and ${sum(r.test.counts)} test images, ` +
        "nothing to convert: set data_path to this folder",
    );
  } else {
    lines.push(`wrote ${r.written.join(" and ")}`);
  }
  const t = r.train;
  lines.push(
    `train: ${sum(t.counts)} images` +
      (t.augmented ? ` (${t.originals} originals + ${t.augmented} augmented)` : ""),
    `  per class ${perClass(t.counts)}`,
    `test: ${sum(r.test.counts)} images`,
    `  per class ${perClass(r.test.counts)}`,
  );
  if (r.augmentRate !== undefined) {
    lines.push(`augmentation: ${Math.round(r.augmentRate)} images/s`);
  }
  lines.push(`time: ${formatSeconds(r.seconds)}`);
  if (r.written.length) lines.push(`NumPy: np.load("${r.written[0]}")["images"]`);
  return lines.join("\n");
}
