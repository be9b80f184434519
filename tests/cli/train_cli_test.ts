import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const cli = new URL("src/cli/train.ts", root).pathname;

function run(args: string[], signalAfter?: RegExp) {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", cli, ...args],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const child = cmd.spawn();
  return (async () => {
    let out = "";
    const dec = new TextDecoder();
    let sent = false;
    const reader = child.stdout.getReader();
    const errText = new Response(child.stderr).text();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
      if (signalAfter && !sent && signalAfter.test(out)) {
        child.kill("SIGINT");
        sent = true;
      }
    }
    const status = await child.status;
    return { code: status.code, out, err: await errText };
  })();
}

Deno.test("train --help describes the command and its options", async () => {
  const r = await run(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /--config <path>/);
  assert.match(r.out, /--set <key=value>/);
  assert.match(r.out, /--overwrite/);
});

Deno.test("a missing configuration file is a clear error", async () => {
  const r = await run(["--config", "configs/nope.json"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /configuration file configs\/nope\.json not found/);
  assert.doesNotMatch(r.err, /at .*\.ts:\d+/); // no stack trace
});

Deno.test("a bad configuration value names the file, key, value and what is allowed", async () => {
  const r = await run(["--set", 'training_objective="foo"']);
  assert.equal(r.code, 1);
  assert.match(r.err, /quickstart\.json/);
  assert.match(r.err, /training_objective/);
  assert.match(r.err, /foo/);
  assert.match(r.err, /nat.*adv.*ar.*adv_ar/);
});

Deno.test("Ctrl-C (SIGINT) saves a checkpoint and exits cleanly; continue_train resumes from it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sets = [
      "--set",
      `model_dir=${JSON.stringify(dir)}`,
      "--set",
      "num_output_steps=1",
      "--set",
      "num_checkpoint_steps=1000",
      "--set",
      "training_batch_size=8",
    ];
    const r = await run([...sets, "--no-eval"], /step\s+1\s/);
    assert.equal(r.code, 130, r.err + r.out);
    assert.match(r.out, /interrupted after step (\d+): checkpoint .*ckpt-\d+\.safetensors saved/);
    const step = Number(/interrupted after step (\d+)/.exec(r.out)![1]);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.startsWith("ckpt-")
    );
    assert.equal(names.length, 1);
    // resume: starts where it stopped
    const r2 = await run([
      ...sets,
      "--set",
      "continue_train=true",
      "--set",
      `max_num_training_steps=${step + 1}`,
      "--no-eval",
    ]);
    assert.equal(r2.code, 0, r2.err);
    assert.match(r2.out, new RegExp(`from step ${step} to ${step + 1}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Leaves an earlier run's index, checkpoints and logs in `dir`. */
async function earlierRun(dir: string): Promise<string[]> {
  const files = [
    "ckpt-00024900.safetensors",
    "ckpt-00025000.safetensors",
    "checkpoint.json",
    "config.json",
    "metrics.jsonl",
  ];
  for (const f of files) await Deno.writeTextFile(`${dir}/${f}`, `earlier ${f}`);
  return files;
}

Deno.test("a fresh run in a model_dir of an earlier run stops at once and names both ways out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await earlierRun(dir);
    const r = await run([
      "--set",
      `model_dir=${JSON.stringify(dir)}`,
      "--set",
      "max_num_training_steps=1",
      "--no-eval",
    ]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.ok(r.err.includes(dir), r.err);
    assert.match(r.err, /ckpt-00025000\.safetensors/);
    assert.match(r.err, /--set continue_train=true/);
    assert.match(r.err, /--overwrite/);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/); // no stack trace
    assert.doesNotMatch(r.out, /^data:/m); // before the data is loaded
    for (const f of files) assert.equal(await Deno.readTextFile(`${dir}/${f}`), `earlier ${f}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--overwrite moves the earlier run aside and trains; the resume command is printed on Ctrl-C", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await earlierRun(dir);
    const r = await run([
      "--set",
      `model_dir=${JSON.stringify(dir)}`,
      "--set",
      "num_output_steps=1",
      "--set",
      "training_batch_size=8",
      "--overwrite",
      "--no-eval",
    ], /step\s+1\s/);
    assert.equal(r.code, 130, r.out + r.err);
    const prev = [...Deno.readDirSync(`${dir}/previous`)].map((e) => e.name);
    assert.equal(prev.length, 1);
    const moved = `${dir}/previous/${prev[0]}`;
    assert.ok(r.out.includes(moved), r.out);
    for (const f of files) assert.equal(await Deno.readTextFile(`${moved}/${f}`), `earlier ${f}`);
    // the exact command that resumes it: same options, continue_train true, no --overwrite
    const cmd = /to resume, run: (.*)$/m.exec(r.out)?.[1];
    assert.ok(cmd, r.out);
    assert.ok(cmd.startsWith("deno task train --config configs/mnist/quickstart.json"), cmd);
    assert.ok(cmd.includes(`--set 'model_dir=${JSON.stringify(dir)}'`), cmd);
    assert.ok(cmd.includes("--set continue_train=true"), cmd);
    assert.ok(cmd.includes("--no-eval"), cmd);
    assert.ok(!cmd.includes("--overwrite"), cmd);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
