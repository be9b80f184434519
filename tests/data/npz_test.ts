import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { npyToInt32, parseNpy, parseNpz, readNpz } from "../../src/data/mod.ts";
import { equalizeImages } from "../../src/data/equalize.ts";
import { fixturePath, FIXTURES, npyBytes, npzBytes, rejectsWith, throwsWith } from "./_helpers.ts";

type Entry = Record<string, unknown>;
const manifest: Record<string, Entry> = JSON.parse(
  await Deno.readTextFile(new URL("npz/manifest.json", FIXTURES)),
);

/** Compression method (0 stored, 8 deflate) of every entry of a zip. */
function compressionMethods(bytes: Uint8Array): number[] {
  const methods: number[] = [];
  unzipSync(bytes, {
    filter: (f) => {
      methods.push(f.compression);
      return false;
    },
  });
  return methods;
}

for (const [file, want] of Object.entries(manifest)) {
  Deno.test(`npz fixture ${file} matches every field of the manifest`, async () => {
    const path = fixturePath(`npz/${file}`);
    const bytes = await Deno.readFile(path);
    const arrays = parseNpz(bytes, path);
    assert.deepEqual([...arrays.keys()].sort(), ["images", "labels"]);
    const images = arrays.get("images")!;
    const labels = arrays.get("labels")!;
    const pixels = images.data as Uint8Array;
    const [n, h, w, c] = images.shape;
    const equalized = () => equalizeImages(pixels, [n, h, w, c]);
    const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
    const seen = new Set<string>();
    for (const [key, value] of Object.entries(want)) {
      seen.add(key);
      switch (key) {
        case "images_shape":
          assert.deepEqual(images.shape, value);
          break;
        case "images_dtype":
          assert.equal(images.dtype, value);
          break;
        case "labels_dtype":
          assert.equal(labels.dtype, value);
          break;
        case "compressed":
          for (const m of compressionMethods(bytes)) assert.equal(m, value ? 8 : 0);
          break;
        case "pixel_sum":
          assert.equal(sum(pixels), value);
          break;
        case "first_pixels":
          assert.deepEqual([...pixels.subarray(0, (value as number[]).length)], value);
          break;
        case "labels":
          assert.deepEqual([...npyToInt32(labels)], value);
          assert.deepEqual(labels.shape, [n]);
          break;
        case "equalized_pixel_sum":
          assert.equal(sum(equalized()), value);
          break;
        case "equalized_first_pixels":
          assert.deepEqual([...equalized().subarray(0, (value as number[]).length)], value);
          break;
        case "equalized_image0_channel0_row0": {
          const eq = equalized();
          const row = Array.from({ length: w }, (_, x) => eq[x * c]);
          assert.deepEqual(row, value);
          break;
        }
        default:
          assert.fail(`manifest field ${key} of ${file} is not checked by this test`);
      }
    }
    assert.ok(seen.has("images_shape") && seen.has("labels"));
  });
}

Deno.test("compressed and stored fixtures are both present", () => {
  const kinds = new Set(Object.values(manifest).map((e) => e.compressed));
  assert.deepEqual([...kinds].sort(), [false, true]);
});

Deno.test("npy: versions 1.0/2.0/3.0 and every supported dtype", () => {
  const cases: [string, ArrayBufferView, string, number[]][] = [
    ["|u1", new Uint8Array([0, 7, 255]), "uint8", [0, 7, 255]],
    ["|b1", new Uint8Array([1, 0, 1]), "bool", [1, 0, 1]],
    ["<i4", new Int32Array([-5, 0, 2147483647]), "int32", [-5, 0, 2147483647]],
    ["<f4", new Float32Array([0.5, -1.25, 3]), "float32", [0.5, -1.25, 3]],
    ["<f8", new Float64Array([0.1, -2, 1e300]), "float64", [0.1, -2, 1e300]],
  ];
  for (const version of [1, 2, 3]) {
    for (const [descr, data, dtype, values] of cases) {
      const a = parseNpy(npyBytes(descr, [3], data, { version }), "x.npy");
      assert.equal(a.dtype, dtype);
      assert.deepEqual(a.shape, [3]);
      assert.deepEqual(Array.from(a.data as ArrayLike<number>), values);
    }
    const i8 = parseNpy(
      npyBytes("<i8", [2, 2], new BigInt64Array([1n, -2n, 3n, 42n]), { version }),
    );
    assert.equal(i8.dtype, "int64");
    assert.deepEqual(i8.shape, [2, 2]);
    assert.deepEqual([...npyToInt32(i8)], [1, -2, 3, 42]);
  }
  const scalar = parseNpy(npyBytes("<f8", [], new Float64Array([2.5])));
  assert.deepEqual(scalar.shape, []);
  assert.deepEqual([...(scalar.data as Float64Array)], [2.5]);
});

