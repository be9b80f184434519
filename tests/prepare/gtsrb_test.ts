import assert from "node:assert/strict";
import { join } from "node:path";
import { zipSync } from "fflate";
import { loadDataset } from "../../src/data/datasets.ts";
import { parseNpz } from "../../src/data/npz.ts";
import { prepareDataset } from "../../src/prepare/run.ts";
import { parseGtsrbCsv, type PickleArray } from "../../src/prepare/gtsrb.ts";
import { filesBelow, signColour, writeGtsrbFolder } from "./_build.ts";

const SIZE = 32 * 32 * 3;
const perClass = (c: number) => 1 + (c % 2);
const originals = Array.from({ length: 43 }, (_, c) => perClass(c)).reduce((a, b) => a + b);
const src = await Deno.makeTempDir();
await writeGtsrbFolder(src, perClass, 50);

function isFlat(images: Uint8Array, i: number, rgb: number[]): boolean {
  for (let p = 0; p < 32 * 32; p++) {
    for (let c = 0; c < 3; c++) if (images[i * SIZE + p * 3 + c] !== rgb[c]) return false;
  }
  return true;
}

async function read(path: string) {
  const a = parseNpz(await Deno.readFile(path), path);
  return {
    images: a.get("images")!,
    labels: [...a.get("labels")!.data as BigInt64Array].map(Number),
  };
}

