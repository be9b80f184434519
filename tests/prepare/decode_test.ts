import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { decodeJpeg, decodePpm } from "../../src/prepare/decode.ts";
import { readTar } from "../../src/prepare/tar.ts";
import { resize, type RgbImage } from "../../src/prepare/image.ts";
import { flatJpeg, ppmBytes, tarBytes } from "./_build.ts";

const IMAGES = new URL("../fixtures/images/", import.meta.url);
const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", IMAGES)));

for (const name of ["flower_0000.jpg", "flower_0001.jpg"]) {
  Deno.test(`JPEG ${name} decodes within 3 grey levels of OpenCV`, async () => {
    const want = manifest[`images/${name}`];
    const path = fileURLToPath(new URL(name, IMAGES));
    const img = decodeJpeg(await Deno.readFile(path), path);
    assert.equal(img.width, want.width);
    assert.equal(img.height, want.height);
    const at = (
      x: number,
      y: number,
    ) => [...img.data.subarray((y * img.width + x) * 3).slice(0, 3)];
    const near = (a: number[], b: number[], tol: number) =>
      a.every((v, i) => Math.abs(v - b[i]) <= tol) || assert.fail(`${a} vs ${b}`);
    near(at(0, 0), want.decoded_pixel_0_0, 3);
    near(at(img.width >> 1, img.height >> 1), want.decoded_pixel_mid, 3);
    const mean = [0, 0, 0];
    for (let i = 0; i < img.data.length; i++) mean[i % 3] += img.data[i];
    near(mean.map((s) => s / (img.width * img.height)), want.decoded_mean_rgb, 1);
  });
}

Deno.test("PPM: GTSRB's sign fixture decodes to its size, first pixel and pixel sum", async () => {
  const want = manifest["images/sign_00000.ppm"];
  const img = decodePpm(await Deno.readFile(new URL("sign_00000.ppm", IMAGES)), "sign_00000.ppm");
  assert.equal(img.width, want.width);
  assert.equal(img.height, want.height);
  assert.deepEqual([...img.data.subarray(0, 3)], want.pixel_0_0);
  assert.equal(img.data.reduce((a, b) => a + b, 0), want.pixel_sum);
});

Deno.test("PPM: comments, 16-bit samples; bad files are refused by name", () => {
  const img = decodePpm(new TextEncoder().encode("P6 # c\n2 1 # w h\n255\nabcdef"), "a.ppm");
  assert.deepEqual([...img.data], [..."abcdef"].map((c) => c.charCodeAt(0)));
  const wide = new Uint8Array([
    ...new TextEncoder().encode("P6\n1 1\n65535\n"),
    255,
    255,
    0,
    0,
    128,
    0,
  ]);
  assert.deepEqual([...decodePpm(wide, "w.ppm").data], [255, 0, 128]);
  assert.throws(
    () => decodePpm(new TextEncoder().encode("P3\n1 1\n255\n1 2 3"), "x.ppm"),
    /x\.ppm: not a binary PPM/,
  );
  assert.throws(
    () => decodePpm(ppmBytes(4, 4, () => [1, 2, 3]).subarray(0, 30), "t.ppm"),
    /t\.ppm: truncated PPM/,
  );
  assert.throws(
    () => decodePpm(new TextEncoder().encode("P6\nx 1\n255\n"), "h.ppm"),
    /h\.ppm: bad PPM header: expected the width/,
  );
  assert.throws(
    () => decodePpm(new TextEncoder().encode("P6\n0 1\n255\n"), "z.ppm"),
    /z\.ppm: PPM size 0×1/,
  );
});

Deno.test("JPEG: a flat colour round-trips within 3 levels; corrupt files are refused by name", () => {
  const img = decodeJpeg(flatJpeg(16, 8, [200, 30, 90]), "f.jpg");
  assert.equal(img.width, 16);
  for (let i = 0; i < img.data.length; i++) {
    assert.ok(Math.abs(img.data[i] - [200, 30, 90][i % 3]) <= 3);
  }
  assert.throws(() => decodeJpeg(new Uint8Array([1, 2, 3, 4]), "n.jpg"), /n\.jpg: not a JPEG/);
  const cut = flatJpeg(16, 8, [1, 2, 3]).subarray(0, 40);
  assert.throws(() => decodeJpeg(cut, "c.jpg"), /c\.jpg: corrupt or unsupported JPEG/);
});

Deno.test("tar: files read back; a bad checksum or truncated entry is refused by name", () => {
  const tar = tarBytes([["jpg/a.txt", new TextEncoder().encode("hello")], [
    "jpg/b",
    new Uint8Array(600),
  ]]);
  const entries = readTar(tar, "x.tar");
  assert.deepEqual(entries.map((e) => e.name), ["jpg/a.txt", "jpg/b"]);
  assert.equal(new TextDecoder().decode(entries[0].data), "hello");
  assert.equal(entries[1].data.length, 600);
  const bad = tar.slice();
  bad[3] ^= 1;
  assert.throws(
    () => readTar(bad, "x.tar"),
    /x\.tar: corrupt tar archive: bad header checksum at offset 0/,
  );
  assert.throws(
    () => readTar(tar.subarray(0, 1100), "y.tar"),
    /y\.tar: truncated tar archive: it ends at offset 1100/,
  );
  assert.throws(
    () => readTar(tar.subarray(0, 1700), "z.tar"),
    /z\.tar: truncated tar archive: entry `jpg\/b` needs 600 bytes/,
  );
});

/** Area-average resize computed directly in 2-D: each output pixel integrates its footprint. */
function areaReference(img: RgbImage, H: number, W: number): Float64Array {
  const sy = img.height / H, sx = img.width / W;
  const out = new Float64Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const acc = [0, 0, 0];
      for (let i = Math.floor(y * sy); i < Math.min(Math.ceil((y + 1) * sy), img.height); i++) {
        const wy = Math.min((y + 1) * sy, i + 1) - Math.max(y * sy, i);
        for (let j = Math.floor(x * sx); j < Math.min(Math.ceil((x + 1) * sx), img.width); j++) {
          const wx = Math.min((x + 1) * sx, j + 1) - Math.max(x * sx, j);
          for (let c = 0; c < 3; c++) acc[c] += wy * wx * img.data[(i * img.width + j) * 3 + c];
        }
      }
      for (let c = 0; c < 3; c++) out[(y * W + x) * 3 + c] = acc[c] / (sy * sx);
    }
  }
  return out;
}

Deno.test("resize of a decoded JPEG to 128×128 is the exact area average, rounded", async () => {
  const path = fileURLToPath(new URL("flower_0000.jpg", IMAGES));
  const img = decodeJpeg(await Deno.readFile(path), path);
  const small = resize(img, 128, 128);
  const ref = areaReference(img, 128, 128);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(small.data[i] - ref[i]));
  assert.ok(worst <= 0.5 + 1e-9, `largest difference ${worst}`);
});
