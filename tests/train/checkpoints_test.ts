/**
 * Checkpoints of training runs: a fresh run never mixes with an earlier run's checkpoints,
 * `overwrite` sets them aside, and a resume falls back past a damaged checkpoint and
 * validates the saved training state.
 * @module
 */

import assert from "node:assert/strict";
import { setup } from "../helpers.ts";
import { loadDataset } from "../../src/data/mod.ts";
import { train } from "../../src/train/trainer.ts";
import { CHECKPOINT_INDEX, CheckpointStore } from "../../src/io/files.ts";
import {
  parseSafetensors,
  type SafeTensorInput,
  serializeSafetensors,
} from "../../src/io/safetensors.ts";
import { disposeParams, names, paramBytes, quickstart, quiet, tiny } from "./_helpers.ts";

await setup();
const mnist = await loadDataset("mnist");
const data = tiny(mnist, 8);

const base = [
  "training_batch_size=3",
  "num_output_steps=1",
  "num_summary_steps=1",
  "num_checkpoint_steps=2",
  "learning_rate=0.001",
];

const ckpt = (step: number) => `ckpt-${String(step).padStart(8, "0")}.safetensors`;

/** Leaves the files of an earlier run (checkpoints of steps 24600…25000) in `dir`. */
async function earlierRun(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {
    [ckpt(24600)]: "old weights 24600",
    [ckpt(24900)]: "old weights 24900",
    [ckpt(25000)]: "old weights 25000",
    [CHECKPOINT_INDEX]: JSON.stringify({
      run: "earlier",
      latest: ckpt(25000),
      all: [ckpt(24600), ckpt(24900), ckpt(25000)],
    }),
    "config.json": '{"max_num_training_steps": 25000}',
    "metrics.jsonl": '{"step":24900,"loss":0.1}\n',
    "events.out.tfevents.1700000000.host": "old events",
    "eval_natural.json": '{"step":25000}',
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return files;
}

Deno.test("a fresh run in a model_dir holding an earlier run's checkpoints refuses to start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await earlierRun(dir);
    const before = names(dir);
    const out = quiet();
    await assert.rejects(
      train({
        config: await quickstart(dir, [...base, "max_num_training_steps=2"]),
        dataset: data,
        sink: out,
      }),
      (e: unknown) => {
        assert.ok(e instanceof Error && !(e instanceof TypeError), String(e));
        assert.ok(e.message.includes(dir), e.message);
        assert.ok(e.message.includes(ckpt(25000)), e.message);
        assert.ok(e.message.includes("--set continue_train=true"), e.message);
        assert.ok(e.message.includes("--overwrite"), e.message);
        assert.ok(e.message.includes("previous/"), e.message);
        return true;
      },
    );
    assert.deepEqual(names(dir), before);
    for (const [name, text] of Object.entries(files)) {
      assert.equal(await Deno.readTextFile(`${dir}/${name}`), text, name);
    }
    // an index alone (its checkpoints gone) also marks an earlier run
    for (const s of [24600, 24900, 25000]) await Deno.remove(`${dir}/${ckpt(s)}`);
    await assert.rejects(
      train({
        config: await quickstart(dir, [...base, "max_num_training_steps=2"]),
        dataset: data,
        sink: out,
      }),
      /continue_train=true/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("overwrite moves the earlier run into previous/<UTC time>/ and the new checkpoints are latest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await earlierRun(dir);
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    const out = quiet();
    const r = await train({
      config: await quickstart(dir, [...base, "max_num_training_steps=4"]),
      dataset: data,
      sink: out,
      overwrite: true,
    });
    assert.equal(r.status, "completed");
    assert.equal(r.checkpoint, `${dir}/${ckpt(4)}`);
    assert.ok(Deno.statSync(r.checkpoint).isFile);
    const store = new CheckpointStore(dir);
    assert.deepEqual(await store.latest(), { step: 4, path: `${dir}/${ckpt(4)}` });
    const prev = names(`${dir}/previous`);
    assert.equal(prev.length, 1);
    assert.match(prev[0], /^\d{8}T\d{6}Z$/);
    const moved = `${dir}/previous/${prev[0]}`;
    assert.deepEqual(names(moved), Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) {
      assert.equal(await Deno.readTextFile(`${moved}/${name}`), text, name);
    }
    assert.ok(out.text.includes(moved), out.text);
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
    assert.deepEqual(names(dir).filter((n) => n.startsWith("ckpt-")), [ckpt(2), ckpt(4)]);
    const metrics = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
    assert.deepEqual(metrics.map((l) => JSON.parse(l).step), [0, 1, 2, 3]);
    disposeParams(r.params);
    // overwrite starts a fresh run: with continue_train it is a contradiction
    await assert.rejects(
      train({
        config: await quickstart(dir, [...base, "continue_train=true"]),
        dataset: data,
        sink: quiet(),
        overwrite: true,
      }),
      /overwrite.*continue_train|continue_train.*overwrite/,
    );
    assert.deepEqual(await store.latest(), { step: 4, path: `${dir}/${ckpt(4)}` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Rewrites a checkpoint file with `edit` applied to its tensors and training state. */
async function rewrite(
  path: string,
  edit: (tensors: Map<string, SafeTensorInput>, state: Record<string, unknown>) => string | void,
): Promise<void> {
  const file = parseSafetensors(await Deno.readFile(path), path);
  const tensors = new Map<string, SafeTensorInput>(file.tensors);
  const state = JSON.parse(file.metadata.rar_state);
  const raw = edit(tensors, state);
  const metadata = { ...file.metadata, rar_state: raw ?? JSON.stringify(state) };
  await Deno.writeFile(path, serializeSafetensors(tensors, metadata));
}

Deno.test("a resume falls back past a truncated latest checkpoint and a bad state, naming each", async () => {
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  try {
    const whole = await train({
      config: await quickstart(dirA, [...base, "max_num_training_steps=8"]),
      dataset: data,
      sink: quiet(),
    });
    const first = await train({
      config: await quickstart(dirB, [...base, "max_num_training_steps=8"]),
      dataset: data,
      sink: quiet(),
      stepLimit: 6,
    });
    disposeParams(first.params);
    const six = `${dirB}/${ckpt(6)}`, four = `${dirB}/${ckpt(4)}`;
    const bytes = await Deno.readFile(six);
    await Deno.writeFile(six, bytes.subarray(0, bytes.length >> 1));
    await rewrite(four, (_, state) => void (state.step = 40));
    const out = quiet();
    const resumed = await train({
      config: await quickstart(dirB, [...base, "max_num_training_steps=8", "continue_train=true"]),
      dataset: data,
      sink: out,
    });
    const warnings = out.text.split("\n").filter((l) => l.startsWith("warning:"));
    assert.equal(warnings.length, 2, out.text);
    assert.ok(warnings[0].includes(six), warnings[0]);
    assert.ok(warnings[1].includes(four), warnings[1]);
    assert.match(warnings[1], /step 40/);
    assert.match(out.text, /from step 2 to 8/);
    assert.equal(resumed.step, 8);
    assert.deepEqual(await paramBytes(resumed.params), await paramBytes(whole.params));
    disposeParams(whole.params);
    disposeParams(resumed.params);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("a wrong saved training state is an error naming the file and what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = await train({
      config: await quickstart(dir, [...base, "max_num_training_steps=2"]),
      dataset: data,
      sink: quiet(),
    });
    disposeParams(good.params);
    const path = `${dir}/${ckpt(2)}`;
    const original = await Deno.readFile(path);
    const first = (t: Map<string, SafeTensorInput>, slot: string) =>
      [...t.keys()].find((k) => k.startsWith(`${slot}:`) && t.get(k)!.shape.length === 2)!;
    const cases: [string, Parameters<typeof rewrite>[1], RegExp][] = [
      ["step beyond max", (_, s) => void (s.step = 1e9), /step 1000000000.*max_num_training_steps/],
      ["fractional step", (_, s) => void (s.step = 2.5), /step/],
      ["negative step", (_, s) => void (s.step = -2), /step/],
      ["no step", (_, s) => void delete s.step, /step/],
      ["not JSON", () => "{step: 2", /rar_state/],
      ["no data order", (_, s) => void delete s.batcher, /data order/],
      [
        "data order behind the step",
        (_, s) => void ((s.batcher as { position: number }).position = 5),
        /data order/,
      ],
      [
        "data order of another dataset size",
        (_, s) => void ((s.batcher as { count: number }).count = 9),
        /9 examples/,
      ],
      [
        "data order with a damaged generator state",
        (_, s) => void ((s.batcher as { rng: number }).rng ^= 1 << 7),
        /data order/,
      ],
      ["batch size", (_, s) => void (s.batch_size = 4), /training_batch_size/],
      ["missing optimiser slot", (t) => void t.delete(first(t, "adam_m")), /adam_m:.* missing/],
      [
        "optimiser slot of the wrong shape",
        (t) => {
          const k = first(t, "adam_v");
          const e = t.get(k)!;
          t.set(k, { ...e, shape: [...e.shape].reverse() });
        },
        /adam_v:.*shape/,
      ],
      [
        "optimiser slot of the wrong dtype",
        (t) => {
          const k = first(t, "adam_m");
          const e = t.get(k)!;
          t.set(k, { dtype: "I32", shape: e.shape, data: new Int32Array(e.data.length) });
        },
        /adam_m:.*F32/,
      ],
      [
        "a slot of another optimiser",
        (t) => {
          const k = first(t, "adam_m");
          t.set(k.replace("adam_m", "momentum"), t.get(k)!);
        },
        /momentum:/,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      await Deno.writeFile(path, original);
      await rewrite(path, edit);
      await assert.rejects(
        train({
          config: await quickstart(dir, [
            ...base,
            "max_num_training_steps=4",
            "continue_train=true",
          ]),
          dataset: data,
          sink: quiet(),
        }),
        (e: unknown) => {
          assert.ok(e instanceof Error && !(e instanceof TypeError), `${what}: ${e}`);
          assert.ok(e.message.includes(path), `${what}: ${e.message}`);
          assert.match(e.message, expected, what);
          return true;
        },
        what,
      );
      assert.deepEqual(names(dir).filter((n) => n.startsWith("ckpt-")), [ckpt(2)], what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
