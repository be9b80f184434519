/**
 * Fuzz test of attack result files: seeded mutants of PGD and attribution result JSON as
 * `deno task attack pgd|attribution` writes it (whole runs and shards), read alone and merged
 * with the run's other shards, plus hand-made hostile files (huge declared ranges and counts,
 * wrong kinds and types, nested settings, duplicated and missing records). Every case must
 * load (a merge then covers every image once) or fail with an `Error` naming the file.
 */

import "./_guard.ts";
import assert from "node:assert/strict";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import {
  type AttributionRecord,
  mergeResults,
  parseResultFile,
  type PgdRecord,
  type ResultFile,
  shardRange,
  summarizeAttribution,
  summarizePgd,
} from "../../src/eval/results.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = new TextDecoder();
/** What the command writes: `JSON.stringify(file, null, 1)` and a newline. */
const bytes = (file: unknown) => enc(JSON.stringify(file, null, 1) + "\n");

const EXAMPLES = 12;

function pgdFile(index: number, count: number): ResultFile<PgdRecord> {
  const range = shardRange(EXAMPLES, index, count, 2);
  const records = Array.from({ length: range[1] - range[0] }, (_, k) => ({
    index: range[0] + k,
    label: (range[0] + k) % 10,
    natural: (range[0] + k) % 3 !== 0,
    adversarial: (range[0] + k) % 5 === 0,
  }));
  return {
    kind: "pgd",
    version: 1,
    run: {
      checkpoint: "models/mnist/quickstart/ckpt-00000250.safetensors",
      epsilon: 0.3,
      num_steps: 20,
      step_size: 0.03,
      random_start: true,
      loss_func: "xent",
      eval_batch_size: 2,
      seed: 4557077,
    },
    examples: EXAMPLES,
    shard: { index, count, range },
    records,
    summary: summarizePgd(records),
  };
}

function attributionFile(index: number, count: number): ResultFile<AttributionRecord> {
  const range = shardRange(EXAMPLES, index, count);
  const records: AttributionRecord[] = Array.from({ length: range[1] - range[0] }, (_, k) => {
    const i = range[0] + k;
    if (i % 4 === 3) return { index: i, label: i % 10, attacked: false };
    return {
      index: i,
      label: i % 10,
      attacked: true,
      unchanged: i % 5 === 0,
      intersection: 0.625,
      spearman: i === 6 ? NaN : 0.51 - i / 100,
      kendall: 0.4 + i / 1000,
      warnings: i === 2 ? ["k_top 40 covers all 37 non-zero saliency entries"] : undefined,
    };
  });
  return {
    kind: "attribution",
    version: 1,
    run: {
      checkpoint: "models/mnist/quickstart/ckpt-00000250.safetensors",
      method: "topK",
      measure: "kendall",
      saliencyType: "ig",
      igSteps: 10,
      kTop: 40,
      evalKTop: 40,
      stepSize: 0.01,
      steps: 10,
      epsilon: 0.3,
      pixelMax: 1,
      times: 1,
      seed: 4557077,
      target: null,
    },
    examples: EXAMPLES,
    shard: { index, count, range },
    records,
    summary: summarizeAttribution(records),
  };
}

