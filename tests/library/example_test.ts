/**
 * The library example: `docs/library.md` shows exactly `examples/explain_attack.ts`, and that
 * file, run as documented (`deno run --allow-read`) on a freshly trained model directory, prints
 * the IG map and the attribution attack's outcome.
 * @module
 */

import assert from "node:assert/strict";
import { loadDataset } from "../../src/data/mod.ts";
import { train } from "../../src/train/trainer.ts";
import { setup } from "../helpers.ts";
import { quickstart, quiet } from "../train/_helpers.ts";

const ROOT = new URL("../../", import.meta.url);
const EXAMPLE = "examples/explain_attack.ts";

/** The code block that follows the `<!-- example: FILE -->` marker in `text`. */
function snippet(text: string, file: string): string {
  const marker = `<!-- example: ${file} -->`;
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `docs/library.md has no ${marker}`);
  const open = text.indexOf("```ts\n", at);
  assert.ok(open >= 0, `docs/library.md: no \`\`\`ts block after ${marker}`);
  const close = text.indexOf("\n```", open + 6);
  assert.ok(close >= 0, `docs/library.md: the block after ${marker} is not closed`);
  return text.slice(open + 6, close + 1);
}

Deno.test("docs/library.md shows examples/explain_attack.ts as it is", async () => {
  const doc = await Deno.readTextFile(new URL("docs/library.md", ROOT));
  const file = await Deno.readTextFile(new URL(EXAMPLE, ROOT));
  // the documented copy starts at the imports and imports ./mod.ts from the repository root
  const start = file.indexOf("\nimport ");
  assert.ok(start >= 0, `${EXAMPLE} has no import`);
  const body = file.slice(start + 1).replace(`from "../mod.ts";`, `from "./mod.ts";`);
  assert.equal(snippet(doc, EXAMPLE), body);
});

Deno.test("examples/explain_attack.ts explains and attacks an image of a trained model", async () => {
  await setup();
  const mnist = await loadDataset("mnist");
  // the first 8 test images as the training set: memorised, test image 0 is classified right
  const n = 8;
  const per = 28 * 28;
  const split = {
    images: mnist.test.images.slice(0, n * per),
    labels: mnist.test.labels.slice(0, n),
    count: n,
    shape: mnist.test.shape,
  };
  const dir = await Deno.makeTempDir({ prefix: "rar_example_" });
  try {
    const config = await quickstart(dir, [
      "training_batch_size=8",
      "max_num_training_steps=40",
      "num_output_steps=40",
      "num_summary_steps=40",
      "num_checkpoint_steps=40",
      "learning_rate=0.002",
      "num_IG_steps=4",
      "attribution_attack_steps=2",
      "k_top=20",
      "eval_k_top=20",
    ]);
    const r = await train({
      config,
      dataset: { ...mnist, train: split, test: split },
      sink: quiet(),
    });
    for (const p of Object.values(r.params)) p.dispose();
    assert.equal(r.status, "completed");

    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", EXAMPLE, dir, "0"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the example failed:\n${stderr}`);
    const result = JSON.parse(stdout.trim().split("\n").pop()!);

    assert.equal(result.label, mnist.test.labels[0]);
    assert.deepEqual(result.ig.shape, [1, 28, 28]);
    const values: number[] = result.ig.values;
    assert.equal(values.length, per);
    assert.ok(values.every(Number.isFinite), "the IG map has a non-finite value");
    // a saliency map is normalised to sum to H·W
    const total = values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - per) < 1e-2 * per, `the IG map sums to ${total}, not ${per}`);

    assert.equal(result.attacked, true, `image 0 was not attacked: ${stdout}`);
    for (const k of ["kendall", "spearman", "intersection"]) {
      assert.ok(
        Number.isFinite(result[k]) && result[k] >= -1 && result[k] <= 1,
        `${k} = ${result[k]} is not a measure in [-1, 1]`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
