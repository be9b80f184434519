import assert from "node:assert/strict";
import { Batcher, gather, type Split } from "../../src/data/mod.ts";

function take(b: Batcher, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) out.push(...b.next());
  return out.slice(0, n);
}

Deno.test("Batcher covers every index once per epoch", () => {
  for (const [count, bs] of [[10, 5], [103, 7], [5, 16], [1, 3]]) {
    const b = new Batcher(count, bs, 42);
    const stream: number[] = [];
    for (let k = 0; k < 40; k++) {
      const batch = b.next();
      assert.equal(batch.length, bs);
      stream.push(...batch);
    }
    const epochs = Math.floor(stream.length / count);
    assert.equal(b.epoch, epochs);
    for (let e = 0; e < epochs; e++) {
      const pass = stream.slice(e * count, (e + 1) * count).sort((p, q) => p - q);
      assert.deepEqual(pass, Array.from({ length: count }, (_, i) => i));
    }
  }
});

Deno.test("Batcher is deterministic for a seed, differs across seeds and epochs", () => {
  const a = take(new Batcher(1000, 64, 216105420), 3000);
  const b = take(new Batcher(1000, 64, 216105420), 3000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(take(new Batcher(1000, 64, 216105421), 3000), a);
  assert.notDeepEqual(a.slice(0, 1000), a.slice(1000, 2000));
  assert.notDeepEqual(a.slice(1000, 2000), a.slice(2000, 3000));
  // not the identity
  assert.notDeepEqual(a.slice(0, 1000), Array.from({ length: 1000 }, (_, i) => i));
});

Deno.test("Batcher epoch counts completed passes", () => {
  const b = new Batcher(10, 4, 1);
  assert.equal(b.epoch, 0);
  b.next();
  b.next();
  assert.equal(b.epoch, 0);
  b.next(); // indices 8, 9 of pass 0, then 0, 1 of pass 1
  assert.equal(b.epoch, 1);
  b.next();
  b.next(); // ends exactly at the end of pass 1
  assert.equal(b.epoch, 2);
});

Deno.test("Batcher state()/restore() continues exactly the same sequence", () => {
  for (const stopAt of [0, 1, 3, 15, 16, 17, 40]) {
    const ref = new Batcher(100, 7, 99);
    const full = take(ref, 7 * 60);
    const b = new Batcher(100, 7, 99);
    for (let k = 0; k < stopAt; k++) b.next();
    const saved = JSON.parse(JSON.stringify(b.state()));
    const r = Batcher.restore(100, 7, saved);
    assert.equal(r.epoch, b.epoch);
    assert.deepEqual(take(r, 7 * (60 - stopAt)), full.slice(7 * stopAt));
    // a different batch size continues the same index stream
    const r2 = Batcher.restore(100, 10, saved);
    assert.deepEqual(take(r2, 70), full.slice(7 * stopAt, 7 * stopAt + 70));
  }
  const s = new Batcher(100, 7, 99).state();
  assert.throws(() => Batcher.restore(101, 7, s), /100 examples, not 101/);
  assert.throws(() => Batcher.restore(100, 7, { ...s, position: 100 }), /malformed/);
});

Deno.test("Batcher.restore with consumed checks the position in the stream and the generator", () => {
  for (const steps of [0, 1, 14, 15, 29, 100]) {
    const b = new Batcher(100, 7, 99);
    for (let k = 0; k < steps; k++) b.next();
    const s = b.state();
    const r = Batcher.restore(100, 7, s, { consumed: steps * 7 });
    assert.deepEqual(take(r, 21), take(Batcher.restore(100, 7, s), 21));
  }
  const b = new Batcher(100, 7, 99);
  for (let k = 0; k < 30; k++) b.next(); // 210 indices: pass 2, position 10
  const s = b.state();
  assert.equal(s.epoch, 2);
  const bad: [string, object, number, RegExp][] = [
    ["position behind", { ...s, position: 9 }, 210, /209 indices into the stream/],
    ["pass ahead", { ...s, epoch: 3 }, 210, /310 indices into the stream/],
    ["another step", s, 203, /expected 203/],
    ["flipped generator bit", { ...s, rng: (s.rng ^ 0x80) >>> 0 }, 210, /generator state/],
    ["another seed", { ...s, seed: 98 }, 210, /generator state/],
  ];
  for (const [what, state, consumed, message] of bad) {
    assert.throws(
      () => Batcher.restore(100, 7, state as typeof s, { consumed }),
      message,
      what,
    );
  }
  assert.throws(() => Batcher.restore(100, 7, null as never, { consumed: 0 }), /malformed/);
});

Deno.test("Batcher rejects bad arguments", () => {
  assert.throws(() => new Batcher(0, 1, 1), /count/);
  assert.throws(() => new Batcher(5, 0, 1), /batchSize/);
  assert.throws(() => new Batcher(5, 1, 0.5), /seed/);
});

Deno.test("gather scales pixels by pixelMax / 255", () => {
  const split: Split = {
    images: new Uint8Array([0, 51, 255, 1, 2, 3]),
    labels: new Int32Array([4, 9]),
    count: 2,
    shape: [1, 3, 1],
  };
  const raw = gather(split, new Int32Array([1, 0]), 255);
  assert.deepEqual([...raw.x], [1, 2, 3, 0, 51, 255]);
  assert.deepEqual([...raw.y], [9, 4]);
  const unit = gather(split, new Int32Array([0]), 1);
  assert.deepEqual([...unit.x], [0, Math.fround(0.2), 1]);
  assert.throws(() => gather(split, new Int32Array([2]), 1), /index 2 out of range/);
});
