/**
 * The library examples: `docs/library.md` shows exactly `examples/explain_attack.ts`, and that
 * file, run as documented (`deno run --allow-read`) on a freshly trained model directory, prints
 * the IG map and the attribution attack's outcome; the README's example, run as it stands (only
 * its `./mod.ts` import made absolute), does the same from the run's `model.safetensors`.
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
function snippet(text: string, file: string, doc = "docs/library.md"): string {
  const marker = `<!-- example: ${file} -->`;
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${doc} has no ${marker}`);
  const open = text.indexOf("```ts\n", at);
  assert.ok(open >= 0, `${doc}: no \`\`\`ts block after ${marker}`);
  const close = text.indexOf("\n```", open + 6);
  assert.ok(close >= 0, `${doc}: the block after ${marker} is not closed`);
  return text.slice(open + 6, close + 1);
}

/** Runs `deno run --allow-read FILE ...args` from the repository root; returns its last line. */
async function runExample(file: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", file, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${file} failed:\n${stderr}`);
  return stdout.trim().split("\n").pop()!;
}

/** Checks an IG map of one 28×28 image: finite and normalised to sum to H·W. */
function assertIgMap(values: number[]): void {
  const per = 28 * 28;
  assert.equal(values.length, per);
  assert.ok(values.every(Number.isFinite), "the IG map has a non-finite value");
  const total = values.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - per) < 1e-2 * per, `the IG map sums to ${total}, not ${per}`);
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

Deno.test("examples/explain_attack.ts and the README example explain and attack an image of a trained model", async () => {
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

    const line = await runExample(EXAMPLE, [dir, "0"]);
    const result = JSON.parse(line);
    assert.equal(result.label, mnist.test.labels[0]);
    assert.deepEqual(result.ig.shape, [1, 28, 28]);
    assertIgMap(result.ig.values);
    assert.equal(result.attacked, true, `image 0 was not attacked: ${line}`);
    for (const k of ["kendall", "spearman", "intersection"]) {
      assert.ok(
        Number.isFinite(result[k]) && result[k] >= -1 && result[k] <= 1,
        `${k} = ${result[k]} is not a measure in [-1, 1]`,
      );
    }

    // the README's example, from the weights-only file the run wrote
    const readme = snippet(
      await Deno.readTextFile(new URL("README.md", ROOT)),
      "README",
      "README.md",
    );
    assert.ok(readme.includes(`from "./mod.ts"`), "the README example imports ./mod.ts");
    const file = `${dir}/readme_example.ts`;
    await Deno.writeTextFile(file, readme.replace(`"./mod.ts"`, `"${new URL("mod.ts", ROOT)}"`));
    const fromReadme = JSON.parse(await runExample(file, [`${dir}/model.safetensors`]));
    assertIgMap(fromReadme.ig);
    // the same model and image: the same attack outcome as the example file's
    assert.equal(fromReadme.kendall, result.kendall);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
