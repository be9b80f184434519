import assert from "node:assert/strict";
import {
  type AttributionRecord,
  mergedPath,
  mergeResults,
  parseResultFile,
  parseShard,
  type PgdRecord,
  type ResultFile,
  shardRange,
  summarizeAttribution,
  summarizePgd,
} from "../../src/eval/results.ts";

Deno.test("parseShard takes 1-based i/n and rejects anything else", () => {
  assert.deepEqual(parseShard("2/4"), { index: 1, count: 4 });
  for (const bad of ["0/4", "5/4", "2", "a/b", "2/0"]) {
    assert.throws(() => parseShard(bad), /--shard must be i\/n/);
  }
});

Deno.test("shard ranges cover the examples once, aligned to batches", () => {
  for (const [n, count, align] of [[10, 3, 1], [1000, 7, 100], [7, 3, 2], [5, 8, 1]]) {
    let next = 0;
    for (let i = 0; i < count; i++) {
      const [a, b] = shardRange(n, i, count, align);
      assert.equal(a, next);
      assert.ok(a % align === 0 || a === n);
      next = b;
    }
    assert.equal(next, n);
  }
});

function file(
  range: [number, number],
  run = { seed: 1 },
): { name: string; data: ResultFile<PgdRecord> } {
  const records = Array.from({ length: range[1] - range[0] }, (_, k) => ({
    index: range[0] + k,
    label: 3,
    natural: (range[0] + k) % 2 === 0,
    adversarial: (range[0] + k) % 3 === 0,
  }));
  return {
    name: `shard-${range[0]}.json`,
    data: {
      kind: "pgd",
      version: 1,
      run,
      examples: 10,
      shard: { index: range[0] === 0 ? 0 : 1, count: 2, range },
      records,
      summary: summarizePgd(records),
    },
  };
}

Deno.test("merge: in any order equals the unsharded records and summary; gaps, overlaps and other runs fail", () => {
  const whole = file([0, 10]).data;
  const m = mergeResults([file([6, 10]), file([0, 6])]);
  assert.deepEqual(m.records, whole.records);
  assert.deepEqual(m.summary, whole.summary);
  assert.throws(() => mergeResults([file([0, 4]), file([6, 10])]), /images 4…5 are in no shard/);
  assert.throws(() => mergeResults([file([0, 6]), file([4, 10])]), /overlaps/);
  assert.throws(() => mergeResults([file([0, 5]), file([5, 10], { seed: 2 })]), /another run/);
  assert.throws(() => mergeResults([file([0, 5])]), /in no shard/);
});

