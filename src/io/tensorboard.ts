/**
 * TensorBoard event-file encoder (and a checking decoder) for scalar summaries.
 *
 * An event file is a sequence of TFRecord records, each framed as
 * ```
 * uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * ```
 * where `data` is a serialized `tensorflow.Event` protobuf. Only the fields needed for
 * scalars are written, hand-encoded:
 * ```
 * message Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 * message Summary { repeated Value value = 1; }
 * message Value   { string tag = 1; float simple_value = 2; }
 * ```
 * The first record of a file is an event with `file_version: "brain.Event:2"` (see
 * {@linkcode EventWriter.header}).
 *
 * Pure TypeScript: no Deno or browser APIs; this module only produces and checks bytes
 * (`src/io/files.ts` writes them).
 * @module
 */

/** The `file_version` of the first event of every event file. */
export const FILE_VERSION = "brain.Event:2";

const CRC32C_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32C (Castagnoli: reflected polynomial `0x82F63B78`, initial value and final xor
 * `0xFFFFFFFF`), table-driven.
 *
 * @param bytes the data.
 * @returns the checksum as an unsigned 32-bit integer.
 * @example crc32c(new TextEncoder().encode("123456789")) === 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The masked CRC-32C that TFRecord framing stores:
 * `((crc >>> 15) | (crc << 17)) + 0xa282ead8`, modulo 2^32.
 *
 * @param bytes the data.
 * @returns the masked checksum as an unsigned 32-bit integer.
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * Frames one record: `uint64 length | masked crc of the 8 length bytes | data |
 * masked crc of data`, all little-endian.
 *
 * @param data the record payload (a serialized `Event`).
 * @returns `data.length + 16` bytes.
 */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Protobuf encoding (just what Event needs).

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

class ProtoWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(v: bigint): void {
    const b: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      b.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    b.push(Number(x));
    this.push(Uint8Array.from(b));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  double(field: number, v: number): void {
    this.key(field, WIRE_I64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.push(b);
  }

  float(field: number, v: number): void {
    this.key(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }

  int64(field: number, v: number): void {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(v));
  }

  bytes(field: number, b: Uint8Array): void {
    this.key(field, WIRE_LEN);
    this.varint(BigInt(b.length));
    this.push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** Fields of one `Event` to encode; `undefined` or default values are omitted (proto3). */
interface EventFields {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars?: [string, number][];
}

function encodeEvent(e: EventFields): Uint8Array {
  if (!Number.isFinite(e.wallTime)) {
    throw new RangeError(`wall time must be finite, got ${e.wallTime}`);
  }
  if (!Number.isSafeInteger(e.step)) {
    throw new RangeError(`step must be a safe integer, got ${e.step}`);
  }
  const w = new ProtoWriter();
  if (e.wallTime !== 0) w.double(1, e.wallTime);
  if (e.step !== 0) w.int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars !== undefined) {
    const summary = new ProtoWriter();
    for (const [tag, value] of e.scalars) {
      if (typeof value !== "number") {
        throw new TypeError(`scalar ${JSON.stringify(tag)} must be a number, got ${typeof value}`);
      }
      const v = new ProtoWriter();
      v.string(1, tag);
      // simple_value belongs to a oneof in summary.proto: always written, even when 0.
      v.float(2, value);
      summary.bytes(1, v.finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/**
 * Produces the framed records of one TensorBoard event file. It holds no file: append the
 * returned bytes, in call order, to a file named by {@linkcode eventFileName}, starting
 * with {@linkcode EventWriter.header}.
 *
 * @example
 * ```ts
 * const w = new EventWriter();
 * const bytes = [w.header(Date.now() / 1000), w.scalars(1, { "train/loss": 0.5 }, Date.now() / 1000)];
 * ```
 */
export class EventWriter {
  /** Creates a writer; it keeps no state, so one instance can serve several files. */
  constructor() {}

  /**
   * The first record of an event file: an event with `file_version: "brain.Event:2"`.
   *
   * @param wallTime seconds since the Unix epoch (fractional), e.g. `Date.now() / 1000`.
   * @returns one framed record.
   */
  header(wallTime: number): Uint8Array {
    return frameRecord(encodeEvent({ wallTime, step: 0, fileVersion: FILE_VERSION }));
  }

  /**
   * One event holding one `simple_value` summary value per entry of `values`, in
   * insertion order. Values are stored as float32 (TensorBoard's `simple_value` type);
   * NaN and ±Infinity are kept as such.
   *
   * @param step the global step (a safe integer; negative steps are encoded as int64).
   * @param values scalar values by tag, e.g. `{ "train/loss": 0.31 }`.
   * @param wallTime seconds since the Unix epoch (fractional), e.g. `Date.now() / 1000`.
   * @returns one framed record.
   * @throws {RangeError} when `step` is not a safe integer or `wallTime` is not finite.
   */
  scalars(step: number, values: Record<string, number>, wallTime: number): Uint8Array {
    return frameRecord(encodeEvent({ wallTime, step, scalars: Object.entries(values) }));
  }
}

/**
 * The conventional event-file name `events.out.tfevents.<unix seconds>.<hostname>`, with
 * the seconds zero-padded to 10 digits as TensorFlow writes them. TensorBoard picks up
 * any file whose name contains `tfevents`. Characters of `hostname` other than
 * `[A-Za-z0-9._-]` (path separators in particular) are replaced by `_`.
 *
 * @param hostname the machine name (e.g. `Deno.hostname()`).
 * @param time the file's creation time.
 * @returns a bare file name (no directory).
 */
export function eventFileName(hostname: string, time: Date): string {
  const seconds = Math.floor(time.getTime() / 1000);
  if (!Number.isFinite(seconds)) throw new RangeError("eventFileName: invalid date");
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, "_") || "localhost";
  return `events.out.tfevents.${String(seconds).padStart(10, "0")}.${host}`;
}

// ---------------------------------------------------------------------------------------------
// Decoding (checks framing and CRCs; used by tests and as a file check).

/** One decoded event: the fields this module writes. */
export interface DecodedEvent {
  /** `wall_time`, seconds since the Unix epoch (0 when absent). */
  wallTime: number;
  /** `step` (0 when absent). */
  step: number;
  /** `file_version`, present on the header event only. */
  fileVersion?: string;
  /** `simple_value` summary values by tag (float32-rounded); `{}` when there are none. */
  scalars: Record<string, number>;
}

class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(`${this.what}: truncated protobuf at byte ${this.pos}`);
    }
  }

  varint(): bigint {
    let x = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const b = this.buf[this.pos++];
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, x);
    }
    throw new Error(`${this.what}: varint too long at byte ${this.pos}`);
  }

