/**
 * Evaluation result files: per-example records, summaries, shards and their merge.
 * (Pure data: reading and writing files is the command's business.)
 * @module
 */

import { resolve } from "node:path";
import { summarizeAttributionAttacks } from "../attacks/attribution.ts";
import { checkResultFile } from "./result_check.ts";

export { type AnyResultFile, checkResultFile, parseResultFile } from "./result_check.ts";

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

/** Summary of attribution records: averages over attacked images (docs/spec.md §8). */
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

/** The first difference between two runs' settings (flat objects), as `run.key is … there and … here`. */
function difference(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): string | undefined {
  const show = (v: unknown) => v === undefined ? "absent" : JSON.stringify(v);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[k] !== b[k]) return `run.${k} is ${show(b[k])} there and ${show(a[k])} here`;
  }
  return undefined;
}

/**
 * Merges shard files of one run into the unsharded result. Each file is checked
 * ({@link checkResultFile}); all must have the same kind, settings (`run`, compared as values)
 * and example count; the shards' ranges must cover `[0, examples)` exactly once, each file
 * holding one record for every index of its range; no shard may be given twice.
 * @throws Error naming the file and the problem
 */
export function mergeResults<
  R extends PgdRecord | AttributionRecord = PgdRecord | AttributionRecord,
>(
  files: readonly { name: string; data: unknown }[],
): ResultFile<R> {
  if (!files.length) throw new Error("merge: no result files given");
  const checked = files.map(({ name, data }) => ({ name, data: checkResultFile(data, name) }));
  const { name: firstName, data: first } = checked[0];
  const seen = new Map<string, string>();
  for (const { name, data } of checked) {
    if (data.kind !== first.kind) {
      throw new Error(`merge: ${name} holds ${data.kind} results, ${firstName} ${first.kind}`);
    }
    const d = data.examples !== first.examples
      ? `examples is ${first.examples} there and ${data.examples} here`
      : difference(data.run, first.run);
    if (d) {
      throw new Error(`merge: ${name} comes from another run than ${firstName}: ${d}`);
    }
    const id = `${data.shard.index + 1} of ${data.shard.count}`;
    const twin = seen.get(id);
    if (twin !== undefined) throw new Error(`merge: ${twin} and ${name} are both shard ${id}`);
    seen.set(id, name);
    checkCoverage(name, data.records, data.shard.range);
  }
  const sorted = [...checked].sort((a, b) => a.data.shard.range[0] - b.data.shard.range[0]);
  let next = 0;
  for (const { name, data } of sorted) {
    const [a] = data.shard.range;
    if (a !== next) {
      throw new Error(
        a > next
          ? `merge: images ${next}…${a - 1} are in no shard (next file ${name} starts at ${a})`
          : `merge: ${name} overlaps an earlier shard at image ${a}`,
      );
    }
    next = data.shard.range[1];
  }
  if (next !== first.examples) {
    throw new Error(`merge: images ${next}…${first.examples - 1} are in no shard`);
  }
  const records = sorted.flatMap((f) => f.data.records as R[]).sort((a, b) => a.index - b.index);
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

/** Checks that `records` hold every index of `[a, b)` exactly once. */
function checkCoverage(
  name: string,
  records: readonly { index: number }[],
  [a, b]: [number, number],
): void {
  const indices = Float64Array.from(records, (r) => r.index).sort();
  const outside = indices.find((i) => i < a || i >= b);
  if (outside !== undefined) {
    throw new Error(
      `merge: ${name} holds a record of image ${outside}, outside its range [${a}, ${b})`,
    );
  }
  let next = a;
  for (const i of indices) {
    if (i < next) throw new Error(`merge: ${name} holds the record of image ${i} twice`);
    if (i > next) break;
    next++;
  }
  if (next < b) {
    throw new Error(
      `merge: ${name} lacks the record of image ${next} (its range [${a}, ${b}) needs ${b - a} ` +
        `records, it holds ${records.length})`,
    );
  }
}

/** The `.shard-i-of-n.json` suffix of the files that `--shard` writes. */
const SHARD_SUFFIX = /\.shard-\d+-of-\d+\.json$/;

/**
 * Where `merge` writes: `out` when given, else the first file's name without its
 * `.shard-i-of-n` part (`pgd.shard-1-of-4.json` → `pgd.json`). Never one of the inputs.
 * @throws Error when the first file has no shard suffix and `out` is absent (the default
 *   name would be the file itself), or when the output is one of the inputs
 */
export function mergedPath(files: readonly string[], out?: string): string {
  if (!files.length) throw new Error("merge: no result files given");
  if (out === undefined && !SHARD_SUFFIX.test(files[0])) {
    throw new Error(
      `merge: ${files[0]} is not named <name>.shard-<i>-of-<n>.json, so the merged result has ` +
        "no default name (it would replace the file); name it with --out",
    );
  }
  const path = out ?? files[0].replace(SHARD_SUFFIX, ".json");
  const input = files.find((f) => resolve(f) === resolve(path));
  if (input !== undefined) {
    throw new Error(
      `merge: the merged result would replace the input ${input}; name another file with --out`,
    );
  }
  return path;
}
