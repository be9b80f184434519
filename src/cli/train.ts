/**
 * `deno task train`: trains a model from a `config.json` (default: the MNIST quickstart).
 *
 *   deno task train [--config PATH] [--set key=value]... [--dataset NAME] [--overwrite]
 * @module
 */

import { Command } from "commander";
import type { DatasetName } from "../vocabulary.ts";
import { init } from "../init.ts";
import { parseConfig } from "../config.ts";
import { inferDataset, loadDataset } from "../data/mod.ts";
import { evaluateAccuracy, train } from "../train/trainer.ts";
import { modelForDataset } from "../nn/registry.ts";
import { checkModelDir } from "../train/model_dir.ts";
import { atomicWrite } from "../io/files.ts";
import { formatDuration, Progress, stdoutSink } from "../train/report.ts";
import { datasetOption, fail, PLAIN_OUTPUT, readConfigFile } from "./common.ts";

const program = new Command()
  .name("deno task train")
  .description(
    "Train a classifier with natural (nat), Madry (adv), IG-NORM (ar) or IG-SUM-NORM (adv_ar) " +
      "training as a config.json describes. Resumes from the latest checkpoint with " +
      "continue_train true; Ctrl-C saves a checkpoint and stops. A fresh run does not start in " +
      "a model_dir holding another run's checkpoints unless --overwrite.",
  )
  .option("-c, --config <path>", "configuration file", "configs/mnist/quickstart.json")
  .option(
    "-s, --set <key=value>",
    "override a configuration key (repeatable; JSON values, e.g. --set lambda=0.5)",
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .addOption(datasetOption(" (default: the config's dataset key)"))
  .option(
    "--eval-examples <n>",
    "test images for the accuracy at the end (default: all)",
    (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(
          `--eval-examples must be a positive integer, got ${v}`,
        );
      }
      return n;
    },
  )
  .option("--no-eval", "skip the test-set accuracy at the end")
  .option(
    "--overwrite",
    "for a fresh run (continue_train false) in a model_dir of an earlier run: move that run's " +
      "checkpoints and logs into <model_dir>/previous/<UTC time>/ (nothing is deleted)",
  )
  .showHelpAfterError()
  .configureOutput(PLAIN_OUTPUT);

program.parse(["deno", "train", ...Deno.args]);
const opts = program.opts<
  {
    config: string;
    set: string[];
    dataset?: DatasetName;
    eval: boolean;
    evalExamples?: number;
    overwrite?: boolean;
  }
>();

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_.,/:=@%+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/** The command line that resumes this run: the same options with continue_train true. */
function resumeCommand(): string {
  const words = ["deno", "task", "train", "--config", opts.config];
  for (const s of opts.set) if (!/^\s*continue_train\s*=/.test(s)) words.push("--set", s);
  words.push("--set", "continue_train=true");
  if (opts.dataset) words.push("--dataset", opts.dataset);
  if (opts.evalExamples !== undefined) words.push("--eval-examples", String(opts.evalExamples));
  if (!opts.eval) words.push("--no-eval");
  return words.map(shellWord).join(" ");
}

try {
  const text = await readConfigFile(opts.config);
  const { config, warnings } = parseConfig(text, opts.config, {
    overrides: opts.set,
    require: "train",
  });
  for (const w of warnings) console.error(`warning: ${w}`);
  // before the GPU and the data: a model_dir that refuses this run says so at once
  await checkModelDir(config, opts.overwrite);
  const name = opts.dataset ?? config.dataset ?? await inferDataset(config.data_path);
  const rt = await init();
  console.log(`adapter: ${rt.adapterName}`);
  const t0 = performance.now();
  const dataset = await loadDataset(name, config.data_path);
  console.log(
    `data: ${name}, ${dataset.train.count} training and ${dataset.test.count} test images ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)}s)`,
  );
  const control = { interrupted: false };
  let presses = 0;
  const onSigint = () => {
    presses++;
    if (presses > 1) Deno.exit(130);
    control.interrupted = true;
    console.error("\nstopping after this step (Ctrl-C again to quit without saving)…");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const result = await train({
    config,
    dataset,
    control,
    overwrite: opts.overwrite,
    resumeCommand: resumeCommand(),
  });
  Deno.removeSignalListener("SIGINT", onSigint);
  if (result.status === "diverged" || result.status === "gpu_fault") Deno.exit(1);
  if (result.status === "interrupted") Deno.exit(130);
  if (opts.eval) {
    const model = modelForDataset(name);
    const n = Math.min(opts.evalExamples ?? dataset.test.count, dataset.test.count);
    const bar = new Progress("eval", n, stdoutSink());
    const acc = await evaluateAccuracy(
      model,
      result.params,
      dataset.test,
      dataset.pixelMax,
      n,
      Math.max(config.eval_batch_size, 100),
      (d) => bar.update(d),
    );
    bar.finish();
    console.log(`test accuracy: ${(acc * 100).toFixed(2)}% on ${n} test images`);
    await atomicWrite(
      `${config.model_dir}/eval_natural.json`,
      JSON.stringify({ step: result.step, natural_accuracy: acc, examples: n }, null, 2) + "\n",
    );
  }
  console.log(`total time ${formatDuration((performance.now() - t0) / 1000)}`);
} catch (e) {
  fail(e);
}