Deno.test("npy: errors name the array and the problem", () => {
  const good = npyBytes("<f4", [2, 3], new Float32Array(6));
  throwsWith(
    () =>
      parseNpy(npyBytes("<f4", [2, 3], new Float32Array(6), { fortran: true }), "a.npz: array `x`"),
    "a.npz: array `x`",
    "fortran_order",
  );
  throwsWith(() => parseNpy(good.subarray(0, good.length - 4), "t.npy"), "t.npy", "truncated");
  throwsWith(() => parseNpy(good.subarray(0, 20), "h.npy"), "h.npy", "truncated .npy header");
  throwsWith(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), "m.npy"), "m.npy", "not a .npy");
  throwsWith(() => parseNpy(npyBytes("<c8", [1], new Float32Array(2)), "c.npy"), "c.npy", "'<c8'");
  throwsWith(
    () => parseNpy(npyBytes(">f4", [1], new Float32Array(1)), "b.npy"),
    "b.npy",
    "big-endian",
  );
  const big = parseNpy(npyBytes("<i8", [1], new BigInt64Array([1n << 40n])));
  throwsWith(() => npyToInt32(big, "l"), "does not fit in int32");
  throwsWith(() => npyToInt32(parseNpy(good), "f"), "f", "integer dtype");
});

Deno.test("npz: stored and deflated archives round-trip", () => {
  const imgs = new Uint8Array(2 * 2 * 2 * 3).map((_, i) => i * 7);
  const labs = new BigInt64Array([3n, 16n]);
  for (const compress of [false, true]) {
    const z = npzBytes({
      images: npyBytes("|u1", [2, 2, 2, 3], imgs),
      labels: npyBytes("<i8", [2], labs),
    }, compress);
    const arrays = parseNpz(z, "mem.npz");
    assert.deepEqual(arrays.get("images")!.shape, [2, 2, 2, 3]);
    assert.deepEqual([...(arrays.get("images")!.data as Uint8Array)], [...imgs]);
    assert.deepEqual([...npyToInt32(arrays.get("labels")!)], [3, 16]);
    assert.deepEqual([...parseNpz(z, "mem.npz", ["labels"]).keys()], ["labels"]);
  }
});

Deno.test("npz: errors name the file, the array and the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "nothing.npz");
    await rejectsWith(() => readNpz(missing), "nothing.npz");
    const noImages = npzBytes({ labels: npyBytes("<i8", [1], new BigInt64Array([0n])) });
    throwsWith(
      () => parseNpz(noImages, "/d/train.npz", ["images", "labels"]),
      "/d/train.npz",
      "`images` not found",
      "labels.npy",
    );
    const full = await Deno.readFile(fixturePath("npz/gtsrb/train.npz"));
    throwsWith(() => parseNpz(full.subarray(0, full.length >> 1), "cut.npz"), "cut.npz", "zip");
    throwsWith(
      () => parseNpz(new TextEncoder().encode("hello world"), "txt.npz"),
      "txt.npz",
      "not an .npz",
    );
    const fortran = npzBytes({
      images: npyBytes("|u1", [1, 2, 2, 1], new Uint8Array(4), { fortran: true }),
    });
    throwsWith(() => parseNpz(fortran, "f.npz"), "f.npz: array `images`", "fortran_order");
    const truncatedEntry = npzBytes({
      images: npyBytes("|u1", [1, 2, 2, 1], new Uint8Array(4)).subarray(0, 70),
    });
    throwsWith(() => parseNpz(truncatedEntry, "e.npz"), "e.npz: array `images`", "truncated");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
