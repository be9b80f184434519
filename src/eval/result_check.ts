/**
 * Structural check of result files read back from disk (`deno task attack merge`): every field
 * of the format that `deno task attack pgd|attribution` writes, with errors naming the file and
 * the field. Metrics that were NaN are written by `JSON.stringify` as `null` and come back NaN.
 * @module
 */

import type { AttributionRecord, PgdRecord, ResultFile } from "./results.ts";

/** A result file of either kind, checked. */
export type AnyResultFile = ResultFile<PgdRecord> | ResultFile<AttributionRecord>;

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  let s;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? "an array" : typeof v;
  }
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/** Checks one JSON file's fields; every error names the file and the field. */
class Reader {
  constructor(readonly name: string) {}

  fail(field: string, expected: string, value: unknown): never {
    throw new Error(`${this.name}: ${field} must be ${expected}, found ${show(value)}`);
  }

  /** `o` has exactly the keys `required` plus any of `optional`. */
  keys(o: Obj, field: string, required: readonly string[], optional: readonly string[] = []) {
    for (const k of required) {
      if (!(k in o)) throw new Error(`${this.name}: ${field} lacks the key ${JSON.stringify(k)}`);
    }
    for (const k of Object.keys(o)) {
      if (!required.includes(k) && !optional.includes(k)) {
        throw new Error(`${this.name}: ${field} has an unknown key ${JSON.stringify(k)}`);
      }
    }
  }

  object(v: unknown, field: string): Obj {
    return isObject(v) ? v : this.fail(field, "an object", v);
  }

  int(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `an integer in ${min} … ${max}`, v);
    }
    return v;
  }

  bool(v: unknown, field: string): boolean {
    return typeof v === "boolean" ? v : this.fail(field, "true or false", v);
  }

  /** A finite number or NaN, or `null` (a NaN as JSON writes it), returned as NaN. */
  metric(v: unknown, field: string): number {
    if (v === null) return NaN;
    if (typeof v !== "number" || v === Infinity || v === -Infinity) {
      this.fail(field, "a number or null", v);
    }
    return v;
  }
}

function pgdRecord(r: Reader, v: unknown, field: string): PgdRecord {
  const o = r.object(v, field);
  r.keys(o, field, ["index", "label", "natural", "adversarial"]);
  return {
    index: r.int(o.index, `${field}.index`),
    label: r.int(o.label, `${field}.label`),
    natural: r.bool(o.natural, `${field}.natural`),
    adversarial: r.bool(o.adversarial, `${field}.adversarial`),
  };
}

function attributionRecord(r: Reader, v: unknown, field: string): AttributionRecord {
  const o = r.object(v, field);
  const index = r.int(o.index, `${field}.index`);
  const label = r.int(o.label, `${field}.label`);
  if (!r.bool(o.attacked, `${field}.attacked`)) {
    r.keys(o, field, ["index", "label", "attacked"]);
    return { index, label, attacked: false };
  }
  const metrics = ["intersection", "spearman", "kendall"] as const;
  r.keys(o, field, ["index", "label", "attacked", "unchanged", ...metrics], ["warnings"]);
  const rec: AttributionRecord = {
    index,
    label,
    attacked: true,
    unchanged: r.bool(o.unchanged, `${field}.unchanged`),
  };
  for (const m of metrics) rec[m] = r.metric(o[m], `${field}.${m}`);
  if (o.warnings !== undefined) {
    const w = o.warnings;
    if (!Array.isArray(w) || w.some((s) => typeof s !== "string")) {
      r.fail(`${field}.warnings`, "an array of strings", w);
    }
    rec.warnings = w as string[];
  }
  return rec;
}

/**
 * Checks that `data` (parsed JSON) is a result file of `deno task attack pgd|attribution`:
 * its keys, kind, version, settings (`run`, an object of strings, numbers, booleans and nulls),
 * example count, shard (`0 ≤ index < count`,
 * `0 ≤ range[0] ≤ range[1] ≤ examples`), records and summary. Returns a copy in which
 * `null` metrics are NaN again. Which images the records cover is checked by the merge.
 * @throws Error naming `name` and the field, and what was expected there
 */
export function checkResultFile(data: unknown, name: string): AnyResultFile {
  const r: Reader = new Reader(name);
  const o = r.object(data, "the file");
  r.keys(o, "the file", ["kind", "version", "run", "examples", "shard", "records", "summary"]);
  if (o.kind !== "pgd" && o.kind !== "attribution") {
    r.fail("kind", '"pgd" or "attribution"', o.kind);
  }
  if (o.version !== 1) r.fail("version", "1", o.version);
  const run = r.object(o.run, "run");
  for (const [k, v] of Object.entries(run)) {
    if (v !== null && !["string", "number", "boolean"].includes(typeof v)) {
      r.fail(`run.${k}`, "a string, number, boolean or null", v);
    }
  }
  const examples = r.int(o.examples, "examples");
  const s = r.object(o.shard, "shard");
  r.keys(s, "shard", ["index", "count", "range"]);
  const count = r.int(s.count, "shard.count", 1);
  const index = r.int(s.index, "shard.index", 0, count - 1);
  const range = s.range;
  if (!Array.isArray(range) || range.length !== 2) {
    r.fail("shard.range", "[first, end] (two integers)", range);
  }
  const a = r.int(range[0], "shard.range[0]", 0, examples);
  const b = r.int(range[1], "shard.range[1]", a, examples);
  if (!Array.isArray(o.records)) r.fail("records", "an array", o.records);
  const summary = r.object(o.summary, "summary");
  for (const [k, v] of Object.entries(summary)) {
    if (v !== null && typeof v !== "number") r.fail(`summary.${k}`, "a number or null", v);
  }
  const shard = { index, count, range: [a, b] as [number, number] };
  const common = { version: 1 as const, run, examples, shard };
  const sum = summary as Record<string, number>;
  if (o.kind === "pgd") {
    const records = o.records.map((v, i) => pgdRecord(r, v, `records[${i}]`));
    return { kind: "pgd", ...common, records, summary: sum };
  }
  const records = o.records.map((v, i) => attributionRecord(r, v, `records[${i}]`));
  return { kind: "attribution", ...common, records, summary: sum };
}

/**
 * Parses and checks the text of a result file.
 * @throws Error naming `name`: invalid JSON, or what {@link checkResultFile} finds
 */
export function parseResultFile(text: string, name: string): AnyResultFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not a JSON result file (${(e as Error).message})`);
  }
  return checkResultFile(data, name);
}
