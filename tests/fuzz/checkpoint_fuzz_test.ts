/**
 * Fuzz tests of what a resume reads: a training checkpoint (parameters, optimiser slots and
 * the `rar_state` training state) restored by `restoreTraining`, and the checkpoint index
 * `checkpoint.json` read by `CheckpointStore`. Every case ends in a load or an error naming
 * the file, without a hang or an allocation the file cannot back.
 * @module
 */

import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import { setup } from "../helpers.ts";
import { quickstart } from "../train/_helpers.ts";
import { type SafeTensorInput, serializeSafetensors } from "../../src/io/safetensors.ts";
import { Batcher } from "../../src/data/batches.ts";
import type { Model, Params } from "../../src/nn/model.ts";
import { adam } from "../../src/train/optimizers.ts";
import { restoreTraining } from "../../src/train/state.ts";
import { CHECKPOINT_INDEX, CheckpointStore } from "../../src/io/files.ts";

await setup();

/** A two-parameter model: all that restoring a checkpoint looks at. */
const model = {
  kind: "mnist_cnn",
  specs: [
    { name: "W", shape: [3, 4], init: { kind: "constant", value: 0 }, decay: false },
    { name: "b", shape: [4], init: { kind: "constant", value: 0 }, decay: false },
  ],
} as unknown as Model;

const COUNT = 10, BATCH = 2, STEP = 7;
const config = await quickstart("unused", [
  `training_batch_size=${BATCH}`,
  "max_num_training_steps=50",
]);
const ctx = {
  model,
  config,
  count: COUNT,
  makeOptimizer: (p: Params) => adam(p),
};

function checkpoint(
  state: unknown,
  edit: (t: Record<string, SafeTensorInput>) => void = () => {},
): Uint8Array {
  const f = (n: number, v: number) => new Float32Array(n).fill(v);
  const tensors: Record<string, SafeTensorInput> = {
    "W": { shape: [3, 4], data: f(12, 0.5) },
    "b": { shape: [4], data: f(4, -1) },
    "adam_m:W": { shape: [3, 4], data: f(12, 0.01) },
    "adam_m:b": { shape: [4], data: f(4, 0.02) },
    "adam_v:W": { shape: [3, 4], data: f(12, 0.001) },
    "adam_v:b": { shape: [4], data: f(4, 0.002) },
  };
  edit(tensors);
  const rar = typeof state === "string" ? state : JSON.stringify(state);
  return serializeSafetensors(tensors, { rar_state: rar, config: "{}" });
}

const batcher = new Batcher(COUNT, BATCH, 12345);
for (let k = 0; k < STEP; k++) batcher.next();
const good = { step: STEP, batcher: batcher.state(), batch_size: BATCH };

function handMade(): Mutant[] {
  const b = good.batcher;
  const states: [string, unknown][] = [
    ["step huge", { ...good, step: 1e300 }],
    ["step unsafe", { ...good, step: 2 ** 60 }],
    ["step string", { ...good, step: "7" }],
    ["step null", { ...good, step: null }],
    ["epoch huge", { ...good, batcher: { ...b, epoch: 2 ** 52 } }],
    ["position negative", { ...good, batcher: { ...b, position: -1 } }],
    ["position float", { ...good, batcher: { ...b, position: 0.5 } }],
    ["rng too wide", { ...good, batcher: { ...b, rng: 2 ** 33 } }],
    ["rng string", { ...good, batcher: { ...b, rng: "1" } }],
    ["count huge", { ...good, batcher: { ...b, count: 1e15 } }],
    ["count zero", { ...good, batcher: { ...b, count: 0 } }],
    ["seed float", { ...good, batcher: { ...b, seed: 0.25 } }],
    ["batcher array", { ...good, batcher: [] }],
    ["batcher string", { ...good, batcher: "x" }],
    ["batch size zero", { ...good, batch_size: 0 }],
    ["batch size huge", { ...good, batch_size: 1e9 }],
    ["state null", "null"],
    ["state number", "7"],
    ["state array", "[1,2]"],
    ["state empty", ""],
    ["state deep", '{"step":' + "[".repeat(100_000)],
    ["state deep closed", "[".repeat(20_000) + "]".repeat(20_000)],
  ];
  const out: Mutant[] = states.map(([how, s]) => ({ how, bytes: checkpoint(s) }));
  const tensors: [string, (t: Record<string, SafeTensorInput>) => void][] = [
    ["slot missing", (t) => void delete t["adam_v:b"]],
    ["slot I32", (t) => void (t["adam_m:W"] = { shape: [3, 4], data: new Int32Array(12) })],
    [
      "slot transposed",
      (t) => void (t["adam_m:W"] = { shape: [4, 3], data: new Float32Array(12) }),
    ],
    ["slot extra", (t) => void (t["momentum:W"] = t["adam_m:W"])],
    ["slot scalar", (t) => void (t["adam_v:b"] = { shape: [], data: new Float32Array(1) })],
    ["parameter missing", (t) => void delete t["W"]],
  ];
  for (const [how, edit] of tensors) out.push({ how, bytes: checkpoint(good, edit) });
  out.push({
    how: "no metadata",
    bytes: serializeSafetensors({ W: { shape: [1], data: new Float32Array(1) } }),
  });
  return out;
}

