/**
 * Fuzz test of the target-map reader (`attack attribution|explain --target`): seeded mutants of
 * valid maps of the MNIST, GTSRB and a small shape, plus hand-made hostile texts (wrong nesting,
 * infinities and huge numbers, non-numbers, deep nesting, huge rows). Every case must load a
 * map of exactly H·W finite entries or fail with an `Error` naming the file.
 */

import "./_guard.ts";
import assert from "node:assert/strict";
import { fuzz, type Mutant, mutants } from "./_harness.ts";
import { parseTargetMap, TARGET_MAP_MAX } from "../../src/cli/common.ts";

const NAME = "fuzz-target.json";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = new TextDecoder();

/** A valid H×W map as `JSON.stringify` (optionally indented) writes it. */
function validMap(H: number, W: number, seed: number, indent?: number): Uint8Array {
  const rows = Array.from(
    { length: H },
    (_, r) => Array.from({ length: W }, (_, c) => ((r * 31 + c * 17 + seed) % 13) / 4 - 1),
  );
  return enc(JSON.stringify(rows, null, indent));
}

/** Hand-made hostile texts for a 3×4 map. */
function handMade(): Mutant[] {
  const row = "[1, 2, 3, 4]";
  const rows = (r: string[]) => `[${r.join(",")}]`;
  const texts: [string, string][] = [
    ["empty", ""],
    ["null", "null"],
    ["object", '{"0": [1, 2, 3, 4]}'],
    ["flat 12", `[${Array.from({ length: 12 }, (_, i) => i).join(",")}]`],
    ["one row of 12", `[[${Array.from({ length: 12 }, (_, i) => i).join(",")}]]`],
    ["3 rows of 2×2", rows([0, 1, 2].map(() => "[[1,2],[3,4]]"))],
    ["too many rows", rows([row, row, row, row])],
    ["short row", rows([row, "[1, 2, 3]", row])],
    ["1e999", rows([row, "[1, 1e999, 3, 4]", row])],
    ["-1e999", rows([row, row, "[1, 2, 3, -1e999]"])],
    ["1e39", rows([row, "[1e39, 2, 3, 4]", row])],
    ["above the bound", rows([row, `[${TARGET_MAP_MAX * 2}, 2, 3, 4]`, row])],
    ["string", rows([row, '[1, "2", 3, 4]', row])],
    ["null entry", rows([row, "[1, null, 3, 4]", row])],
    ["true entry", rows([row, "[1, true, 3, 4]", row])],
    ["nested entry", rows([row, "[1, [2], 3, 4]", row])],
    ["all zeros", rows(["[0,0,0,0]", "[0,0,0,0]", "[0,-0,0,0]"])],
    ["deep", "[".repeat(200000) + "]".repeat(200000)],
    ["deep entry", rows([row, `[1, ${"[".repeat(100000)}${"]".repeat(100000)}, 3, 4]`, row])],
    ["huge row", rows([row, `[${Array(300000).fill(1).join(",")}]`, row])],
    ["huge string", rows([row, `[1, "${"x".repeat(1 << 20)}", 3, 4]`, row])],
    ["unterminated", "[[1, 2, 3, 4], [1, 2"],
    ["trailing garbage", rows([row, row, row]) + "]"],
    ["BOM", "\ufeff" + rows([row, row, row])],
  ];
  return texts.map(([how, t]) => ({ how, bytes: enc(t) }));
}

Deno.test("fuzz: target maps load as exactly H·W finite numbers or fail naming the file", async () => {
  const shapes: [number, number][] = [[3, 4], [28, 28], [32, 32]];
  for (const [H, W] of shapes) {
    const valid = [validMap(H, W, 1), validMap(H, W, 2, 1)];
    const cases = (function* () {
      for (const [k, v] of valid.entries()) yield* mutants(v, H === 3 ? 6000 : 3000, 100 * H + k);
      if (H === 3) yield* handMade();
    })();
    const report = await fuzz({
      format: `target map ${H}×${W}`,
      name: NAME,
      cases,
      parse: (bytes, name) => {
        const t = parseTargetMap(dec.decode(bytes), name, H, W);
        assert.equal(t.length, H * W);
        assert.ok(t.every((x) => Number.isFinite(x) && Math.abs(x) <= TARGET_MAP_MAX));
        assert.ok(t.some((x) => x !== 0));
      },
    });
    assert.ok(report.loaded > 0 && report.rejected > 0);
  }
});