/** A deep copy of a shard file, as JSON would give it back. */
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** Asserts that `fn` throws a plain `Error` (not a TypeError/RangeError) whose message has every part. */
function refuses(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an error mentioning ${parts.join(" / ")}`);
  assert.equal(err.constructor, Error, `${err.constructor.name}: ${err.message}`);
  for (const p of parts) {
    if (typeof p === "string") assert.ok(err.message.includes(p), `${err.message} lacks ${p}`);
    else assert.match(err.message, p);
  }
}

Deno.test("merge: a malformed shard file is a clear error naming the file and the field", () => {
  const good = file([5, 10]);
  const bad = (edit: (d: Record<string, unknown>) => void) => {
    const data = copy(good.data) as unknown as Record<string, unknown>;
    edit(data);
    return { name: "broken.json", data };
  };
  const cases: [(d: Record<string, unknown>) => void, ...(string | RegExp)[]][] = [
    [(d) => d.shard = null, "broken.json", "shard"],
    [(d) => d.records = null, "broken.json", "records"],
    [(d) => d.run = "x", "broken.json", "run"],
    [(d) => d.run = { seed: 1, nested: { a: 1 } }, "broken.json", "run.nested"],
    [(d) => d.kind = "fgsm", "broken.json", "kind"],
    [(d) => d.version = 2, "broken.json", "version"],
    [(d) => d.examples = -1, "broken.json", "examples"],
    [(d) => d.examples = 1.5, "broken.json", "examples"],
    [(d) => d.shard = { index: 0, count: 2, range: [5, 11] }, "broken.json", "range"],
    [(d) => d.shard = { index: 2, count: 2, range: [5, 10] }, "broken.json", "shard.index"],
    [(d) => d.shard = { index: 0, count: 2, range: [5] }, "broken.json", "range"],
    [(d) => (d.records as unknown[])[2] = null, "broken.json", "records[2]"],
    [(d) => (d.records as { label: unknown }[])[1].label = "3", "broken.json", "records[1].label"],
    [(d) => (d.records as { natural: unknown }[])[0].natural = 1, "broken.json", "natural"],
    [(d) => (d.records as { index: unknown }[])[0].index = 5.5, "broken.json", "index"],
    [(d) => (d.records as Record<string, unknown>[])[0].extra = 1, "broken.json", "extra"],
    [(d) => d.summary = [], "broken.json", "summary"],
    [(d) => delete d.records, "broken.json", "records"],
  ];
  for (const [edit, ...parts] of cases) {
    refuses(() => mergeResults([file([0, 5]), bad(edit)]), ...parts);
  }
  refuses(() => mergeResults([{ name: "list.json", data: [] }]), "list.json");
  refuses(() => mergeResults([{ name: "null.json", data: null }]), "null.json");
});

Deno.test("merge: every index of a shard's range must appear exactly once", () => {
  const missing = file([5, 10]);
  missing.data.records.splice(2, 1);
  refuses(() => mergeResults([file([0, 5]), missing]), "shard-5.json", "image 7");
  const twice = file([5, 10]);
  twice.data.records[3] = { ...twice.data.records[2] };
  refuses(() => mergeResults([file([0, 5]), twice]), "shard-5.json", "image 7", "twice");
  const outside = file([5, 10]);
  outside.data.records[4] = { ...outside.data.records[4], index: 10 };
  refuses(() => mergeResults([file([0, 5]), outside]), "shard-5.json", "10");
  // the same shard given twice
  const empty = (name: string) => {
    const f = file([10, 10]);
    f.data.shard = { index: 2, count: 3, range: [10, 10] };
    return { ...f, name };
  };
  refuses(
    () => mergeResults([file([0, 10]), empty("a.json"), empty("b.json")]),
    "a.json",
    "b.json",
  );
});

Deno.test("merge: settings are compared as values (key order aside) and a difference is named", () => {
  const a = file([0, 5], { seed: 1, epsilon: 0.3 } as unknown as { seed: number });
  const b = file([5, 10], { epsilon: 0.3, seed: 1 } as unknown as { seed: number });
  assert.equal(mergeResults([a, b]).records.length, 10);
  const c = file([5, 10], { seed: 1, epsilon: 0.1 } as unknown as { seed: number });
  refuses(() => mergeResults([a, c]), "shard-5.json", "another run", "epsilon", "0.1", "0.3");
});

Deno.test("merge: a NaN metric written as null stays NaN in the merged summary", () => {
  const rec = (index: number, spearman: number) => ({
    index,
    label: 1,
    attacked: true,
    unchanged: false,
    intersection: 0.5,
    spearman,
    kendall: 0.25,
  });
  const shard = (range: [number, number], records: AttributionRecord[]) => ({
    name: `attribution.shard-${range[0]}.json`,
    data: copy({
      kind: "attribution" as const,
      version: 1 as const,
      run: { seed: 1 },
      examples: 3,
      shard: { index: range[0], count: 2, range },
      records,
      summary: summarizeAttribution(records),
    }),
  });
  const records = [rec(0, 0.5), rec(1, NaN), { index: 2, label: 4, attacked: false }];
  const whole = summarizeAttribution(records);
  assert.ok(Number.isNaN(whole.spearman));
  const m = mergeResults([shard([0, 1], records.slice(0, 1)), shard([1, 3], records.slice(1))]);
  assert.deepEqual(m.summary, whole);
  assert.ok(Number.isNaN((m.records[1] as AttributionRecord).spearman));
  assert.equal(JSON.stringify(m.summary), JSON.stringify(whole));
  // as the command reads them: parsed from their text first
  const parts = [shard([0, 1], records.slice(0, 1)), shard([1, 3], records.slice(1))].map((f) => ({
    name: f.name,
    data: parseResultFile(JSON.stringify(f.data), f.name),
  }));
  assert.deepEqual(mergeResults(parts).summary, whole);
});

Deno.test("parseResultFile names the file on bad JSON and on a bad structure", () => {
  refuses(() => parseResultFile("{", "r.json"), "r.json", "JSON");
  refuses(() => parseResultFile('{"kind": "pgd"}', "r.json"), "r.json");
  const text = JSON.stringify(file([0, 10]).data, null, 1);
  assert.deepEqual(parseResultFile(text, "r.json"), file([0, 10]).data);
});

Deno.test("mergedPath: the shard name without .shard-i-of-n; never one of the inputs", () => {
  const shards = ["m/pgd.shard-1-of-2.json", "m/pgd.shard-2-of-2.json"];
  assert.equal(mergedPath(shards), "m/pgd.json");
  assert.equal(mergedPath(shards, "out.json"), "out.json");
  refuses(() => mergedPath(["a.json", "b.json"]), "a.json", "--out");
  refuses(() => mergedPath(shards, "m/pgd.shard-2-of-2.json"), "m/pgd.shard-2-of-2.json", "--out");
  refuses(() => mergedPath(["m/pgd.shard-1-of-2.json", "m/pgd.json"]), "m/pgd.json");
  refuses(() => mergedPath([]), "no result files");
});
