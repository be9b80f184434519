/**
 * The vocabulary arrays are exactly what the configuration accepts: every value parses, and a
 * value outside is rejected with a message listing the array, in its order.
 */

import assert from "node:assert/strict";
import { type Config, ConfigError, parseConfig } from "../src/config.ts";
import {
  ATTRIBUTION_ATTACK_MEASURES,
  ATTRIBUTION_ATTACK_METHODS,
  DATASET_NAMES,
  EVAL_LOSS_FUNCS,
  evalLossFunc,
  isOneOf,
  LOSS_FUNCS,
  OBJECTIVE_PARTS,
  objectiveRunsPgd,
  SALIENCY_TYPES,
  type SaliencyType,
  TRAINING_OBJECTIVES,
} from "../src/vocabulary.ts";
import { saliencyMap } from "../src/attribution/saliency.ts";
import { mnistCnn } from "../src/nn/mnist_cnn.ts";
import type { Tensor } from "../src/tensor.ts";

const VOCABULARIES: [keyof Config, readonly string[]][] = [
  ["dataset", DATASET_NAMES],
  ["training_objective", TRAINING_OBJECTIVES],
  ["loss_func", LOSS_FUNCS],
  ["attribution_attack_method", ATTRIBUTION_ATTACK_METHODS],
  ["attribution_attack_measure", ATTRIBUTION_ATTACK_MEASURES],
  ["saliency_type", SALIENCY_TYPES],
];

for (const [key, values] of VOCABULARIES) {
  Deno.test(`vocabulary: every value of ${key} parses, and only those`, () => {
    assert.ok(values.length > 0);
    assert.equal(new Set(values).size, values.length, "values repeat");
    for (const v of values) {
      const text = JSON.stringify({ model_dir: "x", [key]: v });
      const { config, warnings } = parseConfig(text, "v.json");
      assert.equal(config[key], v);
      assert.deepEqual(warnings, []);
    }
    for (const bad of ["zzzzzzzzzz", values[0].toUpperCase() + "!", ""]) {
      const text = JSON.stringify({ model_dir: "x", [key]: bad });
      assert.throws(
        () => parseConfig(text, "v.json"),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          const listed = values.map((v) => JSON.stringify(v)).join(", ");
          const expected = `"${key}" must be one of ${listed}; found ${JSON.stringify(bad)}`;
          assert.ok(e.message.includes(expected), `${e.message}\nlacks\n${expected}`);
          return true;
        },
      );
    }
  });
}

Deno.test("vocabulary: isOneOf narrows strings of the array only", () => {
  assert.equal(isOneOf(DATASET_NAMES, "gtsrb"), true);
  assert.equal(isOneOf(DATASET_NAMES, "GTSRB"), false);
  assert.equal(isOneOf(DATASET_NAMES, "toString"), false);
  assert.equal(isOneOf(DATASET_NAMES, 3), false);
  assert.equal(isOneOf(DATASET_NAMES, undefined), false);
});

Deno.test("vocabulary: the parts of each objective (docs/spec.md §4)", () => {
  assert.deepEqual(Object.keys(OBJECTIVE_PARTS).sort(), [...TRAINING_OBJECTIVES].sort());
  assert.deepEqual(TRAINING_OBJECTIVES.filter(objectiveRunsPgd), ["adv", "ar", "adv_ar"]);
  assert.deepEqual(TRAINING_OBJECTIVES.filter((o) => OBJECTIVE_PARTS[o].igTerm), ["ar", "adv_ar"]);
  assert.deepEqual(TRAINING_OBJECTIVES.filter((o) => OBJECTIVE_PARTS[o].adversarial), [
    "adv",
    "adv_ar",
  ]);
});

Deno.test("vocabulary: training requires m, lambda and approx_factor exactly for IG objectives", () => {
  const base = JSON.parse(
    Deno.readTextFileSync(new URL("../configs/mnist/nat.json", import.meta.url)),
  );
  for (const key of ["m", "lambda", "approx_factor"]) delete base[key];
  for (const objective of TRAINING_OBJECTIVES) {
    const text = JSON.stringify({ ...base, training_objective: objective });
    let message = "";
    try {
      parseConfig(text, "o.json", { require: "train" });
    } catch (e) {
      message = (e as Error).message;
    }
    assert.equal(message.includes(`missing key "m"`), OBJECTIVE_PARTS[objective].igTerm, objective);
  }
});

Deno.test("vocabulary: evaluation losses", () => {
  for (const l of LOSS_FUNCS) {
    const e = evalLossFunc(l);
    assert.ok(isOneOf(EVAL_LOSS_FUNCS, e));
    assert.equal(e, isOneOf(EVAL_LOSS_FUNCS, l) ? l : "xent");
  }
  assert.deepEqual(LOSS_FUNCS.filter((l) => isOneOf(EVAL_LOSS_FUNCS, l)), ["xent", "cw"]);
});

Deno.test("vocabulary: saliencyMap refuses a type outside SALIENCY_TYPES, listing them", () => {
  const x = { shape: [1, 28, 28, 1] } as unknown as Tensor;
  assert.throws(
    () => saliencyMap(mnistCnn(), {}, x, x, "smoothgrad" as SaliencyType),
    new Error(`saliency_type must be "ig" or "simple_gradient", got "smoothgrad"`),
  );
});
