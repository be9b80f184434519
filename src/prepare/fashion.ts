/**
 * Fashion-MNIST needs no conversion: its four IDX files (plain or `.gz`) load from
 * `data_path` as downloaded. `prepare fashion_mnist` only checks them: magic numbers,
 * 28×28 images, as many labels as images, labels in 0 … 9.
 * @module
 */

import { join } from "node:path";
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "../data/idx.ts";
import { IDX_FILES } from "../data/datasets.ts";
import { pathExists } from "../io/files.ts";

/** The counts per class of each split of a checked Fashion-MNIST folder. */
export interface FashionSummary {
  /** Images per class of the training file. */
  train: number[];
  /** Images per class of the test file. */
  test: number[];
}

async function find(dir: string, base: string): Promise<string> {
  for (const p of [join(dir, base), join(dir, `${base}.gz`)]) if (await pathExists(p)) return p;
  throw new Error(
    `${join(dir, base)} (or ${base}.gz) not found: Fashion-MNIST is the four IDX files ` +
      `${Object.values(IDX_FILES).join(", ")} (plain or .gz) in one folder`,
  );
}

async function checkSplit(dir: string, images: string, labels: string): Promise<number[]> {
  const ip = await find(dir, images), lp = await find(dir, labels);
  const im = parseIdx(await Deno.readFile(ip), ip, IDX_IMAGES_MAGIC);
  const lb = parseIdx(await Deno.readFile(lp), lp, IDX_LABELS_MAGIC);
  if (im.dims[1] !== 28 || im.dims[2] !== 28) {
    throw new Error(`${ip}: images of ${im.dims[1]}×${im.dims[2]} pixels, expected 28×28`);
  }
  if (lb.dims[0] !== im.dims[0]) {
    throw new Error(`${lp}: ${lb.dims[0]} labels, but ${ip} holds ${im.dims[0]} images`);
  }
  const counts = new Array(10).fill(0);
  lb.data.forEach((v, i) => {
    if (v > 9) throw new Error(`${lp}: label ${v} at index ${i} out of range (expected 0 … 9)`);
    counts[v]++;
  });
  return counts;
}

/**
 * Checks the Fashion-MNIST IDX files in `dir`.
 * @throws Error naming the file: missing, bad magic, truncated, wrong image size, count
 *   mismatch, label out of range.
 */
export async function checkFashion(dir: string): Promise<FashionSummary> {
  return {
    train: await checkSplit(dir, IDX_FILES.trainImages, IDX_FILES.trainLabels),
    test: await checkSplit(dir, IDX_FILES.testImages, IDX_FILES.testLabels),
  };
}
