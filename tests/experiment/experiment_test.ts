import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import { parseExperiment, runOverrides, runSlug } from "../../src/experiment/spec.ts";
import { parseConfig } from "../../src/config.ts";
import { runExperiment } from "../../src/experiment/run.ts";
import { meanAndError, type ModelReport, pairedDifference } from "../../src/experiment/report.ts";
import { setup } from "../helpers.ts";
import type { Sink } from "../../src/train/report.ts";

const TINY = "configs/experiments/mnist_tiny.json";

function capture(): Sink & { text: () => string } {
  let out = "";
  return { write: (s: string) => void (out += s), isTerminal: false, text: () => out } as
    & Sink
    & { text: () => string };
}

Deno.test("experiment file: every problem named with the file and the key", () => {
  const text = JSON.stringify({
    dir: "",
    runs: [
      { name: "A", config: "a.json" },
      { name: "A", config: "b.json" },
      { name: "B", config: "b.json", init_from: "C", set: { model_dir: "x" } },
      { name: "C", config: "c.json" },
    ],
    evaluation: { images: 0, attribution: { k_top: 5, bogus: 1 }, pgd: {} },
    extra: 1,
  });
  let msg = "";
  try {
    parseExperiment(text, "exp/x.json");
  } catch (e) {
    msg = (e as Error).message;
  }
  for (
    const part of [
      "exp/x.json",
      "extra: unknown key",
      "dir: expected",
      'runs[1].name: "A" is used twice',
      "runs[2].set.model_dir",
      'runs[2].init_from: run "C" must come before B',
      "evaluation.images: expected a positive integer",
      "evaluation.attribution.bogus: unknown key",
    ]
  ) assert(msg.includes(part), `missing ${JSON.stringify(part)} in:\n${msg}`);
  assert.throws(() => parseExperiment("{", "bad.json"), /bad\.json: not valid JSON/);
});

Deno.test("experiment file: paths, run directories and fine-tuning sources", () => {
  const spec = parseExperiment(
    JSON.stringify({
      dir: "out/exp",
      runs: [
        { name: "NATURAL", config: "../mnist/nat.json" },
        { name: "IG-NORM", config: "../mnist/ig_norm.json", init_from: "NATURAL" },
        { name: "other", config: "/abs/c.json", init_from: "../../models/m" },
      ],
      evaluation: { images: 3, attribution: {}, pgd: { examples: 10 } },
    }),
    "configs/experiments/e.json",
  );
  assert.deepEqual(spec.runs.map((r) => r.config), [
    "configs/mnist/nat.json",
    "configs/mnist/ig_norm.json",
    "/abs/c.json",
  ]);
  assert.deepEqual(spec.runs.map((r) => r.modelDir), [
    "out/exp/natural",
    "out/exp/ig-norm",
    "out/exp/other",
  ]);
  assert.deepEqual(spec.runs[1].initFromRun, "NATURAL");
  assert.deepEqual(spec.runs[2].initFromPath, "models/m");
  assert.deepEqual(runSlug("IG-SUM-NORM (β=0.1)"), "ig-sum-norm_0.1_");
});

Deno.test("mean and standard error", () => {
  const r = meanAndError([1, 2, 3, 4]);
  assert.deepEqual(r.mean, 2.5);
  assert(Math.abs(r.se - Math.sqrt(1.6666666666666667 / 4)) < 1e-12);
  assert(Number.isNaN(meanAndError([]).mean));
  assert(Number.isNaN(meanAndError([1]).se));
});