/** Hand-made hostile variants of a valid PGD shard (2 of 3). */
function handMade(): Mutant[] {
  const base = () => JSON.parse(JSON.stringify(pgdFile(1, 3)));
  const edits: [string, (f: Record<string, unknown>) => unknown][] = [
    ["shard null", (f) => f.shard = null],
    ["records null", (f) => f.records = null],
    ["records object", (f) => f.records = { length: 4 }],
    ["huge examples", (f) => f.examples = 1e300],
    ["2^53 examples", (f) => f.examples = 2 ** 53],
    ["huge range", (f) => {
      f.examples = 2 ** 52;
      f.shard = { index: 1, count: 3, range: [4, 2 ** 52] };
    }],
    ["huge count", (f) => f.shard = { index: 1, count: 2 ** 60, range: [4, 8] }],
    ["negative range", (f) => f.shard = { index: 1, count: 3, range: [-4, 8] }],
    ["reversed range", (f) => f.shard = { index: 1, count: 3, range: [8, 4] }],
    ["range of strings", (f) => f.shard = { index: 1, count: 3, range: ["4", "8"] }],
    ["kind fgsm", (f) => f.kind = "fgsm"],
    ["attribution kind", (f) => f.kind = "attribution"],
    ["version 2", (f) => f.version = 2],
    ["nested run", (f) => (f.run as Record<string, unknown>).epsilon = { value: 0.3 }],
    ["run differs", (f) => (f.run as Record<string, unknown>).epsilon = 0.1],
    ["missing record", (f) => (f.records as unknown[]).pop()],
    ["duplicate record", (f) => {
      const r = f.records as { index: number }[];
      r[1] = { ...r[0] };
    }],
    ["record outside", (f) => (f.records as { index: number }[])[0].index = 100],
    ["records of another shard", (f) => f.records = pgdFile(2, 3).records],
    ["huge index", (f) => (f.records as { index: number }[])[0].index = 1e300],
    ["record extra key", (f) => (f.records as Record<string, unknown>[])[0].extra = 1],
    ["summary string", (f) => f.summary = "1"],
    ["proto key", (f) => (f.run as Record<string, unknown>)["__proto__"] = 1],
  ];
  const out: Mutant[] = edits.map(([how, edit]) => {
    const f = base();
    edit(f);
    return { how, bytes: bytes(f) };
  });
  const deep = "[".repeat(200000) + "]".repeat(200000);
  out.push({ how: "deep", bytes: enc(deep) });
  const text = dec.decode(bytes(base()));
  out.push({ how: "deep run", bytes: enc(text.replace('"seed": 4557077', `"seed": ${deep}`)) });
  const deepObject = '{"a":'.repeat(100000) + "1" + "}".repeat(100000);
  out.push({
    how: "deep record",
    bytes: enc(text.replace(/"records": \[/, `"records": [${deepObject},`)),
  });
  out.push({ how: "empty", bytes: new Uint8Array(0) });
  out.push({
    how: "many records",
    bytes: enc(`{"records": [${Array(200000).fill("{}").join(",")}]}`),
  });
  return out;
}

const valid = [
  pgdFile(0, 1),
  pgdFile(1, 3),
  attributionFile(0, 1),
  attributionFile(2, 3),
];

Deno.test("fuzz: result files load or fail naming the file", async () => {
  const cases = (function* () {
    for (const [k, f] of valid.entries()) yield* mutants(bytes(f), 4000, 700 + k);
    yield* handMade();
  })();
  const report = await fuzz({
    format: "attack result file",
    name: "fuzz-result.json",
    cases,
    parse: (b, name) => {
      const f = parseResultFile(dec.decode(b), name);
      assert.ok(f.kind === "pgd" || f.kind === "attribution");
    },
  });
  assert.ok(report.loaded > 0 && report.rejected > 0);
});

Deno.test("fuzz: merging a mutated shard with its run's other shards loads exactly or fails naming it", async () => {
  for (const make of [pgdFile, attributionFile]) {
    const shards = [0, 1, 2].map((i) => make(i, 3));
    const names = shards.map((f) => `${f.kind}.shard-${f.shard.index + 1}-of-3.json`);
    const whole = make(0, 1);
    // the unmutated shards, read as the command reads them, merge into the whole run
    const read = shards.map((f, i) => ({
      name: names[i],
      data: parseResultFile(dec.decode(bytes(f)), names[i]),
    }));
    assert.equal(JSON.stringify(mergeResults(read)), JSON.stringify(whole));
    for (const target of [0, 1, 2]) {
      const name = names[target];
      const cases = (function* () {
        yield* mutants(bytes(shards[target]), 2500, 900 + target);
        if (target === 1 && make === pgdFile) yield* handMade();
      })();
      await fuzz({
        format: `merge of ${shards[0].kind} shards (mutated ${target + 1} of 3)`,
        name,
        cases,
        parse: (b, n) => {
          const files = shards.map((f, i) => ({
            name: names[i],
            data: i === target
              ? parseResultFile(dec.decode(b), n)
              : JSON.parse(dec.decode(bytes(f))),
          }));
          const m = mergeResults(files);
          // a merge that loads covers every image exactly once, in order
          assert.deepEqual(m.records.map((r) => r.index), whole.records.map((r) => r.index));
          assert.equal(m.examples, EXAMPLES);
        },
      });
    }
  }
});
