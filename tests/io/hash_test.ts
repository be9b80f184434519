import assert from "node:assert/strict";
import { hash01, hashed } from "../../src/io/hash.ts";
import { parseSafetensors } from "../../src/io/safetensors.ts";
import { GOLDENS } from "../helpers.ts";

const MNIST = new URL("mnist_cnn.safetensors", GOLDENS);

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

Deno.test("hashed: rebuilds every stored golden parameter bitwise from its recipe", () => {
  // the recipe (seed, scale, shape) of each parameter is the file's `params` metadata
  const f = parseSafetensors(Deno.readFileSync(MNIST), MNIST.pathname);
  const recipes = JSON.parse(f.metadata["params"]) as Record<string, unknown>;
  let n = 0;
  for (const [name, r] of Object.entries(recipes)) {
    const { seed, scale, shape } = r as { seed: number; scale: number; shape: number[] };
    assert.ok(
      Number.isInteger(seed) && Number.isFinite(scale) && Array.isArray(shape),
      `params.${name}: expected {seed, scale, shape}, got ${JSON.stringify(r)}`,
    );
    const g = f.tensors.get(`param.${name}`);
    if (!g) continue; // large parameters are stored as their recipe only
    const w = hashed(seed, shape, scale);
    assert.equal(g.dtype, "F32", `param.${name}`);
    assert.deepEqual(g.shape, shape, `param.${name}`);
    assert.deepEqual(
      new Uint32Array(w.buffer, w.byteOffset, w.length),
      new Uint32Array(g.data.buffer, g.data.byteOffset, g.data.length),
      `param.${name}`,
    );
    n++;
  }
  assert.ok(n > 0, "no param.<name> tensor in the golden file");
});

Deno.test("hashed: float64 then float32 rounding, and scalar shape", () => {
  const w = hashed(3, [4], 0.1);
  for (let k = 0; k < 4; k++) assert.equal(w[k], Math.fround(0.1 * (2 * hash01(3, k) - 1)));
  assert.equal(hashed(3, [], 1).length, 1);
  assert.throws(() => hashed(3, [2, -1], 1), /non-negative integers/);
});
