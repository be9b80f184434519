import assert from "node:assert/strict";
import {
  crc32c,
  decodeEvents,
  eventFileName,
  EventWriter,
  FILE_VERSION,
  frameRecord,
  maskedCrc32c,
} from "../../src/io/tensorboard.ts";

const enc = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("crc32c: test vectors", () => {
  assert.equal(crc32c(enc.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // RFC 3720 B.4
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("maskedCrc32c: rotate right by 15 plus 0xa282ead8", () => {
  assert.equal(maskedCrc32c(new Uint8Array(0)), 0xa282ead8);
  const c = 0xe3069283;
  const want = ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;
  assert.equal(maskedCrc32c(enc.encode("123456789")), want);
  assert.ok(want >= 0 && want < 2 ** 32);
});

Deno.test("frameRecord: length, CRCs and payload layout", () => {
  const data = enc.encode("hello");
  const r = frameRecord(data);
  const v = new DataView(r.buffer);
  assert.equal(r.length, 21);
  assert.equal(v.getBigUint64(0, true), 5n);
  assert.equal(v.getUint32(8, true), maskedCrc32c(r.subarray(0, 8)));
  assert.deepEqual(r.subarray(12, 17), data);
  assert.equal(v.getUint32(17, true), maskedCrc32c(data));
});

Deno.test("EventWriter.header: hand-checked protobuf bytes", () => {
  const r = new EventWriter().header(1.5);
  const data = r.subarray(12, r.length - 4);
  const wall = new Uint8Array(8);
  new DataView(wall.buffer).setFloat64(0, 1.5, true);
  const want = concat([
    Uint8Array.of(0x09),
    wall,
    Uint8Array.of(0x1a, FILE_VERSION.length),
    enc.encode(FILE_VERSION),
  ]);
  assert.deepEqual(data, want);
});

Deno.test("EventWriter.scalars: hand-checked protobuf bytes", () => {
  const r = new EventWriter().scalars(300, { a: 0 }, 2);
  const data = r.subarray(12, r.length - 4);
  const wall = new Uint8Array(8);
  new DataView(wall.buffer).setFloat64(0, 2, true);
  // step 300 = varint ac 02; Value{tag "a", simple_value 0.0f} = 0a 01 61 15 00 00 00 00.
  const value = Uint8Array.of(0x0a, 0x01, 0x61, 0x15, 0, 0, 0, 0);
  const want = concat([
    Uint8Array.of(0x09),
    wall,
    Uint8Array.of(0x10, 0xac, 0x02, 0x2a, value.length + 2, 0x0a, value.length),
    value,
  ]);
  assert.deepEqual(data, want);
});

function sampleFile(): { bytes: Uint8Array; offsets: number[] } {
  const w = new EventWriter();
  const records = [
    w.header(1700000000.25),
    w.scalars(1, { "train/loss": 2.302585, "train/acc": 0.1 }, 1700000001.5),
    w.scalars(
      2,
      { "train/loss": 1.75, "train/acc": 0.4, "eval/top-k intersection": 0.333 },
      1700000002.75,
    ),
    w.scalars(3, {}, 1700000003),
    w.scalars(2 ** 40 + 7, { "big/step": -1e-8, "nan": NaN, "inf": -Infinity }, 1700000004.125),
    w.scalars(-5, { "négatif/ユニコード": 123456789 }, 1700000005),
  ];
  const offsets: number[] = [];
  let o = 0;
  for (const r of records) {
    offsets.push(o);
    o += r.length;
  }
  return { bytes: concat(records), offsets };
}

Deno.test("decodeEvents: header and scalar events round-trip exactly", () => {
  const events = decodeEvents(sampleFile().bytes);
  const f = Math.fround;
  assert.deepEqual(events, [
    { wallTime: 1700000000.25, step: 0, fileVersion: "brain.Event:2", scalars: {} },
    {
      wallTime: 1700000001.5,
      step: 1,
      scalars: { "train/loss": f(2.302585), "train/acc": f(0.1) },
    },
    {
      wallTime: 1700000002.75,
      step: 2,
      scalars: { "train/loss": 1.75, "train/acc": f(0.4), "eval/top-k intersection": f(0.333) },
    },
    { wallTime: 1700000003, step: 3, scalars: {} },
    {
      wallTime: 1700000004.125,
      step: 2 ** 40 + 7,
      scalars: { "big/step": f(-1e-8), "nan": NaN, "inf": -Infinity },
    },
    { wallTime: 1700000005, step: -5, scalars: { "négatif/ユニコード": f(123456789) } },
  ]);
  // Insertion order of tags is kept.
  assert.deepEqual(Object.keys(events[2].scalars), [
    "train/loss",
    "train/acc",
    "eval/top-k intersection",
  ]);
  assert.deepEqual(decodeEvents(new Uint8Array(0)), []);
});

Deno.test("decodeEvents: a flipped data byte is reported with its record", () => {
  const { bytes, offsets } = sampleFile();
  for (const rec of [0, 2, 5]) {
    const bad = bytes.slice();
    bad[offsets[rec] + 14] ^= 0x01;
    assert.throws(
      () => decodeEvents(bad),
      new RegExp(`record ${rec} at offset ${offsets[rec]}: data CRC mismatch`),
    );
  }
});

Deno.test("decodeEvents: a flipped length byte is reported with its record", () => {
  const { bytes, offsets } = sampleFile();
  for (const [rec, byte] of [[1, 0], [3, 1], [4, 7]]) {
    const bad = bytes.slice();
    bad[offsets[rec] + byte] ^= 0x10;
    assert.throws(
      () => decodeEvents(bad),
      new RegExp(`record ${rec} at offset ${offsets[rec]}: length CRC mismatch`),
    );
  }
});

Deno.test("decodeEvents: flipped CRC bytes and truncation are reported", () => {
  const { bytes, offsets } = sampleFile();
  const badLenCrc = bytes.slice();
  badLenCrc[offsets[2] + 9] ^= 0x80;
  assert.throws(() => decodeEvents(badLenCrc), /record 2 at offset \d+: length CRC mismatch/);
  const badDataCrc = bytes.slice();
  badDataCrc[offsets[3] - 1] ^= 0x80; // last byte of record 2
  assert.throws(() => decodeEvents(badDataCrc), /record 2 at offset \d+: data CRC mismatch/);
  assert.throws(
    () => decodeEvents(bytes.subarray(0, offsets[4] + 20)),
    new RegExp(`record 4 at offset ${offsets[4]}: length \\d+ exceeds`),
  );
  assert.throws(
    () => decodeEvents(bytes.subarray(0, offsets[5] + 5)),
    new RegExp(`record 5 at offset ${offsets[5]}: truncated header`),
  );
});

Deno.test("decodeEvents: a CRC-valid record with a malformed payload is reported", () => {
  const good = new EventWriter().header(1);
  const bad = frameRecord(Uint8Array.of(0x2a, 0x05, 0x0a)); // summary claims 5 bytes, has 1
  assert.throws(
    () => decodeEvents(concat([good, bad])),
    new RegExp(`record 1 at offset ${good.length}: .*truncated protobuf`),
  );
});

Deno.test("EventWriter: invalid step or wall time throws", () => {
  const w = new EventWriter();
  assert.throws(() => w.scalars(1.5, { a: 1 }, 0), RangeError);
  assert.throws(() => w.scalars(2 ** 53, { a: 1 }, 0), RangeError);
  assert.throws(() => w.scalars(1, { a: 1 }, NaN), RangeError);
  assert.throws(() => w.header(Infinity), RangeError);
});

Deno.test("eventFileName: events.out.tfevents.<seconds>.<hostname>", () => {
  assert.equal(
    eventFileName("gpu-box.local", new Date(1700000123999)),
    "events.out.tfevents.1700000123.gpu-box.local",
  );
  assert.equal(eventFileName("a/b c", new Date(5000)), "events.out.tfevents.0000000005.a_b_c");
});

// Optional cross-check against TensorBoard's own reader when Python has it (usually not).
const PY_READER = `
import json, math, sys
path = sys.argv[1]
try:
    from tensorboard.backend.event_processing import event_file_loader as efl
    Loader = getattr(efl, "LegacyEventFileLoader", None) or efl.EventFileLoader
    events = list(Loader(path).Load())
except ImportError:
    import tensorflow as tf
    events = list(tf.compat.v1.train.summary_iterator(path))
def num(x):
    return None if math.isnan(x) else (str(x) if math.isinf(x) else x)
out = []
for e in events:
    d = {"wallTime": e.wall_time, "step": e.step, "scalars": {}}
    if e.file_version:
        d["fileVersion"] = e.file_version
    for v in e.summary.value:
        if v.HasField("simple_value"):
            d["scalars"][v.tag] = num(v.simple_value)
    out.append(d)
print(json.dumps(out))
`;

async function pythonHasTensorBoard(): Promise<boolean> {
  for (const mod of ["tensorboard", "tensorflow"]) {
    try {
      const r = await new Deno.Command("python3", {
        args: ["-c", `import ${mod}`],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return true;
    } catch {
      return false; // no python3 (or no --allow-run)
    }
  }
  return false;
}

const hasTensorBoard = await pythonHasTensorBoard();

Deno.test({
  name: "cross-check: TensorBoard's Python reader decodes the same events",
  ignore: !hasTensorBoard,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/${eventFileName("test", new Date())}`;
      const { bytes } = sampleFile();
      await Deno.writeFile(path, bytes);
      const r = await new Deno.Command("python3", { args: ["-c", PY_READER, path] }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const fromPython = JSON.parse(new TextDecoder().decode(r.stdout));
      const normalized = JSON.parse(
        JSON.stringify(
          decodeEvents(bytes),
          (_k, v) =>
            typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? null : String(v)) : v,
        ),
      );
      // Python prints -Infinity as "-inf".
      normalized[4].scalars.inf = "-inf";
      assert.deepEqual(fromPython, normalized);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
