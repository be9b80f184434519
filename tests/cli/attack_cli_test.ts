import assert from "node:assert/strict";
import { goldenModel, paramsClassifying } from "../nn/model_goldens.ts";
import { dispose, tensor } from "../../mod.ts";
import { gather, loadDataset } from "../../src/data/mod.ts";
import { saveParams } from "../../src/nn/mod.ts";
import { CheckpointStore } from "../../src/io/files.ts";
import { npyBytes, npzBytes } from "../data/_helpers.ts";
import { runTask } from "./_task.ts";

/** `deno task attack ARGS…` through the launcher. */
const run = (args: string[]) => runTask("attack", args);

/**
 * A model directory with one checkpoint of the golden MNIST CNN parameters, the output bias
 * shifted so that the first MNIST test image is classified correctly (the golden network is
 * untrained and may classify none of the attacked images correctly).
 */
async function modelDir(): Promise<string> {
  checkpoint ??= (async () => {
    const { model, values } = await goldenModel("mnist_cnn.safetensors");
    const mnist = await loadDataset("mnist");
    const first = gather(mnist.test, new Int32Array([0]), mnist.pixelMax);
    const image = tensor(first.x, [1, ...mnist.test.shape]);
    const params = await paramsClassifying(model, values, image, first.y[0], 1);
    try {
      return await saveParams(params);
    } finally {
      dispose([image, params]);
    }
  })();
  const dir = await Deno.makeTempDir();
  await new CheckpointStore(dir).save(1, await checkpoint);
  return dir;
}
let checkpoint: Promise<Uint8Array> | undefined;

const small = [
  "--set",
  "eval_batch_size=2",
  "--set",
  "k=3",
  "--set",
  "a=0.1",
  "--set",
  "num_IG_steps=5",
  "--set",
  "attribution_attack_steps=2",
  "--set",
  "attribution_attack_times=1",
  "--set",
  "attribution_attack_step_size=0.05",
  "--set",
  "k_top=20",
  "--set",
  "eval_k_top=20",
];

