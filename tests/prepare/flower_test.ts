import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { loadDataset } from "../../src/data/datasets.ts";
import { parseNpz } from "../../src/data/npz.ts";
import { prepareDataset } from "../../src/prepare/run.ts";
import { filesBelow, flowerColour, flowerIndex, tarBytes, writeFlowerFolder } from "./_build.ts";

const SIZE = 128 * 128 * 3;
const src = await Deno.makeTempDir();
await writeFlowerFolder(src);

/** The colour of image `i` (its first pixel) in a prepared images array. */
const colour = (images: Uint8Array, i: number) => [...images.subarray(i * SIZE, i * SIZE + 3)];
const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 3);

Deno.test("flower: JPEG folder → 1224 + 34 augmented training and 136 test images, loadable", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await prepareDataset("flower", { src, out, seed: 5, perClass: 74 });
    assert.equal(r.form, "jpeg");
    assert.deepEqual(r.train.counts, new Array(17).fill(74));
    assert.deepEqual(r.test.counts, new Array(17).fill(8));
    assert.equal(r.train.originals, 1224);
    assert.equal(r.train.augmented, 34);
    const train = parseNpz(await Deno.readFile(join(out, "train.npz")));
    const test = parseNpz(await Deno.readFile(join(out, "test.npz")));
    const ti = train.get("images")!, tl = train.get("labels")!;
    assert.equal(ti.dtype, "uint8");
    assert.deepEqual(ti.shape, [1258, 128, 128, 3]);
    assert.equal(tl.dtype, "int64");
    assert.deepEqual(test.get("images")!.shape, [136, 128, 128, 3]);
    const trainImages = ti.data as Uint8Array,
      trainLabels = [...tl.data as BigInt64Array].map(Number);
    const testImages = test.get("images")!.data as Uint8Array;
    const testLabels = [...test.get("labels")!.data as BigInt64Array].map(Number);
    // every original (flat colour identifying class and index) lands in exactly one split,
    // with its class as label; the split is shuffled, not the first 72 in file order
    for (let c = 0; c < 17; c++) {
      const seen: number[] = [];
      for (let j = 0; j < 72; j++) {
        const i = c * 72 + j;
        assert.equal(trainLabels[i], c);
        const rgb = colour(trainImages, i);
        const k = flowerIndex(rgb);
        assert.ok(near(rgb, flowerColour(c * 80 + k + 1)), `train ${i}: ${rgb}`);
        seen.push(k);
      }
      for (let j = 0; j < 8; j++) {
        const i = c * 8 + j;
        assert.equal(testLabels[i], c);
        seen.push(flowerIndex(colour(testImages, i)));
      }
      assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 80 }, (_, k) => k));
      assert.notDeepEqual(seen.slice(0, 72), Array.from({ length: 72 }, (_, k) => k));
    }
    // the augmented images follow the originals, two per class, each of its class's colour
    for (let i = 1224; i < 1258; i++) {
      const c = Math.floor((i - 1224) / 2);
      assert.equal(trainLabels[i], c);
      const rgb = colour(trainImages, i);
      assert.ok(Math.abs(rgb[0] - c * 15) <= 3, `augmented ${i}: ${rgb}`);
    }
    const ds = await loadDataset("flower", out);
    assert.equal(ds.train.count, 1258);
    assert.equal(ds.test.count, 136);
    assert.deepEqual(ds.train.shape, [128, 128, 3]);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "test.npz",
      "train.npz",
    ]);

    // the same images as 17flowers.tgz with the same seed: the same bytes
    const tgzDir = await Deno.makeTempDir();
    try {
      const tgz = join(tgzDir, "17flowers.tgz");
      const files = (await filesBelow(src)).map(([p, d]) => [p, d] as [string, Uint8Array]);
      await Deno.writeFile(tgz, gzipSync(tarBytes(files)));
      const out2 = join(tgzDir, "out");
      await prepareDataset("flower", { src: tgz, out: out2, seed: 5, perClass: 74 });
      for (const f of ["train.npz", "test.npz"]) {
        assert.deepEqual(await Deno.readFile(join(out2, f)), await Deno.readFile(join(out, f)), f);
      }
    } finally {
      await Deno.remove(tgzDir, { recursive: true });
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("flower: a missing or corrupt JPEG is named; nothing is written", async () => {
  const out = await Deno.makeTempDir();
  const moved = join(out, "moved.jpg");
  try {
    await Deno.rename(join(src, "jpg/image_0005.jpg"), moved);
    await assert.rejects(
      prepareDataset("flower", { src, out, perClass: 72 }),
      /expected Flower-17's 1360 JPEGs .* 1 missing: image_0005\.jpg/,
    );
    await Deno.writeFile(join(src, "jpg/image_0005.jpg"), new Uint8Array([0xff, 0xd8, 0xff, 0, 1]));
    await assert.rejects(
      prepareDataset("flower", { src, out, perClass: 72 }),
      /jpg\/image_0005\.jpg: corrupt or unsupported JPEG/,
    );
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["moved.jpg"]);
  } finally {
    await Deno.rename(moved, join(src, "jpg/image_0005.jpg"));
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("flower: an existing train.npz is kept unless --overwrite", async () => {
  const out = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(out, "train.npz"), "earlier");
    await assert.rejects(
      prepareDataset("flower", { src, out }),
      /train\.npz exists: .*--overwrite/,
    );
    assert.equal(await Deno.readTextFile(join(out, "train.npz")), "earlier");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("flower: an interrupted run leaves no archive and no partial file", async () => {
  const out = await Deno.makeTempDir();
  try {
    // stops as soon as the training archive is being written (the test archive is done)
    const partial = join(out, "train.npz.partial");
    let stopped = false;
    const stop = () => {
      try {
        Deno.statSync(partial);
        return stopped = true;
      } catch {
        return false;
      }
    };
    await assert.rejects(prepareDataset("flower", { src, out, perClass: 73, stop }), /interrupted/);
    assert.ok(stopped);
    assert.deepEqual([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "flower: cleanup",
  fn: async () => await Deno.remove(src, { recursive: true }),
});
