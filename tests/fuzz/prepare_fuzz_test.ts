import "./_guard.ts";
import { fuzz, mutants } from "./_harness.ts";
import assert from "node:assert/strict";
import { decodeJpeg, decodePpm } from "../../src/prepare/decode.ts";
import { readTar } from "../../src/prepare/tar.ts";
import { parseGtsrbCsv } from "../../src/prepare/gtsrb.ts";
import { flatJpeg, ppmBytes, tarBytes } from "../prepare/_build.ts";

const ppm = ppmBytes(7, 5, (x, y) => [x * 30, y * 40, 99]);

Deno.test("fuzz PPM: every case decodes or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "PPM",
    name: "/dl/GTSRB/00000_00000.ppm",
    cases: mutants(ppm, 20000, 1),
    parse: (b, n) => {
      const img = decodePpm(b, n);
      assert.equal(img.data.length, img.width * img.height * 3);
    },
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});

Deno.test("fuzz tar: every case lists or fails with an error naming the file", async () => {
  const tar = tarBytes([["jpg/image_0001.jpg", new Uint8Array(700).fill(3)], ["jpg/x", ppm]]);
  const seen = await fuzz({
    format: "tar",
    name: "/dl/17flowers.tar",
    cases: mutants(tar, 20000, 2),
    parse: (b, n) => {
      for (const e of readTar(b, n)) assert.ok(e.data.byteOffset + e.data.length <= b.length);
    },
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});

Deno.test("fuzz GTSRB CSV: every case parses or fails with an error naming the file", async () => {
  const csv = new TextEncoder().encode(
    "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n" +
      "00000_00000.ppm;29;30;5;6;24;25;0\n00000_00001.ppm;30;30;5;5;25;25;42\n",
  );
  const seen = await fuzz({
    format: "GTSRB CSV",
    name: "/dl/GT-00000.csv",
    cases: mutants(csv, 20000, 3),
    parse: (b, n) => parseGtsrbCsv(new TextDecoder().decode(b), n),
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});

Deno.test("fuzz JPEG: every case decodes or fails with an error naming the file", async () => {
  const jpg = flatJpeg(24, 16, [10, 200, 90]);
  const seen = await fuzz({
    format: "JPEG",
    name: "/dl/jpg/image_0001.jpg",
    cases: mutants(jpg, 600, 4),
    parse: (b, n) => {
      const img = decodeJpeg(b, n);
      assert.equal(img.data.length, img.width * img.height * 3);
    },
    // jpeg-js allocates what a (mutated) frame header declares, within its own limits
    allocationLimit: () => 2 ** 30,
    hangSeconds: 60,
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});
