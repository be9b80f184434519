/**
 * Evaluation result files: per-example records, summaries, shards and their merge.
 * (Pure data: reading and writing files is the command's business.)
 * @module
 */

import { summarizeAttributionAttacks } from "../attacks/attribution.ts";

/** Per-example record of the PGD evaluation. */
export interface PgdRecord {
  /** Test-set index. */
  index: number;
  /** True label. */
  label: number;
  /** Correct on the natural image. */
  natural: boolean;
  /** Correct on the PGD image. */
  adversarial: boolean;
}

/** Per-example record of the attribution attack. */
export interface AttributionRecord {
  /** Test-set index. */
  index: number;
  /** True label. */
  label: number;
  /** Whether it was attacked (only correctly classified images are). */
  attacked: boolean;
  /** No step improved the criterion (all metrics 1). */
  unchanged?: boolean;
  /** Top-`eval_k_top` intersection of original and attacked ReLU saliency. */
  intersection?: number;
  /** Spearman ρ. */
  spearman?: number;
  /** Kendall τ-b. */
  kendall?: number;
  /** Warnings (e.g. the degenerate topK case). */
  warnings?: string[];
}

/** A shard of the first `examples` test images: `[range[0], range[1])`. */
export interface Shard {
  /** Shard number, 0-based. */
  index: number;
  /** Number of shards. */
  count: number;
  /** Image indices covered. */
  range: [number, number];
}

/** A result file of `deno task attack pgd|attribution`. */
export interface ResultFile<R> {
  /** `pgd` or `attribution`. */
  kind: "pgd" | "attribution";
  /** Format version. */
  version: 1;
  /** What produced it: checkpoint, settings (identical across shards of one run). */
  run: Record<string, unknown>;
  /** Number of test images of the whole run. */
  examples: number;
  /** This file's shard. */
  shard: Shard;
  /** Per-example records, in index order. */
  records: R[];
  /** Summary over `records`. */
  summary: Record<string, number>;
}

/**
 * Parses `i/n` (1-based shard number `i` of `n`, as job-array runners count) into 0-based form.
 * @throws naming the value when malformed
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) {
    throw new Error(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/4), got ${JSON.stringify(text)}`);
  }
  return { index: i - 1, count: n };
}

/**
 * The image range of shard `index` of `count` over `examples` images, in whole units of
 * `align` images (PGD batches keep their seeds when shards start at batch boundaries).
 */
export function shardRange(
  examples: number,
  index: number,
  count: number,
  align = 1,
): [number, number] {
  const units = Math.ceil(examples / align);
  const a = Math.floor((index * units) / count) * align;
  const b = Math.min(Math.floor(((index + 1) * units) / count) * align, examples);
  return [Math.min(a, examples), b];
}

/** Summary of PGD records: natural and adversarial accuracy. */
export function summarizePgd(records: readonly PgdRecord[]): Record<string, number> {
  const n = records.length;
  let nat = 0, adv = 0;
  for (const r of records) {
    nat += r.natural ? 1 : 0;
    adv += r.adversarial ? 1 : 0;
  }
  return {
    examples: n,
    natural_accuracy: n ? nat / n : NaN,
    adversarial_accuracy: n ? adv / n : NaN,
  };
}

/** Summary of attribution records: averages over attacked images (SPEC §8). */
export function summarizeAttribution(
  records: readonly AttributionRecord[],
): Record<string, number> {
  return { ...summarizeAttributionAttacks(records) };
}

/** The summary function of a result kind. */
export function summarize(
  kind: "pgd" | "attribution",
  records: readonly unknown[],
): Record<string, number> {
  return kind === "pgd"
    ? summarizePgd(records as PgdRecord[])
    : summarizeAttribution(records as AttributionRecord[]);
}

/**
 * Merges shard files of one run into the unsharded result: same kind, run and example count;
 * shards must cover `[0, examples)` exactly once.
 * @throws naming the file and the problem
 */
export function mergeResults<R extends { index: number }>(
  files: readonly { name: string; data: ResultFile<R> }[],
): ResultFile<R> {
  if (!files.length) throw new Error("merge: no result files given");
  const first = files[0].data;
  const runKey = JSON.stringify(first.run);
  for (const { name, data } of files) {
    if (data.version !== 1 || (data.kind !== "pgd" && data.kind !== "attribution")) {
      throw new Error(`merge: ${name} is not a result file of deno task attack`);
    }
    if (data.kind !== first.kind) {
      throw new Error(`merge: ${name} holds ${data.kind} results, ${files[0].name} ${first.kind}`);
    }
    if (data.examples !== first.examples || JSON.stringify(data.run) !== runKey) {
      throw new Error(
        `merge: ${name} comes from another run than ${
          files[0].name
        } (settings or checkpoint differ)`,
      );
    }
  }
  const sorted = [...files].sort((a, b) => a.data.shard.range[0] - b.data.shard.range[0]);
  let next = 0;
  for (const { name, data } of sorted) {
    const [a, b] = data.shard.range;
    if (a !== next) {
      throw new Error(
        a > next
          ? `merge: images ${next}…${a - 1} are in no shard (next file ${name} starts at ${a})`
          : `merge: ${name} overlaps an earlier shard at image ${a}`,
      );
    }
    if (data.records.some((r) => r.index < a || r.index >= b)) {
      throw new Error(`merge: ${name} holds records outside its range [${a}, ${b})`);
    }
    next = b;
  }
  if (next !== first.examples) {
    throw new Error(`merge: images ${next}…${first.examples - 1} are in no shard`);
  }
  const records = sorted.flatMap((f) => f.data.records).sort((a, b) => a.index - b.index);
  return {
    kind: first.kind,
    version: 1,
    run: first.run,
    examples: first.examples,
    shard: { index: 0, count: 1, range: [0, first.examples] },
    records,
    summary: summarize(first.kind, records),
  };
}
