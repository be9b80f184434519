import assert from "node:assert/strict";
import { parseTargetMap, readTargetMap } from "../../src/cli/common.ts";

/** An H×W map as JSON, with `at` overriding entries `[r, c, text]`. */
function map(H: number, W: number, at: [number, number, string][] = []): string {
  const rows = Array.from({ length: H }, (_, r) => Array.from({ length: W }, (_, c) => `${r + c}`));
  for (const [r, c, v] of at) rows[r][c] = v;
  return `[${rows.map((row) => `[${row.join(",")}]`).join(",")}]`;
}

function refuses(fn: () => unknown, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an error mentioning ${parts.join(" / ")}`);
  assert.equal(err.constructor, Error, err.message);
  for (const p of parts) assert.ok(err.message.includes(p), `${err.message} lacks ${p}`);
}

Deno.test("parseTargetMap reads exactly H rows of W finite numbers, row-major", () => {
  const t = parseTargetMap(map(2, 3), "t.json", 2, 3);
  assert.deepEqual([...t], [0, 1, 2, 1, 2, 3]);
  assert.deepEqual([...parseTargetMap("[[-1, 0.5], [0, 2]]", "t.json", 2, 2)], [-1, 0.5, 0, 2]);
});

Deno.test("parseTargetMap: non-finite, out-of-range and non-number entries name the position", () => {
  refuses(
    () => parseTargetMap(map(3, 4, [[1, 2, "1e999"]]), "t.json", 3, 4),
    "t.json",
    "row 1, column 2",
    "Infinity",
  );
  refuses(
    () => parseTargetMap(map(3, 4, [[2, 0, "-1e999"]]), "t.json", 3, 4),
    "row 2, column 0",
    "-Infinity",
  );
  refuses(
    () => parseTargetMap(map(3, 4, [[0, 3, "1e39"]]), "t.json", 3, 4),
    "row 0, column 3",
    "1e+39",
  );
  refuses(
    () => parseTargetMap(map(3, 4, [[0, 1, '"1"']]), "t.json", 3, 4),
    "row 0, column 1",
    '"1"',
  );
  refuses(
    () => parseTargetMap(map(3, 4, [[0, 1, "null"]]), "t.json", 3, 4),
    "row 0, column 1",
    "null",
  );
  refuses(() => parseTargetMap(map(3, 4, [[0, 1, "[1]"]]), "t.json", 3, 4), "row 0, column 1");
});

Deno.test("parseTargetMap: the shape must be H arrays of W numbers, not anything that flattens to H·W", () => {
  const flat = `[${Array.from({ length: 12 }, (_, i) => i).join(",")}]`;
  refuses(
    () => parseTargetMap(flat, "t.json", 3, 4),
    "t.json",
    "3 rows of 4 numbers",
    "found 12 rows",
  );
  const oneRow = `[${flat}]`;
  refuses(() => parseTargetMap(oneRow, "t.json", 3, 4), "t.json", "3 rows", "found 1");
  refuses(() => parseTargetMap(map(4, 3), "t.json", 3, 4), "t.json", "found 4");
  refuses(
    () => parseTargetMap("[[0,1,2,3],[0,1,2],[0,1,2,3,4]]", "t.json", 3, 4),
    "row 1",
    "3 entries",
  );
  const deep = `[${Array.from({ length: 3 }, () => "[[0,1],[2,3]]").join(",")}]`;
  refuses(() => parseTargetMap(deep, "t.json", 3, 4), "t.json", "row 0", "2 entries");
  refuses(() => parseTargetMap('{"a": 1}', "t.json", 3, 4), "t.json", "an object");
  refuses(() => parseTargetMap("[[1,2", "t.json", 3, 4), "t.json", "JSON");
  refuses(
    () => parseTargetMap("[[0, 0], [0, -0]]", "t.json", 2, 2),
    "t.json",
    "all zeros",
  );
  refuses(() => parseTargetMap("[".repeat(100000) + "]".repeat(100000), "t.json", 3, 4), "t.json");
});

Deno.test("readTargetMap names a missing file and refuses a file far larger than a map", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => readTargetMap(`${dir}/none.json`, 2, 2), /none\.json/);
    const big = `${dir}/big.json`;
    await Deno.writeTextFile(big, "[[1, 2], [3, 4]]" + " ".repeat(3 * 2 ** 20));
    await assert.rejects(() => readTargetMap(big, 2, 2), /big\.json.*bytes/);
    await Deno.writeTextFile(`${dir}/ok.json`, "[[1, 2], [3, 4]]\n");
    assert.deepEqual([...await readTargetMap(`${dir}/ok.json`, 2, 2)], [1, 2, 3, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
