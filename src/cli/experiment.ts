/**
 * `deno task experiment`: trains the runs of an experiment file, evaluates every model on the same
 * test images and writes a comparison report and figure.
 *
 *   deno task experiment FILE [train|evaluate|report] [--shard i/n] [--dir DIR]
 * @module
 */

import { Command } from "commander";
import { init } from "../init.ts";
import { parseExperiment } from "../experiment/spec.ts";
import { runExperiment, type Stage } from "../experiment/run.ts";
import { parseShard } from "../eval/results.ts";
import { fail, PLAIN_OUTPUT } from "./common.ts";

const STAGES: readonly Stage[] = ["train", "evaluate", "report"];

const program = new Command()
  .name("deno task experiment")
  .description(
    "Train the runs of an experiment file that are not trained yet (resuming half-done ones), " +
      "evaluate every model on the same test images (natural and PGD accuracy, attribution " +
      "attack) and write report.md, report.json and comparison.png into the experiment's " +
      "directory. Without a stage, all three run in order.",
  )
  .argument("<file>", "experiment file, e.g. configs/experiments/mnist_small.json")
  .argument("[stage]", "only this stage: train, evaluate or report")
  .option(
    "--shard <i/n>",
    "evaluate only shard i of n (1-based; a job array runs one per task, then the report stage)",
  )
  .option("--dir <dir>", "output directory (default: the file's dir)")
  .showHelpAfterError()
  .configureOutput(PLAIN_OUTPUT);

program.parse(["deno", "experiment", ...Deno.args]);
const [file, stage] = program.args as [string, string | undefined];
const opts = program.opts<{ shard?: string; dir?: string }>();

try {
  if (stage !== undefined && !STAGES.includes(stage as Stage)) {
    throw new Error(`stage must be one of ${STAGES.join(", ")}, got ${JSON.stringify(stage)}`);
  }
  const shard = opts.shard ? parseShard(opts.shard) : undefined;
  if (shard && shard.count > 1 && stage !== "evaluate") {
    throw new Error(
      "--shard splits the evaluate stage: run `train` once, then `evaluate --shard i/n` " +
        "for every i, then `report`",
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(`experiment file ${file}: ${(e as Error).message}`);
  }
  const spec = parseExperiment(text, file, opts.dir);
  const rt = await init();
  console.log(`adapter: ${rt.adapterName}`);
  const control = { interrupted: false };
  let presses = 0;
  const onSigint = () => {
    if (++presses > 1) Deno.exit(130);
    control.interrupted = true;
    console.error("\nstopping after this step (Ctrl-C again to quit without saving)…");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  await runExperiment(spec, {
    stages: stage ? [stage as Stage] : STAGES,
    shard,
    control,
  });
  Deno.removeSignalListener("SIGINT", onSigint);
} catch (e) {
  fail(e);
}
