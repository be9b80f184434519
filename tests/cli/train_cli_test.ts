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
