import assert from "node:assert/strict";
import {
  mergeResults,
  parseShard,
  type PgdRecord,
  type ResultFile,
  shardRange,
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
      shard: { index: 0, count: 2, range },
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
