import assert from "node:assert/strict";
import { hash01, hashed } from "../../src/io/hash.ts";
import { parseSafetensors } from "../../src/io/safetensors.ts";

const MNIST = new URL("../../../shared/goldens/mnist_cnn.safetensors", import.meta.url);

Deno.test("hash01: check values", () => {
  assert.equal(hash01(1, 0), 0.2746656537055969);
  assert.equal(hash01(1, 1), 0.837199866771698);
  assert.equal(hash01(1, 2), 0.7730968594551086);
  assert.equal(hash01(1, 3), 0.2424413561820984);
});

Deno.test("hash01: range", () => {
  for (let i = 0; i < 1000; i++) {
    const u = hash01(7, i);
    assert.ok(u >= 0 && u < 1);
    assert.equal(Math.fround(u), u);
  }
});

Deno.test("hashed: matches the golden param.W_conv1 bitwise", () => {
  const f = parseSafetensors(Deno.readFileSync(MNIST), MNIST.pathname);
  const params = JSON.parse(f.metadata["params"]);
  assert.deepEqual(params["W_conv1"], {
    seed: 100,
    scale: 0.4898979485566356,
    shape: [5, 5, 1, 32],
  });
  const w = hashed(100, [5, 5, 1, 32], 0.4898979485566356);
  const g = f.tensors.get("param.W_conv1")!;
  assert.equal(g.dtype, "F32");
  assert.deepEqual(g.shape, [5, 5, 1, 32]);
  assert.deepEqual(
    new Uint32Array(w.buffer, w.byteOffset, w.length),
    new Uint32Array(g.data.buffer, g.data.byteOffset, g.data.length),
  );
});

Deno.test("hashed: float64 then float32 rounding, and scalar shape", () => {
  const w = hashed(3, [4], 0.1);
  for (let k = 0; k < 4; k++) assert.equal(w[k], Math.fround(0.1 * (2 * hash01(3, k) - 1)));
  assert.equal(hashed(3, [], 1).length, 1);
  assert.throws(() => hashed(3, [2, -1], 1), /non-negative integers/);
});
