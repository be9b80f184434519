/**
 * The weights-only `model.safetensors` of a finished run (docs/weights.md): what training
 * writes, `loadTrained` from a directory, a checkpoint, the file and an http URL, the errors
 * naming the file, and that an earlier file of another run is moved aside, never lost.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { setup } from "../helpers.ts";
import { loadDataset } from "../../src/data/mod.ts";
import { train } from "../../src/train/trainer.ts";
import { loadTrained, saveWeights, WEIGHTS_FILE } from "../../src/train/load.ts";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.ts";
import { CheckpointStore } from "../../src/io/files.ts";
import { mnistCnn } from "../../src/nn/mnist_cnn.ts";
import { initParams } from "../../src/nn/params.ts";
import { disposeParams, names, paramBytes, quickstart, quiet, tiny } from "./_helpers.ts";

await setup();
const mnist = await loadDataset("mnist");
const data = tiny(mnist, 32);
const base = [
  "training_batch_size=8",
  "num_output_steps=1",
  "num_summary_steps=1",
  "num_checkpoint_steps=100",
  "learning_rate=0.002",
  "max_num_training_steps=2",
];

const root = await Deno.makeTempDir();
const dir = join(root, "run");
const trained = await train({ config: await quickstart(dir, base), dataset: data, sink: quiet() });
const finalParams = await paramBytes(trained.params);
disposeParams(trained.params);
const weightsPath = join(dir, WEIGHTS_FILE);

addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

/** Asserts the loaded parameters equal the trained ones, byte for byte. */
async function assertFinal(params: Record<string, { data(): Promise<Float32Array | Int32Array> }>) {
  assert.deepEqual(Object.keys(params).sort(), Object.keys(finalParams).sort());
  for (const [name, t] of Object.entries(params)) {
    assert.deepEqual(new Uint8Array((await t.data()).buffer), finalParams[name], name);
  }
}

Deno.test("training writes model.safetensors: only the parameters (F32, named as in docs/spec.md §2), equal to the final checkpoint's", async () => {
  const file = parseSafetensors(await Deno.readFile(weightsPath), weightsPath);
  const model = mnistCnn();
  assert.deepEqual([...file.tensors.keys()].sort(), model.specs.map((s) => s.name).sort());
  const ckpt = (await new CheckpointStore(dir).latest())!;
  assert.equal(ckpt.step, 2);
  const c = parseSafetensors(await Deno.readFile(ckpt.path), ckpt.path);
  for (const s of model.specs) {
    const e = file.tensors.get(s.name)!;
    assert.equal(e.dtype, "F32");
    assert.deepEqual(e.shape, s.shape);
    assert.deepEqual(new Uint8Array(e.data.buffer), finalParams[s.name], s.name);
    assert.deepEqual(e.data, c.tensors.get(s.name)!.data, `${s.name} = checkpoint's`);
  }
  const m = file.metadata;
  assert.equal(m.format, "rar-weights");
  assert.equal(m.model, "mnist_cnn");
  assert.equal(m.dataset, "mnist");
  assert.equal(m.step, "2");
  assert.equal(m.rar_run, JSON.parse(await Deno.readTextFile(join(dir, "checkpoint.json"))).run);
  const config = JSON.parse(m.config);
  assert.equal(config.dataset, "mnist");
  assert.equal(config.max_num_training_steps, 2);
  assert.equal(config.training_batch_size, 8);
  // config.json is the resolved configuration (defaults filled in)
  const saved = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  assert.equal(saved.max_num_training_steps, 2);
  assert.equal(typeof saved.epsilon, "number");
});

Deno.test("an unfinished run (step limit) writes no model.safetensors", async () => {
  const d = join(root, "partial");
  const r = await train({
    config: await quickstart(d, [...base, "max_num_training_steps=3"]),
    dataset: data,
    sink: quiet(),
    stepLimit: 1,
  });
  disposeParams(r.params);
  assert.ok(!names(d).includes(WEIGHTS_FILE));
});

Deno.test("loadTrained: a model directory, a checkpoint, model.safetensors and a file URL give the final parameters", async () => {
  const ckpt = (await new CheckpointStore(dir).latest())!.path;
  for (const source of [dir, ckpt, weightsPath, new URL(`file://${weightsPath}`)]) {
    const t = await loadTrained(source);
    try {
      assert.equal(t.model.kind, "mnist_cnn");
      assert.equal(t.dataset, "mnist");
      assert.equal(t.config.max_num_training_steps, 2);
      await assertFinal(t.params);
    } finally {
      disposeParams(t.params);
    }
  }
  // a directory holding only model.safetensors (e.g. downloaded) loads too, with overrides
  const only = join(root, "shared");
  await Deno.mkdir(only);
  await Deno.copyFile(weightsPath, join(only, WEIGHTS_FILE));
  const t = await loadTrained(only, { overrides: ["num_eval_examples=7"] });
  try {
    assert.equal(t.path, join(only, WEIGHTS_FILE));
    assert.equal(t.config.num_eval_examples, 7);
    await assertFinal(t.params);
  } finally {
    disposeParams(t.params);
  }
});

