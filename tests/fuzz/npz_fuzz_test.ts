import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import assert from "node:assert/strict";
import { parseNpz, parseNpzHeaders } from "../../src/data/npz.ts";
import { concatBytes, fixturePath, npyBytes, npzBytes, zipBytes } from "../data/_helpers.ts";

const NAME = "/data/train.npz";

const images = npyBytes("|u1", [2, 3, 3, 1], new Uint8Array(18).map((_, i) => i * 11));
const labels = npyBytes("<i8", [2], new BigInt64Array([4n, 9n]));
const zeros = npyBytes("|u1", [20000], new Uint8Array(20000));

/** The zip64 end record (with locator and end record) of an archive with no entries. */
function zip64End(entries: bigint, cdOffset: bigint, lead: Uint8Array): Uint8Array {
  const tail = zipBytes([], { zip64: { entries } }).slice();
  const v = new DataView(tail.buffer);
  v.setBigUint64(48, cdOffset, true);
  v.setBigUint64(64, BigInt(lead.length), true);
  return concatBytes(lead, tail);
}

/** `zip` with the 32-bit word at `at` (negative: from the end) replaced. */
function put(zip: Uint8Array, at: number, value: number, bytes = 4): Uint8Array {
  const out = zip.slice();
  const v = new DataView(out.buffer);
  const p = at < 0 ? zip.length + at : at;
  if (bytes === 4) v.setUint32(p, value, true);
  else v.setUint16(p, value, true);
  return out;
}

function* cases(): Generator<Mutant> {
  const deflated = npzBytes({ images, labels }, true);
  const stored = npzBytes({ images, labels }, false);
  const numpyStyle = zipBytes([
    { name: "images.npy", data: images, zip64: true },
    { name: "labels.npy", data: labels, method: 0, zip64: true },
  ]);
  const fixture = Deno.readFileSync(fixturePath("npz/gtsrb/test.npz"));
  yield* mutants(deflated, 8000, 21);
  yield* mutants(stored, 8000, 22);
  yield* mutants(numpyStyle, 8000, 23);
  yield* mutants(npzBytes({ zeros }, true), 4000, 24);
  yield* mutants(fixture, 1500, 25);
  const lead = new Uint8Array([0x50, 0x4b, 3, 4]);
  yield { how: "zip64 2^32-1 entries, 102 bytes", bytes: zip64End(0xffffffffn, 102n, lead) };
  yield { how: "zip64 2^64-1 entries", bytes: zip64End(0xffffffffffffffffn, 0n, lead) };
  yield { how: "zip64 end record past the file", bytes: put(zip64End(1n, 0n, lead), -34, 9999) };
  const one = [{ name: "images.npy", data: images }];
  yield { how: "entry declares 8 GiB", bytes: zipBytes([{ ...one[0], size: 2 ** 33 }]) };
  yield {
    how: "stored entry declares 8 GiB",
    bytes: zipBytes([{ ...one[0], size: 2 ** 33, method: 0 }]),
  };
  const huge = npyBytes("|u1", [2 ** 33], new Uint8Array(0));
  yield {
    how: "header and entry both declare 8 GiB",
    bytes: zipBytes([{ name: "images.npy", data: huge, size: huge.length + 2 ** 33 }]),
  };
  const small = npyBytes("|u1", [100], new Uint8Array(100));
  yield {
    how: "a 228-byte array followed by 1 MB of zeros in the stream",
    bytes: zipBytes([{
      name: "z.npy",
      data: concatBytes(small, new Uint8Array(1 << 20)),
      size: small.length,
    }]),
  };
  yield { how: "bad CRC", bytes: zipBytes([{ ...one[0], crc: 1 }]) };
  yield { how: "duplicate names", bytes: zipBytes([one[0], one[0]]) };
  yield {
    how: "65535 entries in 0 bytes",
    bytes: put(put(stored, -12, 0xffff, 2), -14, 0xffff, 2),
  };
  yield { how: "central directory size 2^32-2", bytes: put(stored, -10, 0xfffffffe) };
  yield { how: "comment length past the end", bytes: put(stored, -2, 0xffff, 2) };
  const plain = zipBytes([one[0]]);
  yield { how: "encrypted", bytes: put(plain, plain.length - 22 - 56 + 8, 1, 2) };
  yield { how: "end record only", bytes: zipBytes([]) };
  yield { how: "PK only", bytes: new Uint8Array([0x50, 0x4b, 5, 6]) };
}

Deno.test("fuzz npz: every case loads or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "npz",
    name: NAME,
    cases: cases(),
    parse: (b, n) => {
      const headers = parseNpzHeaders(b, n);
      const arrays = parseNpz(b, n);
      assert.deepEqual([...arrays.keys()], [...headers.keys()]);
      for (const [k, a] of arrays) {
        assert.deepEqual(a.shape, headers.get(k)!.shape);
        assert.equal(a.data.length, a.shape.reduce((x, y) => x * y, 1));
      }
      return arrays;
    },
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});