for (const kind of ["pgd", "attribution"] as const) {
  Deno.test(`attack ${kind}: sharded runs merged equal the unsharded run`, async () => {
    const dir = await modelDir();
    try {
      const n = kind === "pgd" ? "7" : "4";
      const whole = await run([kind, "-m", dir, "-n", n, ...small, "-o", `${dir}/whole.json`]);
      assert.equal(whole.code, 0, whole.err);
      assert.match(whole.out, kind === "pgd" ? /natural accuracy \(NA\)/ : /Kendall's tau \(CO\)/);
      const parts: string[] = [];
      for (const s of ["1/3", "2/3", "3/3"]) {
        const r = await run([kind, "-m", dir, "-n", n, ...small, "--shard", s]);
        assert.equal(r.code, 0, r.err);
        parts.push(`${dir}/${kind}.shard-${s[0]}-of-3.json`);
      }
      const m = await run(["merge", ...parts, "-o", `${dir}/merged.json`]);
      assert.equal(m.code, 0, m.err);
      const a = JSON.parse(await Deno.readTextFile(`${dir}/whole.json`));
      const b = JSON.parse(await Deno.readTextFile(`${dir}/merged.json`));
      assert.deepEqual(b.records, a.records);
      assert.deepEqual(b.summary, a.summary);
      assert.deepEqual(b, a);
      // a missing shard is refused
      const bad = await run(["merge", parts[0], parts[2], "-o", `${dir}/bad.json`]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /in no shard/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("attack explain writes a PNG figure and the raw maps", async () => {
  const dir = await modelDir();
  try {
    // a correctly classified image (at least the first: see modelDir)
    const p = await run(["pgd", "-m", dir, "-n", "20", ...small, "-o", `${dir}/pgd.json`]);
    assert.equal(p.code, 0, p.err);
    const recs = JSON.parse(await Deno.readTextFile(`${dir}/pgd.json`)).records as {
      index: number;
      natural: boolean;
    }[];
    const i = recs.find((e) => e.natural)!.index;
    const r = await run([
      "explain",
      "-m",
      dir,
      "--images",
      String(i),
      ...small,
      "--out-dir",
      `${dir}/fig`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`image ${i}: top-20 intersection`));
    const png = await Deno.readFile(`${dir}/fig/image-${i}.png`);
    assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
    const maps = JSON.parse(await Deno.readTextFile(`${dir}/fig/image-${i}.json`));
    assert.equal(maps.original_saliency.length, 28 * 28); // the MNIST test images
    assert.equal(maps.attacked_saliency.length, 28 * 28);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attack without a checkpoint and with a bad shard are clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(["pgd", "-m", dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no checkpoint in .*: train a model first/);
    const s = await run(["pgd", "--shard", "3/2"]);
    assert.equal(s.code, 1);
    assert.match(s.err, /--shard must be i\/n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A valid PGD shard file of images `[a, b)` out of 4. */
function pgdShard(a: number, b: number, index: number, count: number): string {
  const records = Array.from({ length: b - a }, (_, k) => ({
    index: a + k,
    label: k,
    natural: true,
    adversarial: k % 2 === 0,
  }));
  return JSON.stringify({
    kind: "pgd",
    version: 1,
    run: { checkpoint: "ckpt-00000001.safetensors", epsilon: 0.3 },
    examples: 4,
    shard: { index, count, range: [a, b] },
    records,
    summary: { examples: b - a, natural_accuracy: 1, adversarial_accuracy: 0.5 },
  });
}

Deno.test("attack merge never writes over an input and names a malformed file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = `${dir}/a.json`, b = `${dir}/b.json`;
    await Deno.writeTextFile(a, pgdShard(0, 2, 0, 2));
    await Deno.writeTextFile(b, pgdShard(2, 4, 1, 2));
    const before = await Deno.readTextFile(a);
    const r = await run(["merge", a, b]);
    assert.equal(r.code, 1);
    assert.match(r.err, /a\.json is not named <name>\.shard-<i>-of-<n>\.json.*--out/);
    assert.equal(await Deno.readTextFile(a), before);
    const o = await run(["merge", a, b, "-o", b]);
    assert.equal(o.code, 1);
    assert.match(o.err, /would replace the input .*b\.json/);
    const ok = await run(["merge", a, b, "-o", `${dir}/m.json`]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/m.json`)).records.length, 4);

    const s1 = `${dir}/pgd.shard-1-of-2.json`, s2 = `${dir}/pgd.shard-2-of-2.json`;
    await Deno.writeTextFile(s1, pgdShard(0, 2, 0, 2));
    await Deno.writeTextFile(
      s2,
      JSON.stringify({ ...JSON.parse(pgdShard(2, 4, 1, 2)), shard: null }),
    );
    const n = await run(["merge", s1, s2]);
    assert.equal(n.code, 1);
    assert.match(n.err, /pgd\.shard-2-of-2\.json: shard must be an object, found null/);
    assert.doesNotMatch(n.err, /TypeError|Cannot read/);
    const short = JSON.parse(pgdShard(2, 4, 1, 2));
    short.records.pop();
    await Deno.writeTextFile(s2, JSON.stringify(short));
    const m = await run(["merge", s1, s2]);
    assert.equal(m.code, 1);
    assert.match(m.err, /pgd\.shard-2-of-2\.json lacks the record of image 3/);
    await assert.rejects(() => Deno.stat(`${dir}/pgd.json`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attack attribution --target: an infinite entry or a map of the wrong shape is refused", async () => {
  const dir = await modelDir();
  try {
    const rows = Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => "0.5"));
    rows[3][5] = "1e999";
    const inf = `${dir}/inf.json`;
    await Deno.writeTextFile(inf, `[${rows.map((r) => `[${r.join(",")}]`).join(",")}]`);
    const flat = `${dir}/flat.json`;
    await Deno.writeTextFile(flat, JSON.stringify([Array(784).fill(1)]));
    const target = ["--set", 'attribution_attack_method="target"', "-n", "1", ...small];
    const r = await run(["attribution", "-m", dir, ...target, "--target", inf]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /target map .*inf\.json: row 3, column 5 is Infinity/);
    const f = await run(["attribution", "-m", dir, ...target, "--target", flat]);
    assert.equal(f.code, 1, f.out);
    assert.match(f.err, /target map .*flat\.json: expected 28 rows of 28 numbers, found 1 row/);
    await assert.rejects(() => Deno.stat(`${dir}/attribution.json`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attack: images of another size than the dataset's model takes are refused at load", async () => {
  const dir = await modelDir();
  try {
    const data = `${dir}/data`;
    await Deno.mkdir(data);
    const npz = npzBytes({
      images: npyBytes("|u1", [2, 128, 128, 3], new Uint8Array(2 * 128 * 128 * 3)),
      labels: npyBytes("|u1", [2], new Uint8Array([1, 2])),
    });
    await Deno.writeFile(`${data}/train.npz`, npz);
    await Deno.writeFile(`${data}/test.npz`, npz);
    const r = await run([
      "pgd",
      "-m",
      dir,
      "--dataset",
      "gtsrb",
      "--set",
      `data_path=${JSON.stringify(data)}`,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /train\.npz: images of shape \[128, 128, 3\] .*the GTSRB model takes \[32, 32, 3\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
