import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import assert from "node:assert/strict";
import { gzipSync } from "fflate";
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "../../src/data/idx.ts";
import { concatBytes, idxBytes } from "../data/_helpers.ts";

const NAME = "/data/train-images-idx3-ubyte";

const images = idxBytes([6, 7, 5], new Uint8Array(210).map((_, i) => (i * 37) & 255));
const labels = idxBytes([40], new Uint8Array(40).map((_, i) => i % 10));
const zeros = idxBytes([3000], new Uint8Array(3000));

/** Parses, and checks that a load is consistent with its own header. */
function parse(bytes: Uint8Array, name: string, magic?: number) {
  const r = parseIdx(bytes, name, magic);
  assert.equal(r.data.length, r.dims.reduce((a, b) => a * b, 1), "data length vs dims");
  return r;
}

/** Parses with no expected magic (0), the images magic (1) or the labels magic (2). */
function parseAny(bytes: Uint8Array, name: string, k: number) {
  return parse(bytes, name, [undefined, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC][k]);
}

function header(magic: number, dims: number[], extra = 0): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + extra);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic, false);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return b;
}

function* plainCases(): Generator<Mutant> {
  yield* mutants(images, 30000, 1);
  yield* mutants(labels, 30000, 2);
  yield { how: "empty", bytes: new Uint8Array(0) };
  yield { how: "3 bytes", bytes: new Uint8Array([0, 0, 8]) };
  yield { how: "huge dims", bytes: header(0x803, [0xffffffff, 0xffffffff, 0xffffffff], 16) };
  yield { how: "255 dims, short", bytes: header(0x8ff, [1, 2, 3]) };
  yield { how: "255 dims of 2^32-1", bytes: header(0x8ff, Array(255).fill(0xffffffff)) };
  yield { how: "0 dims", bytes: header(0x800, [], 1) };
  yield { how: "float32 type", bytes: header(0xd03, [1, 1, 1], 4) };
  yield { how: "big-endian int magic", bytes: header(0x03080000, [1], 1) };
}

Deno.test("fuzz IDX plain: every case loads or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "IDX plain",
    name: NAME,
    cases: plainCases(),
    parse: (b, n) => parseAny(b, n, 0),
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
  // The same cases checked against the images and labels magics.
  for (const k of [1, 2]) {
    await fuzz({
      format: `IDX plain (magic ${k === 1 ? "images" : "labels"})`,
      name: NAME,
      cases: mutants(k === 1 ? images : labels, 10000, 10 + k),
      parse: (b, n) => parseAny(b, n, k),
    });
  }
});

/** Writes the gzip trailer's CRC-32 or ISIZE word. */
function trailer(gz: Uint8Array, at: number, value: number): Uint8Array {
  const out = gz.slice();
  new DataView(out.buffer).setUint32(gz.length - at, value, true);
  return out;
}

/** A gzip member with the header flags and fields given, around `deflated` data. */
function member(flags: number, fields: number[], deflatedMember: Uint8Array): Uint8Array {
  const head = deflatedMember.slice(0, 10);
  head[3] = flags;
  return concatBytes(head, new Uint8Array(fields), deflatedMember.subarray(10));
}

function* gzCases(): Generator<Mutant> {
  const gzImages = gzipSync(images, { level: 6 });
  const gzLabels = gzipSync(labels, { level: 0 });
  const gzZeros = gzipSync(zeros, { level: 9 });
  const two = concatBytes(gzipSync(images.subarray(0, 100)), gzipSync(images.subarray(100)));
  yield* mutants(gzImages, 12000, 3);
  yield* mutants(gzLabels, 8000, 4);
  yield* mutants(gzZeros, 8000, 5);
  yield* mutants(two, 8000, 6);
  // Valid gzip around mutated IDX data: the header's dims against what the stream holds.
  for (const m of mutants(images, 8000, 7)) {
    yield { how: `gzip of ${m.how}`, bytes: gzipSync(m.bytes, { level: 1 }) };
  }
  yield { how: "trailer size 2^32-1", bytes: trailer(gzImages, 4, 0xffffffff) };
  yield { how: "trailer CRC flipped", bytes: trailer(gzImages, 8, 0x12345678) };
  yield { how: "zeros, size 2^32-1", bytes: trailer(gzZeros, 4, 0xffffffff) };
  yield {
    how: "header only, 2^32-1 images of 255x255",
    bytes: gzipSync(header(0x803, [0xffffffff, 255, 255])),
  };
  yield { how: "header only, 255 dims", bytes: gzipSync(header(0x8ff, Array(255).fill(2))) };
  yield { how: "10 MB of zeros (magic 0)", bytes: gzipSync(new Uint8Array(10_000_000)) };
  yield {
    how: "dims [16] over 1 MB of zeros",
    bytes: gzipSync(concatBytes(header(0x801, [16]), new Uint8Array(1 << 20))),
  };
  yield { how: "FEXTRA of 65535 bytes, absent", bytes: member(4, [0xff, 0xff], gzImages) };
  yield { how: "FNAME never terminated", bytes: member(8, [65, 66, 67], gzImages).slice(0, 13) };
  yield { how: "FHCRC wrong", bytes: member(2, [0, 0], gzImages) };
  yield { how: "reserved flag", bytes: member(0x20, [], gzImages) };
  yield {
    how: "1000 empty members",
    bytes: concatBytes(...Array(1000).fill(gzipSync(new Uint8Array(0)))),
  };
  yield { how: "magic only", bytes: new Uint8Array([0x1f, 0x8b]) };
}

Deno.test("fuzz IDX gz: every case loads or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "IDX gz",
    name: NAME + ".gz",
    cases: gzCases(),
    parse: (b, n) => parseAny(b, n, 0),
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});