Deno.test({
  name:
    "mnist_tiny: trains, fine-tunes, evaluates, reports; sharded evaluation gives the same report",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await setup();
    const dir = await Deno.makeTempDir({ prefix: "rar-experiment-" });
    try {
      const spec = parseExperiment(await Deno.readTextFile(TINY), TINY, dir);
      const sink = capture();
      await runExperiment(spec, { sink });
      const log = sink.text();
      for (const r of spec.runs) {
        if (r.initFromRun) assert.match(log, new RegExp(`run ${r.name}: training from `));
      }
      const report = JSON.parse(await Deno.readTextFile(join(dir, "report.json")));
      assert.deepEqual(
        report.models.map((m: { name: string }) => m.name),
        spec.runs.map((r) => r.name),
      );
      assert.deepEqual(report.images.length, spec.evaluation.images);
      for (const m of report.models) {
        assert(m.natural_accuracy > 0.5 && m.natural_accuracy <= 1, `${m.name} natural accuracy`);
        assert(m.pgd_accuracy >= 0 && m.pgd_accuracy <= 1);
        assert.deepEqual(m.attacked, spec.evaluation.images);
        for (const k of ["intersection", "kendall", "spearman"]) {
          assert(m[k].mean >= -1 && m[k].mean <= 1, `${m.name} ${k} ${m[k].mean}`);
          assert.deepEqual(m[k].n, spec.evaluation.images);
        }
        assert(m.training_seconds > 0, `${m.name} training time`);
      }
      // Fine-tuned runs start from NATURAL's parameters with a fresh step count.
      const ig = report.models.find((m: { name: string }) => m.name === "IG-NORM");
      assert.deepEqual(ig.init_from, "NATURAL");
      assert.deepEqual(ig.training_steps, ig.config.max_num_training_steps);
      const md = await Deno.readTextFile(join(dir, "report.md"));
      for (const r of spec.runs) assert.match(md, new RegExp(`\\| ${r.name} \\|`));
      const png = decode(await Deno.readFile(join(dir, "comparison.png")));
      assert(png.width > 4 * 28 && png.height > spec.evaluation.figureImages * 28);

      // A second run trains nothing and evaluates nothing again.
      const again = capture();
      await runExperiment(spec, { sink: again, stages: ["train"] });
      for (const r of spec.runs) assert.match(again.text(), new RegExp(`run ${r.name}: trained`));

      // The evaluation in two shards, then the report: the same numbers.
      const results = join(dir, "results");
      for (const r of spec.runs) {
        for (const k of ["pgd", "attribution"]) {
          await Deno.remove(join(results, `${runSlug(r.name)}.${k}.json`));
        }
      }
      await assert.rejects(
        () => runExperiment(spec, { sink: capture(), stages: ["report"] }),
        /no pgd results for natural/,
      );
      for (const index of [0, 1]) {
        await runExperiment(spec, {
          sink: capture(),
          stages: ["evaluate"],
          shard: { index, count: 2 },
        });
      }
      await runExperiment(spec, { sink: capture(), stages: ["report"] });
      const sharded = JSON.parse(await Deno.readTextFile(join(dir, "report.json")));
      assert.deepEqual(sharded.models, report.models);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("configs/experiments: every experiment file parses, and its runs' configurations too", async () => {
  const dir = new URL("../../configs/experiments/", import.meta.url);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
  assert.deepEqual(names.sort(), ["mnist_small.json", "mnist_tiny.json"]);
  for (const name of names) {
    const path = `configs/experiments/${name}`;
    const spec = parseExperiment(await Deno.readTextFile(path), path);
    for (const run of spec.runs) {
      const { warnings } = parseConfig(await Deno.readTextFile(run.config), run.config, {
        overrides: runOverrides(spec, run),
        require: "train",
      });
      assert.deepEqual(warnings, [], `${path} ${run.name}`);
    }
  }
});

Deno.test("paired differences use the images both models attacked", () => {
  const model = (m: [number, number][]) =>
    ({
      perImage: new Map(m.map(([i, v]) => [i, { intersection: v, kendall: v / 2, spearman: v }])),
    }) as unknown as ModelReport;
  const ref = model([[1, 0.5], [2, 0.4], [3, 0.3]]);
  const other = model([[1, 0.7], [3, 0.5], [9, 0.9]]);
  const d = pairedDifference(other, ref);
  assert.equal(d.intersection.n, 2);
  assert.ok(Math.abs(d.intersection.mean - 0.2) < 1e-12);
  assert.ok(Math.abs(d.kendall.mean - 0.1) < 1e-12);
  assert.ok(Math.abs(d.intersection.se) < 1e-12);
});
