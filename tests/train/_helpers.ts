/**
 * Helpers of the training tests: a tiny MNIST dataset, a capturing sink and the quickstart
 * configuration with overrides.
 * @module
 */

import { type Config, parseConfig } from "../../src/config.ts";
import type { Dataset } from "../../src/data/mod.ts";
import type { Params } from "../../src/nn/model.ts";
import type { Sink } from "../../src/train/report.ts";

/** The first `n` training images of `mnist` as a small dataset (tests stay fast). */
export function tiny(mnist: Dataset, n: number): Dataset {
  const [h, w, c] = mnist.train.shape;
  const per = h * w * c;
  const split = {
    images: mnist.train.images.slice(0, n * per),
    labels: mnist.train.labels.slice(0, n),
    count: n,
    shape: mnist.train.shape,
  };
  return { ...mnist, train: split, test: split };
}

/** A non-terminal sink that keeps what is written in `text`. */
export function quiet(): Sink & { text: string } {
  const s = { text: "", isTerminal: false, write: (t: string) => void (s.text += t) };
  return s;
}

/** The MNIST quickstart configuration with `model_dir` = `dir` and the `sets` overrides. */
export async function quickstart(dir: string, sets: string[]): Promise<Config> {
  const text = await Deno.readTextFile(
    new URL("../../configs/mnist/quickstart.json", import.meta.url),
  );
  return parseConfig(text, "quickstart.json", {
    overrides: [`model_dir=${JSON.stringify(dir)}`, ...sets],
    require: "train",
  }).config;
}

/** The bytes of every parameter, by name. */
export async function paramBytes(params: Params): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, t] of Object.entries(params)) {
    out[name] = new Uint8Array((await t.data()).buffer);
  }
  return out;
}

/** Disposes every parameter tensor. */
export function disposeParams(params: Params): void {
  for (const p of Object.values(params)) p.dispose();
}

/** The names in a directory, sorted. */
export function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}
