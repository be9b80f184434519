/**
 * `deno task prepare`: turns a downloaded GTSRB or Flower-17 into the `train.npz` and
 * `test.npz` that `data_path` names, or checks Fashion-MNIST's IDX files.
 *
 *   deno task prepare gtsrb|flower|fashion_mnist --src PATH [--out DIR] [--seed N]
 *     [--per-class N] [--overwrite]
 * @module
 */

import { join } from "node:path";
import { Command } from "commander";
import {
  formatSummary,
  PREPARE_DATASETS,
  prepareDataset,
  type PrepareName,
} from "../prepare/run.ts";
import { readPickledArrays } from "../prepare/pickle.ts";
import { Interrupted } from "../prepare/write.ts";
import { formatDuration, Progress, type Sink } from "../train/report.ts";
import { fail, PLAIN_OUTPUT } from "./common.ts";

const integer = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be an integer of at least ${min}, got ${v}`);
  }
  return n;
};

const program = new Command()
  .name("deno task prepare")
  .description(
    "Write train.npz and test.npz (images uint8 NHWC, labels int64) for GTSRB or Flower-17 " +
      "from the downloaded archives or folders, the training set balanced by seeded " +
      "augmentation; for fashion_mnist, check the four IDX files (nothing to convert).",
  )
  .argument("<dataset>", PREPARE_DATASETS.join(", "))
  .requiredOption(
    "--src <path>",
    "gtsrb: a folder holding GTSRB_Final_Training_Images.zip, GTSRB_Final_Test_Images.zip and " +
      "GTSRB_Final_Test_GT.zip (or their extracted contents), or train.p and test.p; flower: " +
      "17flowers.tgz or its extracted folder; fashion_mnist: the folder of the IDX files",
  )
  .option("--out <dir>", "folder receiving train.npz and test.npz (the config's data_path)", "data")
  .option("--seed <n>", "seed of the Flower split and of the augmentation", integer("--seed", 0), 0)
  .option(
    "--per-class <n>",
    "training images per class after augmentation (default: gtsrb 10000, flower 1000)",
    integer("--per-class", 0),
  )
  .option("--overwrite", "replace train.npz and test.npz already in --out")
  .showHelpAfterError()
  .configureOutput(PLAIN_OUTPUT);

program.parse(["deno", "prepare", ...Deno.args]);
const opts = program.opts<
  { src: string; out: string; seed: number; perClass?: number; overwrite?: boolean }
>();
const dataset = program.args[0] as PrepareName;

const enc = new TextEncoder();
const stderr: Sink = {
  write: (t) => Deno.stderr.writeSync(enc.encode(t)),
  isTerminal: Deno.stderr.isTerminal(),
};

/** One bar per stage on a terminal; otherwise a line at the start of each stage and every 25%. */
function reporter() {
  let stage = "", bar: Progress | undefined, quarter = -1;
  return {
    update(name: string, done: number, total: number) {
      if (name !== stage) {
        bar?.finish();
        stage = name, quarter = -1;
        bar = new Progress(name, total, stderr);
      }
      bar!.update(done);
      const q = Math.floor((4 * done) / Math.max(total, 1));
      if (!stderr.isTerminal && q !== quarter) {
        quarter = q;
        stderr.write(`${name}: ${done}/${total}\n`);
      }
    },
    finish: () => bar?.finish(),
  };
}

try {
  if (!PREPARE_DATASETS.includes(dataset)) {
    throw new Error(
      `unknown dataset ${JSON.stringify(dataset)} (prepare knows ${PREPARE_DATASETS.join(", ")})`,
    );
  }
  const control = { stop: false };
  let presses = 0;
  const onSigint = () => {
    if (++presses > 1) {
      for (const f of ["train.npz.partial", "test.npz.partial"]) {
        try {
          Deno.removeSync(join(opts.out, f));
        } catch { /* not there */ }
      }
      Deno.exit(130);
    }
    control.stop = true;
    console.error("\nstopping (the partial files are removed)…");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const bar = reporter();
  let result;
  try {
    result = await prepareDataset(dataset, {
      src: opts.src,
      out: opts.out,
      seed: opts.seed,
      perClass: opts.perClass,
      overwrite: opts.overwrite,
      progress: (s, d, t) => bar.update(s, d, t),
      stop: () => control.stop,
      pickleReader: readPickledArrays,
    });
  } catch (e) {
    bar.finish();
    if (e instanceof Interrupted) {
      console.error("interrupted: nothing written");
      Deno.exit(130);
    }
    throw e;
  }
  bar.finish();
  Deno.removeSignalListener("SIGINT", onSigint);
  console.log(formatSummary(result, formatDuration));
} catch (e) {
  fail(e);
}