Deno.test("gtsrb official folders: regions cropped to 32×32, originals kept, balanced, loadable", async () => {
  const out = await Deno.makeTempDir();
  try {
    const r = await prepareDataset("gtsrb", { src, out, seed: 1, perClass: 3 });
    assert.equal(r.form, "official");
    assert.deepEqual(r.train.counts, new Array(43).fill(3));
    assert.equal(r.train.originals, originals);
    assert.equal(r.train.augmented, 129 - originals);
    const train = await read(join(out, "train.npz"));
    assert.equal(train.images.dtype, "uint8");
    assert.deepEqual(train.images.shape, [129, 32, 32, 3]);
    const px = train.images.data as Uint8Array;
    // originals first, in class-folder order, each the flat colour of its region (the
    // grey border outside the region is cut away)
    let i = 0;
    for (let c = 0; c < 43; c++) {
      for (let k = 0; k < perClass(c); k++, i++) {
        assert.equal(train.labels[i], c);
        assert.ok(isFlat(px, i, signColour(c, k)), `original ${i}`);
      }
    }
    // then the augmented images of each class: a flat image stays flat under any warp
    for (; i < 129; i++) {
      const c = train.labels[i];
      assert.ok([0, 1].some((k) => isFlat(px, i, signColour(c, k))), `augmented ${i}`);
    }
    const test = await read(join(out, "test.npz"));
    assert.deepEqual(test.images.shape, [50, 32, 32, 3]);
    assert.deepEqual(test.labels, Array.from({ length: 50 }, (_, k) => k % 43));
    assert.deepEqual(r.test.counts, Array.from({ length: 43 }, (_, c) => (c < 7 ? 2 : 1)));
    const ds = await loadDataset("gtsrb", out);
    assert.equal(ds.train.count, 129);
    assert.equal(ds.test.count, 50);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("gtsrb official zips give the folders' bytes; the seed changes only the augmented images", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await filesBelow(src);
    const zip = (pick: (p: string) => boolean) =>
      zipSync(Object.fromEntries(files.filter(([p]) => pick(p))));
    const zips = join(dir, "downloads");
    await Deno.mkdir(zips);
    await Deno.writeFile(
      join(zips, "GTSRB_Final_Training_Images.zip"),
      zip((p) => p.includes("Final_Training")),
    );
    await Deno.writeFile(
      join(zips, "GTSRB_Final_Test_Images.zip"),
      zip((p) => p.includes("Final_Test")),
    );
    await Deno.writeFile(
      join(zips, "GTSRB_Final_Test_GT.zip"),
      zip((p) => p === "GT-final_test.csv"),
    );
    await Deno.writeFile(join(zips, "unrelated.zip"), new Uint8Array([1, 2, 3]));
    const run = (from: string, out: string, seed: number) =>
      prepareDataset("gtsrb", { src: from, out: join(dir, out), seed, perClass: 3 });
    await run(src, "a", 1);
    await run(zips, "b", 1);
    await run(src, "c", 2);
    const bytes = (o: string, f: string) => Deno.readFile(join(dir, o, f));
    assert.deepEqual(await bytes("b", "train.npz"), await bytes("a", "train.npz"));
    assert.deepEqual(await bytes("b", "test.npz"), await bytes("a", "test.npz"));
    assert.deepEqual(await bytes("c", "test.npz"), await bytes("a", "test.npz"));
    const a = (await read(join(dir, "a", "train.npz"))).images.data as Uint8Array;
    const c = (await read(join(dir, "c", "train.npz"))).images.data as Uint8Array;
    assert.deepEqual(c.subarray(0, originals * SIZE), a.subarray(0, originals * SIZE));
    assert.notDeepEqual(c, a);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gtsrb: a missing image, a truncated PPM, missing test labels are named", async () => {
  const out = await Deno.makeTempDir();
  const ppm = join(src, "GTSRB/Final_Training/Images/00003/00000_00001.ppm");
  const gt = join(src, "GT-final_test.csv");
  const saved = await Deno.readFile(ppm);
  try {
    await Deno.remove(ppm);
    await assert.rejects(
      prepareDataset("gtsrb", { src, out, perClass: 3 }),
      /GT-00003\.csv: lists 00000_00001\.ppm, which is not beside it/,
    );
    await Deno.writeFile(ppm, saved.subarray(0, 40));
    await assert.rejects(
      prepareDataset("gtsrb", { src, out, perClass: 3 }),
      /00003\/00000_00001\.ppm: truncated PPM/,
    );
    await Deno.writeFile(ppm, saved);
    await Deno.rename(gt, `${gt}.away`);
    await assert.rejects(
      prepareDataset("gtsrb", { src, out, perClass: 3 }),
      /no GT-final_test\.csv, the test images' classes: add GTSRB_Final_Test_GT\.zip/,
    );
    await assert.rejects(
      prepareDataset("gtsrb", { src: out, out, perClass: 3 }),
      /no GTSRB training data found: expected GTSRB's official archives/,
    );
    assert.deepEqual([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.writeFile(ppm, saved);
    await Deno.rename(`${gt}.away`, gt).catch(() => {});
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("gtsrb CSV: columns by header name; bad rows named by line", () => {
  const rows = parseGtsrbCsv(
    "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\r\na.ppm;30;31;5;6;25;26;12\r\n",
    "GT.csv",
  );
  assert.deepEqual(rows, [{ file: "a.ppm", roi: [5, 6, 25, 26], classId: 12 }]);
  assert.throws(
    () => parseGtsrbCsv("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n", "T.csv"),
    /T\.csv: not a GTSRB annotation file with classes: the header lacks ClassId/,
  );
  assert.throws(
    () => parseGtsrbCsv("Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\na;1;2;x;4;5\n", "U.csv"),
    /U\.csv: line 2: Roi\.X2 "x" is not a non-negative integer/,
  );
  assert.throws(
    () => parseGtsrbCsv("Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\na;1;2;3;4;43\n", "V.csv"),
    /V\.csv: line 2: ClassId 43 out of range/,
  );
});

/** Stands in for the pickle reader: the test files hold JSON of the same structure. */
function jsonReader(bytes: Uint8Array, name: string): Record<string, PickleArray> {
  if (bytes[0] !== 0x7b) throw new Error(`${name}: not a pickle`);
  return JSON.parse(new TextDecoder().decode(bytes));
}

Deno.test("gtsrb pickled split: features and labels kept as given, balanced; bad contents named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const split = (n: number, offset: number) => ({
      features: {
        dtype: "uint8",
        shape: [n, 32, 32, 3],
        data: Array.from({ length: n * SIZE }, (_, i) => (Math.floor(i / SIZE) * 5 + offset) % 256),
      },
      labels: { dtype: "int64", shape: [n], data: Array.from({ length: n }, (_, i) => i % 43) },
    });
    const src = join(dir, "pickled");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "train.p"), JSON.stringify(split(50, 0)));
    await Deno.writeTextFile(join(src, "valid.p"), "ignored");
    await Deno.writeTextFile(join(src, "test.p"), JSON.stringify(split(20, 1)));
    const out = join(dir, "out");
    const r = await prepareDataset("gtsrb", { src, out, perClass: 2, pickleReader: jsonReader });
    assert.equal(r.form, "pickle");
    assert.deepEqual(r.train.counts, new Array(43).fill(2));
    assert.equal(r.train.originals, 50);
    const train = await read(join(out, "train.npz"));
    assert.deepEqual(train.images.shape, [86, 32, 32, 3]);
    for (let i = 0; i < 50; i++) {
      assert.ok(isFlat(train.images.data as Uint8Array, i, new Array(3).fill((i * 5) % 256)));
      assert.equal(train.labels[i], i % 43);
    }
    const test = await read(join(out, "test.npz"));
    assert.deepEqual(test.labels, Array.from({ length: 20 }, (_, i) => i % 43));
    assert.ok(isFlat(test.images.data as Uint8Array, 3, [16, 16, 16]));

    const bad = split(4, 0);
    bad.labels.data[2] = 43;
    await Deno.writeTextFile(join(src, "test.p"), JSON.stringify(bad));
    await assert.rejects(
      prepareDataset("gtsrb", { src, out: join(dir, "o2"), perClass: 2, pickleReader: jsonReader }),
      /test\.p: label 43 at index 2 out of range/,
    );
    const small = split(4, 0);
    small.features.shape = [4, 16, 16, 12];
    await Deno.writeTextFile(join(src, "test.p"), JSON.stringify(small));
    await assert.rejects(
      prepareDataset("gtsrb", { src, out: join(dir, "o2"), perClass: 2, pickleReader: jsonReader }),
      /test\.p: `features` must be uint8 of shape \[n, 32, 32, 3\], found uint8 of shape \[4, 16, 16, 12\]/,
    );
    await Deno.writeTextFile(join(src, "test.p"), JSON.stringify({ x: split(1, 0).labels }));
    await assert.rejects(
      prepareDataset("gtsrb", { src, out: join(dir, "o2"), perClass: 2, pickleReader: jsonReader }),
      /test\.p: expected a dict with `features` and `labels`, found keys x/,
    );
    await Deno.remove(join(src, "test.p"));
    await assert.rejects(
      prepareDataset("gtsrb", { src, out: join(dir, "o2"), perClass: 2, pickleReader: jsonReader }),
      /test\.p not found beside train\.p/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "gtsrb: cleanup",
  fn: async () => await Deno.remove(src, { recursive: true }),
});