Deno.test("fuzz: a training checkpoint restored for a resume", async () => {
  const valid = checkpoint(good);
  const name = "/models/run/ckpt-00000007.safetensors";
  const report = await fuzz({
    format: "training checkpoint",
    name,
    cases: [...handMade(), ...mutants(valid, 4000, 0x5eed)],
    parse: (bytes, file) => {
      const r = restoreTraining(bytes, file, ctx);
      for (const t of [...Object.values(r.params), ...Object.values(r.optimizer.state())]) {
        t.dispose();
      }
    },
  });
  if (report.loaded === 0) throw new Error("the valid checkpoint never loaded");
});

const ckptName = (s: number) => `ckpt-${String(s).padStart(8, "0")}.safetensors`;

function indexCases(): Mutant[] {
  const enc = (s: string) => new TextEncoder().encode(s);
  const texts: [string, string][] = [
    ["null", "null"],
    ["array", "[]"],
    ["latest number", '{"latest": 7}'],
    ["latest traversal", '{"latest": "../../etc/passwd", "all": ["../ckpt-00000001.safetensors"]}'],
    ["latest unsafe step", `{"latest": "ckpt-${"9".repeat(30)}.safetensors"}`],
    ["all string", `{"latest": "${ckptName(2)}", "all": "${ckptName(1)}"}`],
    ["all objects", `{"latest": "${ckptName(2)}", "all": [{}, null, 5, ["x"]]}`],
    ["run object", `{"run": {"a": 1}, "latest": "${ckptName(3)}", "all": []}`],
    [
      "many listed",
      JSON.stringify({
        latest: ckptName(3),
        all: Array.from({ length: 5000 }, (_, i) => ckptName(100 + i)),
      }),
    ],
    ["deep", '{"all":' + "[".repeat(100_000)],
    ["bom", "\ufeff" + JSON.stringify({ latest: ckptName(3), all: [ckptName(3)] })],
    ["empty", ""],
  ];
  return texts.map(([how, t]) => ({ how, bytes: enc(t) }));
}

Deno.test("fuzz: the checkpoint index read for latest() and a resume", async () => {
  const dir = await Deno.makeTempDir({ prefix: "index_fuzz_" });
  try {
    const store = new CheckpointStore(dir, 3, "run-1");
    for (const s of [1, 2, 3]) await store.save(s, new TextEncoder().encode(`weights@${s}`));
    const valid = await Deno.readFile(`${dir}/${CHECKPOINT_INDEX}`);
    const report = await fuzz({
      format: "checkpoint index",
      name: dir,
      cases: [...indexCases(), ...mutants(valid, 3000, 0x1dec)],
      parse: async (bytes) => {
        await Deno.writeFile(`${dir}/${CHECKPOINT_INDEX}`, bytes);
        const reader = new CheckpointStore(dir);
        const latest = await reader.latest();
        if (latest && !/^ckpt-0000000[123]\.safetensors$/.test(latest.path.slice(dir.length + 1))) {
          throw new TypeError(`latest() named ${latest.path}, not a checkpoint in ${dir}`);
        }
        await reader.loadLatest((b, e) => {
          if (new TextDecoder().decode(b) !== `weights@${e.step}`) {
            throw new Error(`${e.path}: not the checkpoint of step ${e.step}`);
          }
          return e.step;
        });
      },
    });
    if (report.loaded === 0) throw new Error("the valid index never loaded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
