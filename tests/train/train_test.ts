import assert from "node:assert/strict";
import { setup } from "../helpers.ts";
import { type Dataset, loadDataset } from "../../src/data/mod.ts";
import { train } from "../../src/train/trainer.ts";
import { decodeEvents } from "../../src/io/tensorboard.ts";
import { parseConfig } from "../../src/config.ts";
import { quickstart, quiet, tiny as tinyOf } from "./_helpers.ts";
import { fixturePath } from "../data/_helpers.ts";

await setup();
const mnist = await loadDataset("mnist");

const tiny = (n: number): Dataset => tinyOf(mnist, n);
const config = quickstart;

const objectives: [string, string[]][] = [
  ["nat", []],
  ["adv", ['loss_func="xent"', "k=3", "a=0.1", "epsilon=0.3"]],
  ["ar", [
    'loss_func="ar_approx"',
    "k=2",
    "a=0.1",
    "epsilon=0.3",
    "m=2",
    "approx_factor=1",
    "lambda=1",
  ]],
  ["adv_ar", [
    'loss_func="adv_ar_approx"',
    "k=2",
    "a=0.1",
    "epsilon=0.3",
    "m=2",
    "approx_factor=1",
    "lambda=0.1",
  ]],
];

for (const [objective, sets] of objectives) {
  Deno.test(`training objective ${objective}: the loss decreases on a tiny dataset`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const c = await config(dir, [
        `training_objective="${objective}"`,
        "training_batch_size=4",
        "max_num_training_steps=12",
        "num_output_steps=1",
        "num_summary_steps=1",
        "num_checkpoint_steps=100",
        "learning_rate=0.002",
        ...sets,
      ]);
      const out = quiet();
      const r = await train({ config: c, dataset: tiny(4), sink: out });
      assert.equal(r.status, "completed");
      const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(lines.length, 12);
      const first = lines[0].loss, last = lines[lines.length - 1].loss;
      assert.ok(last < first, `${objective}: loss ${first} → ${last}`);
      if (objective === "ar" || objective === "adv_ar") assert.ok(lines[0].ig_term > 0);
      if (objective !== "nat") assert.ok("accuracy/adversarial" in lines[0]);
      for (const p of Object.values(r.params)) p.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("N steps + resume + N steps gives exactly the parameters of 2N steps", async () => {
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  try {
    const sets = [
      'training_objective="adv"',
      'loss_func="xent"',
      "k=2",
      "a=0.1",
      "training_batch_size=3",
      "max_num_training_steps=8",
      "num_output_steps=2",
      "num_summary_steps=2",
      "num_checkpoint_steps=2",
      "learning_rate=0.001",
    ];
    const ds = tiny(7); // 7 images, batch 3: batches span epochs and reshuffles
    const whole = await train({ config: await config(dirA, sets), dataset: ds, sink: quiet() });
    const half = await train({
      config: await config(dirB, sets),
      dataset: ds,
      sink: quiet(),
      stepLimit: 4,
    });
    assert.equal(half.step, 4);
    for (const p of Object.values(half.params)) p.dispose();
    const resumed = await train({
      config: await config(dirB, [...sets, "continue_train=true"]),
      dataset: ds,
      sink: quiet(),
    });
    assert.equal(resumed.step, 8);
    for (const name of Object.keys(whole.params)) {
      const a = await whole.params[name].data(), b = await resumed.params[name].data();
      assert.deepEqual(
        new Uint8Array(b.buffer),
        new Uint8Array(a.buffer),
        `parameter ${name} differs`,
      );
    }
    // checkpoints: the newest three are kept
    const ckpts = [...Deno.readDirSync(dirA)].map((e) => e.name).filter((n) =>
      n.startsWith("ckpt-")
    ).sort();
    assert.deepEqual(ckpts, [
      "ckpt-00000004.safetensors",
      "ckpt-00000006.safetensors",
      "ckpt-00000008.safetensors",
    ]);
    // the TensorBoard file decodes with valid CRCs and holds the summaries
    const ev = [...Deno.readDirSync(dirA)].find((e) => e.name.startsWith("events.out.tfevents."))!;
    const events = decodeEvents(await Deno.readFile(`${dirA}/${ev.name}`));
    assert.equal(events[0].fileVersion, "brain.Event:2");
    const steps = events.slice(1).map((e) => e.step);
    assert.deepEqual(steps, [0, 2, 4, 6]);
    assert.ok(
      Number.isFinite(events[1].scalars.loss) && "accuracy/adversarial" in events[1].scalars,
    );
    // the configuration is copied into model_dir
    assert.match(await Deno.readTextFile(`${dirA}/config.json`), /"training_objective": "adv"/);
    for (const p of [...Object.values(whole.params), ...Object.values(resumed.params)]) p.dispose();
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("a NaN or infinite loss stops training and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = [
      "training_batch_size=4",
      "num_output_steps=1",
      "num_summary_steps=1",
      "num_checkpoint_steps=2",
    ];
    const good = await train({
      config: await config(dir, [...base, "max_num_training_steps=2"]),
      dataset: tiny(8),
      sink: quiet(),
    });
    for (const p of Object.values(good.params)) p.dispose();
    const before = await Deno.readFile(`${dir}/ckpt-00000002.safetensors`);
    const out = quiet();
    const r = await train({
      config: await config(dir, [
        ...base,
        "max_num_training_steps=40",
        "continue_train=true",
        "learning_rate=1e30",
      ]),
      dataset: tiny(8),
      sink: out,
    });
    assert.equal(r.status, "diverged");
    assert.match(out.text, /the loss is (NaN|Infinity|-Infinity); training stopped/);
    assert.match(out.text, /ckpt-00000002\.safetensors is kept/);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.startsWith("ckpt-")
    );
    assert.deepEqual(names, ["ckpt-00000002.safetensors"]);
    assert.deepEqual(await Deno.readFile(`${dir}/ckpt-00000002.safetensors`), before);
    for (const p of Object.values(r.params)) p.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GTSRB from npz files trains the ResNet with momentum and the learning-rate schedule", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fixtures = fixturePath("npz/gtsrb/");
    const ds = await loadDataset("gtsrb", fixtures);
    const text = await Deno.readTextFile(new URL("../../configs/gtsrb/nat.json", import.meta.url));
    const c = parseConfig(text, "gtsrb/nat.json", {
      overrides: [
        `model_dir=${JSON.stringify(dir)}`,
        `data_path=${JSON.stringify(fixtures)}`,
        "training_batch_size=4",
        "max_num_training_steps=3",
        "num_output_steps=1",
        "num_summary_steps=1",
        "num_checkpoint_steps=3",
        "step_size_schedule=[[0, 0.001], [1, 0.01]]",
      ],
      require: "train",
    }).config;
    const r = await train({ config: c, dataset: ds, sink: quiet() });
    assert.equal(r.status, "completed");
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(lines.map((l) => l.learning_rate), [0.001, 0.001, 0.01]);
    assert.ok(lines.every((l) => Number.isFinite(l.loss)));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(names.includes("ckpt-00000003.safetensors"));
    for (const p of Object.values(r.params)) p.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
