import assert from "node:assert/strict";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { npyToInt32, parseNpz, parseNpzHeaders, readNpz } from "../../src/data/mod.ts";
import { equalizeImages } from "../../src/data/equalize.ts";
import {
  fixturePath,
  FIXTURES,
  npyBytes,
  npzBytes,
  rejectsWith,
  throwsWith,
  zipBytes,
} from "./_helpers.ts";

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

/** A small valid `.npy` of `n` uint8 values. */
function smallNpy(n = 8): Uint8Array {
  return npyBytes("|u1", [n], new Uint8Array(n).map((_, i) => i * 3));
}

/** Byte offset of the central directory of a zip without zip64 records. */
function centralOffset(zip: Uint8Array): number {
  return new DataView(zip.buffer, zip.byteOffset).getUint32(zip.length - 22 + 16, true);
}

/**
 * 102 bytes: a local-header signature, then a zip64 end record declaring 2^32-1 entries
 * whose central directory starts past the end of the file, its locator, and an end record.
 */
function zip64CountBomb(): Uint8Array {
  const b = new Uint8Array(102);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint32(4, 0x06064b50, true);
  v.setBigUint64(8, 44n, true);
  v.setBigUint64(28, 0xffffffffn, true);
  v.setBigUint64(36, 0xffffffffn, true);
  v.setBigUint64(52, 102n, true);
  v.setUint32(60, 0x07064b50, true);
  v.setBigUint64(68, 4n, true);
  v.setUint32(76, 1, true);
  v.setUint32(80, 0x06054b50, true);
  v.setUint16(88, 0xffff, true);
  v.setUint16(90, 0xffff, true);
  v.setUint32(92, 0xffffffff, true);
  v.setUint32(96, 0xffffffff, true);
  return b;
}

Deno.test("npz: a zip64 end record declaring 2^32-1 entries is refused at once", () => {
  const bomb = zip64CountBomb();
  throwsWith(() => parseNpz(bomb, "/d/b102.npz"), "/d/b102.npz", "4294967295 entries");
  const empty = zipBytes([], { zip64: { entries: 0xffffffffn } });
  throwsWith(() => parseNpz(empty, "/d/bomb.npz"), "/d/bomb.npz", "4294967295 entries");
  throwsWith(() => parseNpzHeaders(empty, "/d/bomb.npz"), "/d/bomb.npz", "4294967295 entries");
  // The same count in a well-formed archive with one real entry.
  const one = zipBytes([{ name: "a.npy", data: smallNpy() }], {
    zip64: { entries: 0xffffffffn },
  });
  throwsWith(() => parseNpz(one, "/d/one.npz"), "/d/one.npz", "4294967295 entries");
});

Deno.test("npz: an entry declaring 8 GiB is refused before allocating it", () => {
  const npy = smallNpy();
  const bomb = zipBytes([{ name: "images.npy", data: npy, size: 2 ** 33 }]);
  assert.ok(bomb.length < 500, `${bomb.length} bytes`);
  throwsWith(() => parseNpz(bomb, "/d/big.npz"), "/d/big.npz", "images", "8589934592 bytes");
  const stored = zipBytes([{ name: "images.npy", data: npy, size: 2 ** 33, method: 0 }]);
  throwsWith(() => parseNpz(stored, "/d/st.npz"), "/d/st.npz", "8589934592 bytes");
  // A size deflate could reach but that disagrees with the .npy header's shape.
  const odd = zipBytes([{ name: "images.npy", data: npy, size: 5000 }]);
  throwsWith(() => parseNpz(odd, "/d/odd.npz"), "/d/odd.npz", "images", "5000 bytes", "[8]");
  // A header declaring a huge shape, with an entry size to match, is still bounded by
  // what the compressed bytes can hold.
  const hugeHeader = npyBytes("|u1", [2 ** 33], new Uint8Array(0));
  const lie = zipBytes([{
    name: "images.npy",
    data: hugeHeader,
    size: hugeHeader.length + 2 ** 33,
  }]);
  throwsWith(() => parseNpz(lie, "/d/lie.npz"), "/d/lie.npz", "can hold at most");
});