  key(): [number, number] {
    const k = Number(this.varint());
    return [k >>> 3, k & 7];
  }

  double(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const n = Number(this.varint());
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(): string {
    return utf8Strict.decode(this.bytes());
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new Error(`${this.what}: unsupported wire type ${wire} at byte ${this.pos}`);
    }
  }
}

function expectWire(r: ProtoReader, field: number, wire: number, want: number): void {
  if (wire !== want) {
    throw new Error(`${r.what}: field ${field} has wire type ${wire}, expected ${want}`);
  }
}

function decodeEvent(data: Uint8Array, what: string): DecodedEvent {
  const r = new ProtoReader(data, what);
  const e: DecodedEvent = { wallTime: 0, step: 0, scalars: {} };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_I64) e.wallTime = r.double();
    else if (field === 2) {
      expectWire(r, field, wire, WIRE_VARINT);
      e.step = Number(BigInt.asIntN(64, r.varint()));
    } else if (field === 3) {
      expectWire(r, field, wire, WIRE_LEN);
      e.fileVersion = r.string();
    } else if (field === 5) {
      expectWire(r, field, wire, WIRE_LEN);
      const s = new ProtoReader(r.bytes(), `${what} summary`);
      while (!s.done) {
        const [sf, sw] = s.key();
        if (sf !== 1) {
          s.skip(sw);
          continue;
        }
        expectWire(s, sf, sw, WIRE_LEN);
        const v = new ProtoReader(s.bytes(), `${what} summary value`);
        let tag = "";
        let value: number | undefined;
        while (!v.done) {
          const [vf, vw] = v.key();
          if (vf === 1) {
            expectWire(v, vf, vw, WIRE_LEN);
            tag = v.string();
          } else if (vf === 2) {
            expectWire(v, vf, vw, WIRE_I32);
            value = v.float();
          } else v.skip(vw);
        }
        if (value !== undefined) e.scalars[tag] = value;
      }
    } else r.skip(wire);
  }
  return e;
}

/**
 * Decodes an event file, checking the framing and both CRCs of every record.
 * Summary values other than `simple_value` (images, histograms, tensors) and unknown
 * fields are skipped.
 *
 * @param bytes the whole file.
 * @returns the events in file order.
 * @throws {Error} naming the record index and its byte offset when a record is truncated,
 *   a CRC does not match, or its payload is not a valid `Event`.
 */
export function decodeEvents(bytes: Uint8Array): DecodedEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: DecodedEvent[] = [];
  let offset = 0;
  for (let index = 0; offset < bytes.length; index++) {
    const where = `event record ${index} at offset ${offset}`;
    if (offset + 12 > bytes.length) {
      throw new Error(`${where}: truncated header (${bytes.length - offset} bytes left)`);
    }
    const lengthCrc = view.getUint32(offset + 8, true);
    if (lengthCrc !== maskedCrc32c(bytes.subarray(offset, offset + 8))) {
      throw new Error(`${where}: length CRC mismatch`);
    }
    const length = view.getBigUint64(offset, true);
    const remaining = BigInt(bytes.length - offset - 16);
    if (length > remaining) {
      throw new Error(`${where}: length ${length} exceeds the ${remaining} bytes left`);
    }
    const n = Number(length);
    const data = bytes.subarray(offset + 12, offset + 12 + n);
    if (view.getUint32(offset + 12 + n, true) !== maskedCrc32c(data)) {
      throw new Error(`${where}: data CRC mismatch`);
    }
    try {
      events.push(decodeEvent(data, where));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(msg.startsWith(where) ? msg : `${where}: ${msg}`);
    }
    offset += n + 16;
  }
  return events;
}
