import assert from "node:assert/strict";
import { constants, deflateRawSync } from "node:zlib";
import { crc32 } from "../../src/data/crc32.ts";
import {
  InflateError,
  inflateRaw,
  maxInflatedSize,
  OutputLimitError,
  Sink,
} from "../../src/data/inflate.ts";
import { concatBytes, testCrc32 } from "./_helpers.ts";

/** Inflates `z` whole; returns the output and where the stream ended. */
function inflate(z: Uint8Array, limit = maxInflatedSize(z.length), initial = 16) {
  const sink = new Sink(limit, initial);
  const end = inflateRaw(z, 0, sink);
  return { out: sink.bytes(), end };
}

function samples(): [string, Uint8Array][] {
  const r = (() => {
    let a = 12345;
    return () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) >>> 24;
  })();
  const text = new TextEncoder().encode(
    "Robust attribution regularization keeps integrated gradients stable. ".repeat(900),
  );
  return [
    ["empty", new Uint8Array(0)],
    ["one byte", new Uint8Array([42])],
    ["random 200 KB", new Uint8Array(200_000).map(() => r())],
    ["zeros 300 KB", new Uint8Array(300_000)],
    ["text", text],
    ["low entropy", new Uint8Array(150_000).map(() => r() & 3)],
  ];
}

Deno.test("crc32 matches the check value and an independent bitwise CRC", () => {
  const enc = new TextEncoder();
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(enc.encode("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  const data = new Uint8Array(5000).map((_, i) => (i * 7919) >>> 3);
  assert.equal(crc32(data), testCrc32(data));
  assert.equal(crc32(data.subarray(1234), crc32(data.subarray(0, 1234))), crc32(data));
});

Deno.test("inflateRaw reproduces zlib's deflate at every level and strategy", () => {
  const strategies = [
    constants.Z_DEFAULT_STRATEGY,
    constants.Z_FILTERED,
    constants.Z_HUFFMAN_ONLY,
    constants.Z_RLE,
    constants.Z_FIXED,
  ];
  for (const [what, data] of samples()) {
    for (const level of [0, 1, 6, 9]) {
      for (const strategy of level === 0 ? [0] : strategies) {
        const z = new Uint8Array(deflateRawSync(data, { level, strategy }));
        // Bytes after the stream are not read: the end offset says where it stopped.
        const { out, end } = inflate(concatBytes(z, new Uint8Array([0xde, 0xad, 0xbe, 0xef])));
        assert.equal(end, z.length, `${what} level ${level} strategy ${strategy}: end`);
        assert.equal(out.length, data.length, `${what} level ${level} strategy ${strategy}`);
        assert.ok(out.every((v, i) => v === data[i]), `${what} level ${level}`);
        assert.ok(data.length <= maxInflatedSize(z.length));
      }
    }
  }
});

Deno.test("inflateRaw stops at the sink's limit; a sink that ends full needs no copy", () => {
  const data = new Uint8Array(100_000).map((_, i) => i % 251);
  const z = new Uint8Array(deflateRawSync(data));
  const exact = new Sink(data.length, 1024);
  inflateRaw(z, 0, exact);
  assert.equal(exact.buf.length, data.length);
  assert.equal(exact.bytes().buffer, exact.buf.buffer);
  assert.throws(() => inflateRaw(z, 0, new Sink(data.length - 1, 1024)), OutputLimitError);
  const stored = new Uint8Array(deflateRawSync(data, { level: 0 }));
  assert.throws(() => inflateRaw(stored, 0, new Sink(70_000, 1024)), OutputLimitError);
});

/** Writes bits least-significant first, as deflate does. */
function bitWriter() {
  const bytes: number[] = [];
  let acc = 0, n = 0;
  return {
    put(v: number, bits: number) {
      for (let k = 0; k < bits; k++) {
        acc |= ((v >> k) & 1) << n;
        if (++n === 8) bytes.push(acc), acc = 0, n = 0;
      }
    },
    /** A Huffman code is written most-significant bit first. */
    code(v: number, bits: number) {
      for (let k = bits - 1; k >= 0; k--) this.put((v >> k) & 1, 1);
    },
    done: () => new Uint8Array(n ? [...bytes, acc] : bytes),
  };
}

Deno.test("inflateRaw: malformed and truncated streams are InflateErrors", () => {
  // A fixed block whose first symbol is a match: nothing to copy from.
  const w = bitWriter();
  w.put(1, 1), w.put(1, 2), w.code(1, 7), w.code(0, 5), w.code(0, 7);
  assert.throws(
    () => inflate(w.done()),
    (e) => e instanceof InflateError && /distance/.test(e.message),
  );
  const bad = bitWriter();
  bad.put(1, 1), bad.put(3, 2);
  assert.throws(() => inflate(bad.done()), /block type 3/);
  const stored = new Uint8Array([1, 5, 0, 0, 0, 1, 2, 3, 4, 5]);
  assert.throws(() => inflate(stored), /length check/);
  // Fixed code 286 (a length symbol deflate never uses).
  const len = bitWriter();
  len.put(1, 1), len.put(1, 2), len.code(0b11000110, 8);
  assert.throws(() => inflate(len.done()), /length symbol 286/);
  // Every truncation of a real stream is an InflateError, never another exception.
  const data = samples()[4][1];
  for (const level of [0, 1, 9]) {
    const z = new Uint8Array(deflateRawSync(data.subarray(0, 5000), { level }));
    for (let cut = 0; cut < z.length; cut++) {
      assert.throws(() => inflate(z.subarray(0, cut)), InflateError, `level ${level} cut ${cut}`);
    }
  }
  // Over-subscribed code lengths in a dynamic block.
  const dyn = bitWriter();
  dyn.put(1, 1), dyn.put(2, 2), dyn.put(0, 5), dyn.put(0, 5), dyn.put(15, 4);
  for (let k = 0; k < 19; k++) dyn.put(1, 3);
  assert.throws(() => inflate(dyn.done()), /over-subscribed/);
});