Deno.test("npz: a wrong CRC-32 is an error naming the file and the array", () => {
  const npy = smallNpy();
  for (const method of [0, 8]) {
    const bad = zipBytes([{ name: "labels.npy", data: npy, method, crc: 0x12345678 }]);
    throwsWith(() => parseNpz(bad, "/d/crc.npz"), "/d/crc.npz", "`labels`", "CRC-32");
  }
  // A flipped bit in stored data that leaves the .npy valid is caught by the CRC too.
  const good = zipBytes([{ name: "labels.npy", data: npy, method: 0 }]);
  const flipped = good.slice();
  flipped[30 + "labels.npy".length + npy.length - 1] ^= 4;
  throwsWith(() => parseNpz(flipped, "/d/flip.npz"), "/d/flip.npz", "CRC-32");
});

Deno.test("npz: NumPy's zip64 local headers load; overlapping entries are refused", () => {
  const a = smallNpy(5);
  const b = npyBytes("<i8", [2], new BigInt64Array([7n, -1n]));
  for (const method of [0, 8]) {
    const z = zipBytes([
      { name: "images.npy", data: a, method, zip64: true },
      { name: "labels.npy", data: b, method, zip64: true },
    ]);
    const arrays = parseNpz(z, "np.npz");
    assert.deepEqual([...arrays.keys()], ["images", "labels"]);
    assert.deepEqual([...(arrays.get("images")!.data as Uint8Array)], [...a.subarray(-5)]);
    assert.deepEqual([...npyToInt32(arrays.get("labels")!)], [7, -1]);
    assert.deepEqual(parseNpzHeaders(z, "np.npz", ["labels"]).get("labels")!.shape, [2]);
  }
  // Entry b's central record points into entry a's data, where a copy of b's local
  // header and data sit: both entries would read the same bytes.
  const inner = zipBytes([{ name: "b.npy", data: b, method: 0 }]);
  const innerLocal = inner.subarray(0, centralOffset(inner));
  const z = zipBytes([
    { name: "a.npy", data: innerLocal, method: 0 },
    { name: "b.npy", data: b, method: 0 },
  ]);
  const second = centralOffset(z) + 46 + "a.npy".length;
  new DataView(z.buffer).setUint32(second + 42, 30 + "a.npy".length, true);
  throwsWith(() => parseNpz(z, "/d/overlap.npz", ["b"]), "/d/overlap.npz", "overlap");
});

Deno.test("npz: bad records are errors naming the file", () => {
  const npy = smallNpy();
  const z = zipBytes([{ name: "a.npy", data: npy }]);
  const cd = centralOffset(z);
  const put = (at: number, v: number, bytes = 4) => {
    const c = z.slice();
    const view = new DataView(c.buffer);
    if (bytes === 4) view.setUint32(at, v, true);
    else view.setUint16(at, v, true);
    return c;
  };
  throwsWith(() => parseNpz(put(cd + 10, 12, 2), "/d/m.npz"), "/d/m.npz", "method 12");
  throwsWith(() => parseNpz(put(cd + 8, 1, 2), "/d/e.npz"), "/d/e.npz", "encrypted");
  throwsWith(() => parseNpz(put(cd + 42, 7), "/d/o.npz"), "/d/o.npz", "local header");
  throwsWith(() => parseNpz(put(cd + 20, 0x7fffffff), "/d/c.npz"), "/d/c.npz", "`a.npy`");
  throwsWith(() => parseNpz(put(cd, 0), "/d/s.npz"), "/d/s.npz", "central directory");
  throwsWith(() => parseNpz(put(z.length - 22 + 16, 9), "/d/x.npz"), "/d/x.npz");
  const dup = zipBytes([{ name: "a.npy", data: npy }, { name: "a.npy", data: npy }]);
  throwsWith(() => parseNpz(dup, "/d/dup.npz"), "/d/dup.npz", "duplicate", "a.npy");
});
