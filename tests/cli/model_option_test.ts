/**
 * `deno task attack|explain --model PATH|URL`: the permissions the launcher plans for a weights
 * file or URL, and the attack run from a `model.safetensors` (local and over http) giving the
 * results of the model directory it came from.
 */

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { goldenModel } from "../nn/model_goldens.ts";
import { saveParams } from "../../src/nn/mod.ts";
import { mnistCnn } from "../../src/nn/mnist_cnn.ts";
import { CheckpointStore } from "../../src/io/files.ts";
import {
  parseSafetensors,
  type SafeTensorInput,
  serializeSafetensors,
} from "../../src/io/safetensors.ts";
import { parseConfig } from "../../src/config.ts";
import { saveWeights, WEIGHTS_FILE } from "../../src/train/load.ts";
import { permissionFlags, taskPermissions } from "../../src/cli/permissions.ts";
import { mnistPackageDir } from "../../src/data/datasets.ts";
import { runTask } from "./_task.ts";

const root = new URL("../../", import.meta.url);
const quickstartText = await Deno.readTextFile(new URL("configs/mnist/quickstart.json", root));

/** `deno task attack ARGS…` through the launcher. */
const run = (args: string[]) => runTask("attack", args);

/** A model directory with a checkpoint of the golden MNIST CNN and its model.safetensors. */
async function modelDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const { params } = await goldenModel("mnist_cnn.safetensors");
  await new CheckpointStore(dir).save(1, await saveParams(params));
  const config = parseConfig(quickstartText, "quickstart.json", {
    overrides: [`model_dir=${JSON.stringify(dir)}`],
  }).config;
  await saveWeights(dir, mnistCnn(), params, { dataset: "mnist", config, step: 1 });
  return dir;
}

const small = ["--set", "eval_batch_size=2", "--set", "k=3", "--set", "a=0.1"];

Deno.test("permissions: --model with a weights file reads it and the data it names, writes next to it", async () => {
  const dir = await modelDir();
  try {
    const file = join(dir, WEIGHTS_FILE);
    const p = await taskPermissions("attack", ["pgd", "--model", file, "-n", "3"]);
    // the configuration is the file's own (no config.json is read)
    assert.deepEqual(p.read, [file, await mnistPackageDir(), dir]);
    assert.deepEqual(p.write, [dir]);
    assert.equal(p.net, undefined);
    const ex = await taskPermissions("attack", ["explain", "--model", file, "--images", "0"]);
    assert.deepEqual(ex.write, [join(dir, "figures")]);
    // a directory given to --model is the same as --model-dir
    assert.deepEqual(
      await taskPermissions("attack", ["pgd", "--model", dir]),
      await taskPermissions("attack", ["pgd", "-m", dir]),
    );
    // --config wins over the file's configuration; its data are readable
    await Deno.writeTextFile(
      join(dir, "g.json"),
      JSON.stringify({ ...JSON.parse(quickstartText), data_path: "/data/fashion" }),
    );
    const c = await taskPermissions("attack", ["pgd", "--model", file, "-c", join(dir, "g.json")]);
    assert.ok(c.read.includes("/data/fashion") && c.read.includes(join(dir, "g.json")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions: --model with an http(s) URL reaches exactly its host, writes the current directory", async () => {
  const u = await taskPermissions("attack", [
    "pgd",
    "--model",
    "https://example.org:8443/m/model.safetensors",
  ]);
  assert.deepEqual(u.net, ["example.org:8443"]);
  assert.deepEqual(u.write, [resolve(".")]);
  assert.ok(u.read.includes(await mnistPackageDir()));
  assert.ok(
    permissionFlags(u).includes("--allow-net=example.org:8443"),
    permissionFlags(u).join(" "),
  );
  const o = await taskPermissions("attack", [
    "attribution",
    "--model",
    "http://127.0.0.1:9/model.safetensors",
    "-o",
    "/tmp/r/x.json",
    "--set",
    'data_path="/d/mnist"',
  ]);
  assert.deepEqual(o.net, ["127.0.0.1:9"]);
  assert.deepEqual(o.write, ["/tmp/r"]);
  assert.ok(o.read.includes("/d/mnist"));
  assert.deepEqual(
    permissionFlags({ read: [], write: [], env: [], sys: [], net: ["h:1"] }),
    ["--no-prompt", "--allow-net=h:1"],
  );
});

Deno.test("attack pgd from model.safetensors (a path, an http URL, a directory holding only it) equals the run from its model directory", async () => {
  const dir = await modelDir();
  const bytes = await Deno.readFile(join(dir, WEIGHTS_FILE));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(bytes),
  );
  try {
    const args = ["-n", "4", ...small];
    const a = await run(["pgd", "-m", dir, ...args, "-o", `${dir}/a.json`]);
    assert.equal(a.code, 0, a.err);
    const b = await run([
      "pgd",
      "--model",
      join(dir, WEIGHTS_FILE),
      ...args,
      "-o",
      `${dir}/b.json`,
    ]);
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, new RegExp(`model: .*${WEIGHTS_FILE}`));
    const url = `http://127.0.0.1:${server.addr.port}/model.safetensors`;
    const c = await run(["pgd", "--model", url, ...args, "-o", `${dir}/c.json`]);
    assert.equal(c.code, 0, c.err);
    assert.ok(c.out.includes(`model: ${url}`), c.out);
    // a model directory holding only model.safetensors (e.g. downloaded)
    await Deno.mkdir(`${dir}/shared`);
    await Deno.copyFile(join(dir, WEIGHTS_FILE), `${dir}/shared/${WEIGHTS_FILE}`);
    const d = await run(["pgd", "-m", `${dir}/shared`, ...args]);
    assert.equal(d.code, 0, d.err);
    const [ra, rb, rc, rd] = await Promise.all(
      ["a.json", "b.json", "c.json", "shared/pgd.json"].map(async (n) =>
        JSON.parse(await Deno.readTextFile(`${dir}/${n}`))
      ),
    );
    assert.deepEqual(rb.records, ra.records);
    assert.deepEqual(rc.records, ra.records);
    assert.deepEqual(rd.records, ra.records);
    assert.deepEqual(rc.summary, ra.summary);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attack --model: both --model and --model-dir, or weights that do not fit the model, are clear errors", async () => {
  const dir = await modelDir();
  try {
    const both = await run(["pgd", "--model", join(dir, WEIGHTS_FILE), "-m", dir]);
    assert.equal(both.code, 1);
    assert.match(both.err, /give either --model or --model-dir, not both/);
    // a file whose b_fc2 has 11 entries instead of 10
    const file = parseSafetensors(await Deno.readFile(join(dir, WEIGHTS_FILE)));
    const tensors: Record<string, SafeTensorInput> = {};
    for (const [k, e] of file.tensors) tensors[k] = { shape: e.shape, data: e.data };
    tensors.b_fc2 = { shape: [11], data: new Float32Array(11) };
    const bad = join(dir, "bad.safetensors");
    await Deno.writeFile(bad, serializeSafetensors(tensors, file.metadata));
    const wrong = await run(["pgd", "--model", bad, "-n", "1"]);
    assert.equal(wrong.code, 1);
    assert.ok(wrong.err.includes(`${bad}: tensor b_fc2 has shape [11], expected [10]`), wrong.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
