/**
 * The model registry: every dataset has exactly one family, whose builder makes the model the
 * dataset's images fit; the family rules of the configuration follow the entries. Builders only
 * describe parameters, so no GPU is needed.
 */

import assert from "node:assert/strict";
import {
  familyEntry,
  familyOf,
  familyOfConfig,
  familyOfDataset,
  MODEL_FAMILIES,
  MODEL_REGISTRY,
  modelForDataset,
} from "../../src/nn/registry.ts";
import { mnistCnn } from "../../src/nn/mnist_cnn.ts";
import { resnet } from "../../src/nn/resnet.ts";
import { DATASET_FACTS, IMAGE_SHAPE, NUM_CLASSES, PIXEL_MAX } from "../../src/data/types.ts";
import { DATASET_NAMES } from "../../src/vocabulary.ts";
import { configModelFamily, modelFamily, parseConfig } from "../../src/config.ts";

Deno.test("registry: every dataset belongs to exactly one family", () => {
  for (const name of DATASET_NAMES) {
    const owners = MODEL_FAMILIES.filter((f) =>
      (familyEntry(f).datasets as readonly string[]).includes(name)
    );
    assert.deepEqual(owners, [familyOfDataset(name)], name);
  }
  const served = MODEL_FAMILIES.flatMap((f) => familyEntry(f).datasets);
  assert.deepEqual([...served].sort(), [...DATASET_NAMES].sort());
});

Deno.test("registry: the model of each dataset takes its images and has its classes", () => {
  for (const name of DATASET_NAMES) {
    const model = modelForDataset(name);
    assert.deepEqual([...model.inputShape], [...IMAGE_SHAPE[name]], name);
    assert.equal(model.numClasses, NUM_CLASSES[name], name);
    assert.equal(model.kind, familyOfDataset(name), name);
    assert.equal(familyOf(model), MODEL_REGISTRY[model.kind]);
    const last = model.specs[model.specs.length - 1];
    assert.deepEqual(last.shape, [NUM_CLASSES[name]], name);
  }
});

Deno.test("registry: the models are those of docs/spec.md §2 (same parameters as the builders' own)", () => {
  const same = (a: ReturnType<typeof mnistCnn>, b: ReturnType<typeof mnistCnn>) => {
    assert.equal(a.kind, b.kind);
    assert.deepEqual(a.specs, b.specs);
    assert.deepEqual(a.footprint(), b.footprint());
  };
  same(modelForDataset("mnist"), mnistCnn());
  same(modelForDataset("fashion_mnist"), mnistCnn());
  same(modelForDataset("gtsrb"), resnet({ size: 32, numClasses: 43 }));
  same(modelForDataset("flower"), resnet({ size: 128, numClasses: 17 }));
});

Deno.test("registry: entries are consistent", () => {
  const defaults = MODEL_FAMILIES.filter((f) => familyEntry(f).marker === undefined);
  assert.equal(defaults.length, 1, "exactly one family is chosen when nothing marks another");
  for (const f of MODEL_FAMILIES) {
    const e = familyEntry(f);
    assert.ok((e.datasets as readonly string[]).includes(e.referenceDataset), f);
    for (const k of e.requiredTrainingKeys) assert.ok(e.trainingKeys.includes(k), `${f}: ${k}`);
    if (e.marker !== undefined) assert.ok(e.trainingKeys.includes(e.marker), f);
    assert.equal(e.weightDecay, e.optimizer === "momentum", f);
  }
  assert.equal(MODEL_REGISTRY.mnist_cnn.lossReduction, "sum");
  assert.equal(MODEL_REGISTRY.resnet.lossReduction, "mean");
});

Deno.test("registry: the family of a configuration", () => {
  const none = () => false;
  for (const name of DATASET_NAMES) {
    assert.equal(familyOfConfig(name, none), familyOfDataset(name));
    // the dataset decides, whatever keys are present
    assert.equal(familyOfConfig(name, () => true), familyOfDataset(name));
  }
  assert.equal(familyOfConfig(undefined, none), "mnist_cnn");
  assert.equal(familyOfConfig(undefined, (k) => k === "step_size_schedule"), "resnet");
  assert.equal(familyOfConfig(undefined, (k) => k === "momentum"), "mnist_cnn");

  const schedule = `{"model_dir": "x", "step_size_schedule": [[0, 0.1]]}`;
  assert.equal(configModelFamily(parseConfig(schedule, "s.json").config), "resnet");
  assert.equal(modelFamily(parseConfig(schedule, "s.json").config), "resnet");
  const plain = parseConfig(`{"model_dir": "x"}`, "p.json").config;
  assert.equal(configModelFamily(plain), "mnist_cnn");
  assert.equal(modelFamily(plain), "mnist");
});

Deno.test("dataset facts: one entry per dataset; the tables are read from it", () => {
  assert.deepEqual(Object.keys(DATASET_FACTS), [...DATASET_NAMES]);
  for (const name of DATASET_NAMES) {
    const f = DATASET_FACTS[name];
    assert.equal(NUM_CLASSES[name], f.classes);
    assert.deepEqual(IMAGE_SHAPE[name], f.imageShape);
    assert.equal(PIXEL_MAX[name], f.pixelMax);
  }
  // inferDataset needs one packaged dataset (no data_path), one other IDX dataset, and npz
  // datasets told apart by image size
  const names = (p: (f: typeof DATASET_FACTS.mnist) => boolean) =>
    DATASET_NAMES.filter((n) => p(DATASET_FACTS[n]));
  assert.deepEqual(names((f) => f.packaged), ["mnist"]);
  assert.deepEqual(names((f) => f.format === "idx" && !f.packaged), ["fashion_mnist"]);
  const sizes = names((f) => f.format === "npz").map((n) => IMAGE_SHAPE[n].slice(0, 2).join("x"));
  assert.equal(new Set(sizes).size, sizes.length);
});
