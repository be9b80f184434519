/**
 * GPU faults during training: an emergency checkpoint from the GPU (when the step's state is
 * known and the device answers) or from the host copy of the last summary step, and the
 * command to resume. The last test destroys the device, so it stays last.
 * @module
 */

import assert from "node:assert/strict";
import { setup } from "../helpers.ts";
import { loadDataset } from "../../src/data/mod.ts";
import { train, type TrainPhase } from "../../src/train/trainer.ts";
import { CheckpointStore } from "../../src/io/files.ts";
import { GpuKernelError, runtime } from "../../src/gpu/runtime.ts";
import { parseSafetensors } from "../../src/io/safetensors.ts";
import { disposeParams, names, paramBytes, quickstart, quiet, tiny } from "./_helpers.ts";

await setup();
const mnist = await loadDataset("mnist");
const data = tiny(mnist, 8);
const RESUME = "deno task train --config cfg.json --set continue_train=true";

const settings = (checkpoint: number, summary: number, max = 6) => [
  "training_batch_size=3",
  "num_output_steps=100",
  `num_summary_steps=${summary}`,
  `num_checkpoint_steps=${checkpoint}`,
  `max_num_training_steps=${max}`,
  "learning_rate=0.001",
];

const ckpt = (dir: string, step: number) =>
  `${dir}/ckpt-${String(step).padStart(8, "0")}.safetensors`;

/** A hook that runs `fault` once, at `step` in `phase`. */
function at(step: number, phase: TrainPhase, fault: () => void | Promise<void>) {
  return async (s: number, p: TrainPhase) => {
    if (s === step && p === phase) await fault();
  };
}

const outOfMemory = () => {
  throw new GpuKernelError("out of GPU memory in allocating 1048576 bytes for xent output [3]");
};

/** The step saved in a checkpoint's training state. */
async function savedStep(path: string): Promise<number> {
  return JSON.parse(parseSafetensors(await Deno.readFile(path), path).metadata.rar_state).step;
}

Deno.test("a fault in a step's gradients saves that step's state read back from the GPU; the resume matches an unbroken run", async () => {
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  try {
    const sets = settings(100, 100);
    const whole = await train({
      config: await quickstart(dirA, sets),
      dataset: data,
      sink: quiet(),
    });
    const out = quiet();
    const broken = await train({
      config: await quickstart(dirB, sets),
      dataset: data,
      sink: out,
      resumeCommand: RESUME,
      onPhase: at(3, "gradients", outOfMemory),
    });
    assert.equal(broken.status, "gpu_fault", out.text);
    assert.ok(broken.error instanceof GpuKernelError);
    assert.equal(broken.step, 3);
    assert.equal(broken.checkpoint, ckpt(dirB, 3));
    assert.match(out.text, /step 3: GPU fault: out of GPU memory/);
    assert.ok(out.text.includes(`emergency checkpoint ${ckpt(dirB, 3)} saved`), out.text);
    assert.match(out.text, /read back from the GPU/);
    assert.ok(out.text.includes(RESUME), out.text);
    assert.deepEqual(await new CheckpointStore(dirB).latest(), { step: 3, path: ckpt(dirB, 3) });
    assert.equal(await savedStep(ckpt(dirB, 3)), 3);
    disposeParams(broken.params);
    const resumed = await train({
      config: await quickstart(dirB, [...sets, "continue_train=true"]),
      dataset: data,
      sink: quiet(),
    });
    assert.equal(resumed.step, 6);
    assert.deepEqual(await paramBytes(resumed.params), await paramBytes(whole.params));
    disposeParams(whole.params);
    disposeParams(resumed.params);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("a fault during a step's update saves the host copy of the last summary step", async () => {
  const dirA = await Deno.makeTempDir(), dirB = await Deno.makeTempDir();
  try {
    const sets = settings(100, 2);
    const two = await train({
      config: await quickstart(dirA, sets),
      dataset: data,
      sink: quiet(),
      stepLimit: 2,
    });
    const out = quiet();
    const broken = await train({
      config: await quickstart(dirB, sets),
      dataset: data,
      sink: out,
      resumeCommand: RESUME,
      onPhase: at(3, "update", outOfMemory),
    });
    assert.equal(broken.status, "gpu_fault", out.text);
    assert.equal(broken.checkpoint, ckpt(dirB, 2));
    assert.equal(broken.step, 2);
    assert.match(out.text, /update is unknown/);
    assert.match(out.text, /copy kept at the last summary step/);
    assert.ok(out.text.includes(RESUME), out.text);
    assert.deepEqual(names(dirB).filter((n) => n.startsWith("ckpt-")), [
      "ckpt-00000002.safetensors",
    ]);
    // the copy holds exactly the parameters after two steps
    const file = parseSafetensors(await Deno.readFile(ckpt(dirB, 2)));
    assert.equal(JSON.parse(file.metadata.rar_state).step, 2);
    const want = await paramBytes(two.params);
    for (const [name, bytes] of Object.entries(want)) {
      assert.deepEqual(new Uint8Array(file.tensors.get(name)!.data.buffer), bytes, name);
    }
    disposeParams(two.params);
    disposeParams(broken.params);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("a fault with nothing newer than the last checkpoint saves nothing and names that checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = quiet();
    const broken = await train({
      config: await quickstart(dir, settings(2, 100)),
      dataset: data,
      sink: out,
      onPhase: at(2, "update", outOfMemory),
    });
    assert.equal(broken.status, "gpu_fault", out.text);
    assert.equal(broken.checkpoint, ckpt(dir, 2));
    assert.ok(out.text.includes(`the newest checkpoint is ${ckpt(dir, 2)} (step 2)`), out.text);
    assert.match(out.text, /continue_train/);
    assert.deepEqual(names(dir).filter((n) => n.startsWith("ckpt-")), [
      "ckpt-00000002.safetensors",
    ]);
    disposeParams(broken.params);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a lost device: the host copy of the last summary step becomes the emergency checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = quiet();
    const broken = await train({
      config: await quickstart(dir, settings(100, 2)),
      dataset: data,
      sink: out,
      resumeCommand: RESUME,
      onPhase: at(3, "gradients", async () => {
        const device = runtime().device;
        device.destroy();
        await device.lost;
      }),
    });
    assert.equal(broken.status, "gpu_fault", out.text);
    assert.match(out.text, /device was lost/);
    assert.match(out.text, /no longer answers/);
    assert.equal(broken.checkpoint, ckpt(dir, 2));
    assert.ok(out.text.includes(`emergency checkpoint ${ckpt(dir, 2)} saved`), out.text);
    assert.ok(out.text.includes(RESUME), out.text);
    assert.equal(await savedStep(ckpt(dir, 2)), 2);
    assert.equal(runtime().lostReason !== null, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
