/**
 * The library in a dozen lines: load a trained model, compute the integrated-gradients map of a
 * test image and attack that map (docs/spec.md §7–§8), with the settings the model was trained
 * with.
 *
 *   deno run --allow-read [--allow-net] examples/explain_attack.ts MODEL [IMAGE_INDEX]
 *
 * `MODEL` is a directory written by `deno task train`, a checkpoint or `model.safetensors` file,
 * or the `http(s)` URL of one (then `--allow-net` too). Prints one JSON line: the image's label,
 * the IG map's shape and values, and the attack's outcome (top-k intersection, Spearman ρ and
 * Kendall τ between the two maps).
 * @module
 */

import {
  attributionAttack,
  attributionAttackConfig,
  type AttributionAttackResult,
  batchTensors,
  init,
  loadDataset,
  loadTrained,
  saliencyMap,
} from "../mod.ts";

/** What {@linkcode explainAttack} computes. */
export interface ExplainAttackResult {
  /** The image's true label. */
  label: number;
  /** The IG saliency map `[1, H, W]` (normalised to sum to H·W). */
  ig: { shape: readonly number[]; values: Float32Array };
  /** The attribution attack's outcome. */
  attack: AttributionAttackResult;
}

/** Explains and attacks test image `index` with the trained model at `source`. */
export async function explainAttack(source: string, index = 0): Promise<ExplainAttackResult> {
  await init();
  const { model, params, config, dataset } = await loadTrained(source);
  const data = await loadDataset(dataset, config.data_path);
  if (index >= data.test.count) {
    throw new Error(`image ${index}: the test set has ${data.test.count}`);
  }
  const { x, y } = batchTensors(data.test, Int32Array.of(index), data.pixelMax);
  const ig = saliencyMap(model, params, x, y, "ig", { steps: config.num_IG_steps });
  const label = data.test.labels[index];
  const settings = attributionAttackConfig(config, data.pixelMax);
  const attack = await attributionAttack(model, params, x, label, settings);
  const values = await ig.data() as Float32Array;
  return { label, ig: { shape: ig.shape, values }, attack };
}

if (import.meta.main) {
  const [dir, arg = "0"] = Deno.args;
  const index = Number(arg);
  if (!dir || !Number.isInteger(index) || index < 0) {
    throw new Error(
      "usage: explain_attack.ts MODEL (directory, file or URL) [IMAGE_INDEX (an integer ≥ 0)]",
    );
  }
  const { label, ig, attack } = await explainAttack(dir, index);
  const outcome = attack.attacked
    ? { kendall: attack.kendall, spearman: attack.spearman, intersection: attack.intersection }
    : { predicted: attack.predicted };
  const map = { shape: ig.shape, values: [...ig.values] };
  console.log(JSON.stringify({ label, ig: map, attacked: attack.attacked, ...outcome }));
}
