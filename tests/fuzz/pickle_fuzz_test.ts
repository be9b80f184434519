import "./_guard.ts";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import assert from "node:assert/strict";
import { readPickledArrays } from "../../src/prepare/pickle.ts";

const NAME = "/data/gtsrb/train.p";

/** A fixture written by NumPy (`tests/fixtures/pickle/make_fixtures.py`). */
function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/pickle/${name}`, import.meta.url));
}

const valid = [
  "gtsrb_p2.p",
  "gtsrb_p4.p",
  "gtsrb_p5.p",
  "python2_p2.p",
  "labels_list_p2.p",
  "labels_scalars_p2.p",
  "labels_scalars_p4.p",
  "dtypes_p4.p",
  "layouts_p2.p",
  "layouts_p5.p",
].map(fixture);

/** Bytes from numbers, Latin-1 strings and byte arrays. */
function pk(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += typeof p === "number" ? 1 : p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (typeof p === "number") out[at++] = p;
    else if (typeof p === "string") {
      for (let i = 0; i < p.length; i++) out[at++] = p.charCodeAt(i);
    } else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const sbu = (s: string) => pk(0x8c, s.length, s);
/** `op` repeated `n` times. */
const times = (op: Uint8Array | string, n: number) => {
  const one = typeof op === "string" ? pk(op) : op;
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
};

/** Hand-made inputs aimed at the bounds: depth, width, lengths and reuse of memoized values. */
function* handMade(): Generator<Mutant> {
  yield { how: "MARK 1e6 deep", bytes: pk(0x80, 4, times("(", 1_000_000)) };
  yield { how: "2e6 NONE", bytes: pk(0x80, 4, times("N", 2_000_000)) };
  yield { how: "2e6 MEMOIZE", bytes: pk(0x80, 4, "N", times(pk(0x94), 2_000_000)) };
  yield { how: "1e6 LONG_BINPUT", bytes: pk(0x80, 4, "N", times(pk("r", u32(7)), 1_000_000), ".") };
  yield {
    how: "2e6 LONG_BINGET",
    bytes: pk(0x80, 4, "N", 0x94, times(pk("j", u32(0)), 2_000_000)),
  };
  yield { how: "GLOBAL without newline", bytes: pk(0x80, 2, "c", times("a", 1 << 20)) };
  yield { how: "GLOBAL 1 MB names", bytes: pk(0x80, 2, "c", times("a", 1 << 20), "\n", "b\n.") };
  const mb = pk(0x58, u32(1 << 20), times("k", 1 << 20));
  yield { how: "STACK_GLOBAL 1 MB names", bytes: pk(0x80, 4, mb, mb, 0x93, ".") };
  // a 1 MB key set 200000 times: decoded once, not once per SETITEM
  yield {
    how: "1 MB key reused",
    bytes: pk(0x80, 4, "}", mb, 0x94, "N", "s", times(pk("h", 0, "Ns"), 200_000), "."),
  };
  // one 100000-item list under 20000 keys: converted once
  yield {
    how: "one list, many keys",
    bytes: pk(
      0x80,
      4,
      "}(",
      sbu("first"),
      "]",
      0x94,
      "(",
      times("K\x05", 100_000),
      "e",
      ...Array.from({ length: 20_000 }, (_, i) => pk(sbu(`k${i}`), "h", 0)),
      "u.",
    ),
  };
  // one 1 MB str encoded to bytes 100000 times: encoded once
  const encode = pk(sbu("_codecs"), sbu("encode"), 0x93, 0x94, mb, 0x94, sbu("latin1"), 0x94);
  yield {
    how: "one str encoded many times",
    bytes: pk(
      0x80,
      4,
      "](",
      encode,
      "e",
      times(pk("h", 0, "h", 1, "h", 2, 0x86, "Ra"), 100_000),
      ".",
    ),
  };
  // one 1 MB bytes under 1000 int64 arrays: converted once
  const array = pk(
    sbu("numpy._core.multiarray"),
    sbu("_reconstruct"),
    0x93,
    sbu("numpy"),
    sbu("ndarray"),
    0x93,
    "K",
    0,
    0x85,
    "C",
    1,
    "b",
    0x87,
    "R",
  );
  const state = pk(
    "(K",
    1,
    "J",
    u32(1 << 17),
    0x85,
    sbu("numpy"),
    sbu("dtype"),
    0x93,
    sbu("i8"),
    0x89,
    0x88,
    0x87,
    "R",
    0x89,
    0x42,
    u32(1 << 20),
    times("\x01", 1 << 20),
    "t",
  );
  yield {
    how: "one buffer, many arrays",
    bytes: pk(
      0x80,
      4,
      "}(",
      sbu("a"),
      array,
      state,
      0x94, // memo 0: the state
      "b",
      ...Array.from({ length: 1000 }, (_, i) => pk(sbu(`k${i}`), array, "h", 0, "b")),
      "u.",
    ),
  };
  // one 1 MB buffer under 1000 Fortran-ordered arrays: transposed once
  const fortranState = pk(
    "(K",
    1,
    "J",
    u32(1 << 10),
    "J",
    u32(1 << 7),
    0x86,
    sbu("numpy"),
    sbu("dtype"),
    0x93,
    sbu("i8"),
    0x89,
    0x88,
    0x87,
    "R",
    0x88,
    0x42,
    u32(1 << 20),
    times("\x02", 1 << 20),
    "t",
  );
  yield {
    how: "one buffer, many Fortran-ordered arrays",
    bytes: pk(
      0x80,
      4,
      "}(",
      sbu("a"),
      array,
      fortranState,
      0x94,
      "b",
      ...Array.from({ length: 1000 }, (_, i) => pk(sbu(`k${i}`), array, "h", 0, "b")),
      "u.",
    ),
  };
  yield { how: "LONG4 2^31-1", bytes: pk(0x80, 4, 0x8b, u32(0x7fffffff), ".") };
  yield { how: "BINUNICODE8 2^64-1", bytes: pk(0x80, 4, 0x8d, times("\xff", 8), ".") };
  yield { how: "FRAME 2^64-1", bytes: pk(0x80, 4, 0x95, times("\xff", 8), "}.") };
}

function* cases(): Generator<Mutant> {
  yield* handMade();
  for (const [i, v] of valid.entries()) yield* mutants(v, v.length > 50_000 ? 600 : 2500, 500 + i);
}

Deno.test("fuzz pickle: every case loads or fails with an error naming the file", async () => {
  const seen = await fuzz({
    format: "pickle",
    name: NAME,
    cases: cases(),
    // each allocation is at most the file's size (one copy of its data) plus bookkeeping
    allocationLimit: (b) => 8 * b.length + (1 << 20),
    totalAllocationLimit: (b) => 32 * b.length + (8 << 20),
    parse: (b, n) => {
      const out = readPickledArrays(b, n);
      for (const [key, a] of Object.entries(out)) {
        const count = a.shape.reduce((x, y) => x * y, 1);
        assert.equal(a.data.length, count, `${key}: elements`);
        assert.ok(a.shape.every((d) => Number.isSafeInteger(d) && d >= 0), key);
      }
      return out;
    },
  });
  assert.ok(seen.loaded > 0 && seen.rejected > 0);
});
