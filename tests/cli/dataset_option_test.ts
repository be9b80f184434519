/** The `--dataset` option of the commands accepts exactly the dataset vocabulary. */

import assert from "node:assert/strict";
import { Command, CommanderError } from "commander";
import { datasetOption } from "../../src/cli/common.ts";
import { DATASET_NAMES } from "../../src/vocabulary.ts";

function parse(args: string[]): { dataset?: string } {
  const cmd = new Command().exitOverride().configureOutput({ writeErr: () => {} })
    .addOption(datasetOption());
  cmd.parse(args, { from: "user" });
  return cmd.opts();
}

Deno.test("cli: --dataset takes every dataset name", () => {
  for (const name of DATASET_NAMES) assert.equal(parse(["--dataset", name]).dataset, name);
  assert.equal(parse([]).dataset, undefined);
});

Deno.test("cli: --dataset refuses other names, listing the vocabulary", () => {
  assert.throws(
    () => parse(["--dataset", "cifar10"]),
    (e: unknown) =>
      e instanceof CommanderError &&
      e.message.includes(`Allowed choices are ${DATASET_NAMES.join(", ")}`),
  );
});
