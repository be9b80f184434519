import assert from "node:assert/strict";
import { join } from "node:path";
import { parseNpz } from "../../src/data/npz.ts";
import { readPickledArrays } from "../../src/prepare/pickle.ts";
import { prepareDataset } from "../../src/prepare/run.ts";
import { writePickledArrays } from "./_pickle_writer.ts";

const SIZE = 32 * 32 * 3;

/** A pickled split of `n` images, image `i` filled with `(i * 3 + offset) % 256`, label `i % 43`. */
function split(n: number, offset: number): Uint8Array {
  const features = new Uint8Array(n * SIZE);
  for (let i = 0; i < n; i++) features.fill((i * 3 + offset) % 256, i * SIZE, (i + 1) * SIZE);
  const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 43));
  return writePickledArrays({
    features: { dtype: "uint8", shape: [n, 32, 32, 3], data: features },
    labels: { dtype: "int64", shape: [n], data: labels },
  });
}

Deno.test("gtsrb pickled split (protocol 4, NumPy arrays): originals kept, balanced, test as given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = join(dir, "traffic-signs-data");
    await Deno.mkdir(src);
    await Deno.writeFile(join(src, "train.p"), split(60, 0));
    await Deno.writeFile(join(src, "valid.p"), split(5, 0));
    await Deno.writeFile(join(src, "test.p"), split(20, 1));
    const out = join(dir, "out");
    const r = await prepareDataset("gtsrb", {
      src,
      out,
      seed: 2,
      perClass: 3,
      pickleReader: readPickledArrays,
    });
    assert.equal(r.form, "pickle");
    assert.deepEqual(r.train.counts, new Array(43).fill(3));
    assert.equal(r.train.originals, 60);
    const train = parseNpz(await Deno.readFile(join(out, "train.npz")));
    const images = train.get("images")!.data as Uint8Array;
    assert.deepEqual(train.get("images")!.shape, [129, 32, 32, 3]);
    for (let i = 0; i < 60; i++) {
      assert.ok(images.subarray(i * SIZE, (i + 1) * SIZE).every((v) => v === (i * 3) % 256));
    }
    const labels = [...train.get("labels")!.data as BigInt64Array].map(Number);
    assert.deepEqual(labels.slice(0, 60), Array.from({ length: 60 }, (_, i) => i % 43));
    const test = parseNpz(await Deno.readFile(join(out, "test.npz")));
    assert.deepEqual(test.get("images")!.shape, [20, 32, 32, 3]);
    assert.equal((test.get("images")!.data as Uint8Array)[5 * SIZE], 16);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gtsrb pickled split: a pickle calling anything but NumPy's array rebuild is refused by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      join(dir, "train.p"),
      new TextEncoder().encode("\x80\x02cos\nsystem\nq\x00."),
    );
    await Deno.writeFile(join(dir, "test.p"), split(2, 0));
    await assert.rejects(
      prepareDataset("gtsrb", { src: dir, out: join(dir, "out"), pickleReader: readPickledArrays }),
      (e: Error) => e.message.includes(join(dir, "train.p")),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["test.p", "train.p"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