Deno.test("loadTrained: an http URL is fetched; an HTTP error names the URL", async () => {
  const bytes = await Deno.readFile(weightsPath);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/m/model.safetensors"
        ? new Response(bytes)
        : new Response("no", { status: 404 }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/m/model.safetensors`;
    const t = await loadTrained(url);
    try {
      assert.equal(t.path, url);
      await assertFinal(t.params);
    } finally {
      disposeParams(t.params);
    }
    const gone = `http://127.0.0.1:${server.addr.port}/gone.safetensors`;
    await assert.rejects(
      () => loadTrained(gone),
      (e: Error) => e.message.startsWith(`${gone}: HTTP 404`),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadTrained: weights that do not match the model are an error naming the file and tensor", async () => {
  const file = parseSafetensors(await Deno.readFile(weightsPath), weightsPath);
  const write = async (name: string, edit: (t: Map<string, unknown>) => void, meta = {}) => {
    const tensors = new Map<string, unknown>(
      [...file.tensors].map(([k, e]) => [k, { dtype: e.dtype, shape: e.shape, data: e.data }]),
    );
    edit(tensors);
    const path = join(root, name);
    await Deno.writeFile(
      path,
      serializeSafetensors(
        tensors as Parameters<typeof serializeSafetensors>[0],
        { ...file.metadata, ...meta },
      ),
    );
    return path;
  };
  const missing = await write("missing.safetensors", (t) => t.delete("b_fc2"));
  await assert.rejects(
    () => loadTrained(missing),
    (e: Error) => e.message.startsWith(`${missing}: tensor b_fc2 is missing`),
  );
  const extra = await write(
    "extra.safetensors",
    (t) => t.set("W_fc3", { shape: [2], data: new Float32Array(2) }),
  );
  await assert.rejects(
    () => loadTrained(extra),
    (e: Error) => e.message.startsWith(`${extra}: tensor W_fc3 is not a parameter`),
  );
  const shape = await write(
    "shape.safetensors",
    (t) => t.set("b_fc2", { shape: [11], data: new Float32Array(11) }),
  );
  await assert.rejects(
    () => loadTrained(shape),
    (e: Error) => e.message.startsWith(`${shape}: tensor b_fc2 has shape [11], expected [10]`),
  );
  const family = await write("family.safetensors", () => {}, { dataset: "gtsrb" });
  await assert.rejects(
    () => loadTrained(family),
    (e: Error) => e.message.startsWith(`${family}: tensor init_conv/DW is missing`),
  );
  const unknown = await write("unknown.safetensors", () => {}, { dataset: "cifar" });
  await assert.rejects(
    () => loadTrained(unknown),
    /unknown\.safetensors: metadata dataset "cifar"/,
  );
  await assert.rejects(
    () => loadTrained(join(root, "nowhere")),
    /nowhere: no such file or directory \(expected a model directory, a checkpoint or a model\.safetensors file\)/,
  );
  const empty = join(root, "empty");
  await Deno.mkdir(empty);
  await assert.rejects(
    () => loadTrained(empty),
    /empty: the directory holds no checkpoint and no model\.safetensors/,
  );
});

Deno.test("saveWeights: a model.safetensors of another run is moved aside, one of the same run replaced", async () => {
  const d = join(root, "aside");
  await Deno.mkdir(d);
  await Deno.writeTextFile(join(d, WEIGHTS_FILE), "someone else's file");
  const model = mnistCnn();
  const p = initParams(model, 3);
  try {
    const config = await quickstart(d, base);
    const first = await saveWeights(d, model, p, { dataset: "mnist", config, step: 5, run: "A" });
    assert.ok(first.moved, "the foreign file was moved");
    assert.equal(await Deno.readTextFile(first.moved!), "someone else's file");
    const again = await saveWeights(d, model, p, { dataset: "mnist", config, step: 6, run: "A" });
    assert.equal(again.moved, undefined);
    const other = await saveWeights(d, model, p, { dataset: "mnist", config, step: 1, run: "B" });
    assert.ok(other.moved);
    const kept = parseSafetensors(await Deno.readFile(other.moved!), other.moved!);
    assert.equal(kept.metadata.step, "6");
    assert.equal(kept.metadata.rar_run, "A");
    assert.deepEqual(names(join(d, "previous")).length, 2);
  } finally {
    disposeParams(p);
  }
});
