import assert from "node:assert/strict";
import { join } from "node:path";
import { setup } from "../helpers.ts";
import { loadDataset } from "../../src/data/mod.ts";
import { train } from "../../src/train/trainer.ts";
import { mnistCnn } from "../../src/nn/mnist_cnn.ts";
import { resnet } from "../../src/nn/resnet.ts";
import { initParams, saveParams } from "../../src/nn/params.ts";
import { parseSafetensors } from "../../src/io/safetensors.ts";
import { CheckpointStore } from "../../src/io/files.ts";
import { loadInitialParams, loadLatestParams } from "../../src/train/load.ts";
import { quickstart, quiet, tiny } from "./_helpers.ts";

await setup();
const mnist = await loadDataset("mnist");
const data = tiny(mnist, 64);

const base = [
  "training_batch_size=8",
  "num_output_steps=1",
  "num_summary_steps=1",
  "num_checkpoint_steps=100",
  "learning_rate=0.002",
];

Deno.test("init_from: a fine-tune starts from the parameters of the source, at step 0, with a fresh optimiser", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = join(root, "natural"), b = join(root, "fine");
    const src = await train({
      config: await quickstart(a, [...base, "max_num_training_steps=3"]),
      dataset: data,
      sink: quiet(),
    });
    const want = Object.fromEntries(
      await Promise.all(Object.entries(src.params).map(async ([k, t]) => [k, await t.data()])),
    );
    for (const t of Object.values(src.params)) t.dispose();

    // From the model directory: its latest checkpoint, no step taken yet.
    const sink = quiet();
    const r = await train({
      config: await quickstart(b, [
        ...base,
        "max_num_training_steps=2",
        `init_from=${JSON.stringify(a)}`,
        'training_objective="adv"',
        "k=1",
      ]),
      dataset: data,
      sink,
      stepLimit: 0,
    });
    assert.match(
      sink.text,
      /fine-tuning from .*ckpt-0+3\.safetensors \(step 3\): fresh optimiser, step 0/,
    );
    assert.equal(r.step, 0);
    for (const [k, t] of Object.entries(r.params)) {
      assert.deepEqual(await t.data(), want[k], `parameter ${k}`);
      t.dispose();
    }
    const saved = JSON.parse(await Deno.readTextFile(join(b, "config.json")));
    assert.equal(saved.init_from, a);

    // One step later, the checkpoint's training state and metrics.jsonl record the source.
    const one = await train({
      config: await quickstart(b, [
        ...base,
        "max_num_training_steps=2",
        `init_from=${JSON.stringify(a)}`,
        'training_objective="adv"',
        "k=1",
        "continue_train=true",
      ]),
      dataset: data,
      sink: quiet(),
      stepLimit: 1,
    });
    for (const t of Object.values(one.params)) t.dispose();
    const latest = (await new CheckpointStore(b).latest())!;
    assert.equal(latest.step, 1);
    const state = JSON.parse(
      parseSafetensors(await Deno.readFile(latest.path)).metadata.rar_state,
    );
    assert.match(state.init_from, /ckpt-0+3\.safetensors$/);
    assert.ok(state.train_seconds > 0);
    const first = JSON.parse((await Deno.readTextFile(join(b, "metrics.jsonl"))).split("\n")[0]);
    assert.equal(first.init_from_step, 3);
    assert.match(first.init_from, /ckpt-0+3\.safetensors$/);

    // Resuming the fine-tune continues it (the source is not read again) and trains to the end.
    const done = await train({
      config: await quickstart(b, [
        ...base,
        "max_num_training_steps=2",
        `init_from=${JSON.stringify(join(root, "gone"))}`,
        'training_objective="adv"',
        "k=1",
        "continue_train=true",
      ]),
      dataset: data,
      sink: quiet(),
    });
    assert.equal(done.step, 2);
    for (const t of Object.values(done.params)) t.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("init_from: a missing source or a parameter of another shape is an error naming it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const model = mnistCnn();
    await assert.rejects(
      () => loadInitialParams(model, join(root, "nothing")),
      /init_from .*nothing: no such file or directory \(expected a checkpoint file or a model directory\)/,
    );
    await assert.rejects(
      () => loadInitialParams(model, root),
      /init_from .*: the directory holds no checkpoint/,
    );
    const other = resnet({ size: 32, numClasses: 43 });
    const p = initParams(other, 1);
    const file = join(root, "resnet.safetensors");
    await Deno.writeFile(file, await saveParams(p, {}));
    for (const t of Object.values(p)) t.dispose();
    await assert.rejects(
      () => loadInitialParams(model, file),
      /init_from .*resnet\.safetensors: tensor \S+ is/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLatestParams: a damaged newest checkpoint is skipped with a warning naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await train({
      config: await quickstart(dir, [
        ...base,
        "max_num_training_steps=2",
        "num_checkpoint_steps=1",
      ]),
      dataset: data,
      sink: quiet(),
    });
    for (const t of Object.values(r.params)) t.dispose();
    const store = new CheckpointStore(dir);
    const newest = (await store.latest())!;
    const bytes = await Deno.readFile(newest.path);
    await Deno.writeFile(newest.path, bytes.subarray(0, bytes.length >> 1));
    const warnings: string[] = [];
    const found = (await loadLatestParams(mnistCnn(), dir, (m) => warnings.push(m)))!;
    assert.equal(found.entry.step, 1);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(newest.path), warnings[0]);
    for (const t of Object.values(found.params)) t.dispose();
    assert.equal(await loadLatestParams(mnistCnn(), join(dir, "none"), () => {}), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
