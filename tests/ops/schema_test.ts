/**
 * TypeScript and WGSL agree by name: every parameter schema against its struct in the shader
 * (field names, order, types), and every op-code table against the shader's named constants,
 * with no switch over a pipeline constant left on bare numbers.
 */
import assert from "node:assert/strict";
import gemmWgsl from "../../shaders/gemm.wgsl" with { type: "text" };
import convWgsl from "../../shaders/conv2d.wgsl" with { type: "text" };
import matmulWgsl from "../../shaders/matmul.wgsl" with { type: "text" };
import unaryWgsl from "../../shaders/unary.wgsl" with { type: "text" };
import binaryWgsl from "../../shaders/binary.wgsl" with { type: "text" };
import reduceWgsl from "../../shaders/reduce.wgsl" with { type: "text" };
import { packParams, type ParamSchema, wgslStructFields } from "../../src/ops/schema.ts";
import { GEMM_PARAMS, PACK_PARAMS, SEG_PARAMS } from "../../src/ops/gemm/schema.ts";
import { CONV_PARAMS, FILTER_PARAMS, INPUT_PARAMS } from "../../src/ops/conv/schema.ts";
import { MATMUL_PARAMS } from "../../src/ops/matmul/direct.ts";
import { UNARY_PARAMS } from "../../src/ops/elementwise.ts";
import {
  BINARY,
  BINARY_MODE,
  EPILOGUE,
  MATMUL_READS,
  REDUCE,
  UNARY,
  wgslCodeName,
} from "../../src/ops/codes.ts";

const SCHEMAS: [string, string, string, ParamSchema][] = [
  ["gemm.wgsl", gemmWgsl, "Params", GEMM_PARAMS],
  ["gemm.wgsl", gemmWgsl, "PackParams", PACK_PARAMS],
  ["gemm.wgsl", gemmWgsl, "SegParams", SEG_PARAMS],
  ["conv2d.wgsl", convWgsl, "Params", CONV_PARAMS],
  ["conv2d.wgsl", convWgsl, "FilterParams", FILTER_PARAMS],
  ["conv2d.wgsl", convWgsl, "InputParams", INPUT_PARAMS],
  ["matmul.wgsl", matmulWgsl, "Params", MATMUL_PARAMS],
  ["unary.wgsl", unaryWgsl, "Params", UNARY_PARAMS],
];

Deno.test("each parameter schema matches its WGSL struct field by field", () => {
  for (const [file, code, struct, schema] of SCHEMAS) {
    const fields = wgslStructFields(code, struct);
    assert.ok(fields, `${file}: struct ${struct} not found`);
    assert.deepEqual(fields, Object.entries(schema), `${file}: struct ${struct}`);
  }
});

Deno.test("the struct parser sees a changed field (the check can fail)", () => {
  const changed = gemmWgsl.replace("k0: u32, kn: u32", "kn: u32, k0: u32");
  assert.notDeepEqual(wgslStructFields(changed, "Params"), Object.entries(GEMM_PARAMS));
});

Deno.test("packParams lays out fields in schema order and names a missing one", () => {
  const words = packParams({ a: "u32", b: "f32", c: "i32" }, { a: 7, b: 1, c: -1 }, "k");
  assert.deepEqual([...words], [7, 0x3f800000, 0xffffffff]);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => packParams({ a: "u32", b: "u32" }, { a: 1 } as any, "kernel_x"),
    /kernel_x: parameter b must be a number/,
  );
});

/** The `const NAME = Nu;` declarations of a shader. */
function wgslConsts(code: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of code.matchAll(/const\s+(\w+)\s*=\s*(\d+)u\s*;/g)) out.set(m[1], Number(m[2]));
  return out;
}

/** The bodies of every `switch (name) { ... }` in a shader. */
function switches(code: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`switch\\s*\\(${name}\\)\\s*\\{`, "g");
  for (const m of code.matchAll(re)) {
    let depth = 1, j = m.index! + m[0].length;
    while (depth) {
      if (code[j] === "{") depth++;
      else if (code[j] === "}") depth--;
      j++;
    }
    out.push(code.slice(m.index!, j));
  }
  return out;
}

const CODES: [string, string, string, string, Record<string, number>][] = [
  ["unary.wgsl", unaryWgsl, "OP", "OP", UNARY],
  ["binary.wgsl", binaryWgsl, "OP", "OP", BINARY],
  ["binary.wgsl", binaryWgsl, "MODE", "MODE", BINARY_MODE],
  ["reduce.wgsl", reduceWgsl, "OP", "OP", REDUCE],
  ["gemm.wgsl", gemmWgsl, "EPILOGUE", "EPILOGUE", EPILOGUE],
  ["gemm.wgsl", gemmWgsl, "MQ", "MQ", MATMUL_READS],
];

Deno.test("each op-code table matches the shader's named constants", () => {
  for (const [file, code, override, prefix, table] of CODES) {
    const consts = wgslConsts(code);
    for (const [key, value] of Object.entries(table)) {
      const name = wgslCodeName(prefix, key);
      assert.equal(consts.get(name), value, `${file}: ${name} for ${key}`);
    }
    const names = new Set(Object.keys(table).map((k) => wgslCodeName(prefix, k)));
    for (const name of consts.keys()) {
      if (name.startsWith(`${prefix}_`)) {
        assert.ok(names.has(name), `${file}: ${name} has no entry in the table`);
      }
    }
    for (const body of switches(code, override)) {
      assert.doesNotMatch(
        body,
        /case\s+[^:]*\d+u/,
        `${file}: switch (${override}) on bare numbers`,
      );
    }
    assert.doesNotMatch(
      code,
      new RegExp(`\\b${override}\\s*[!=]=\\s*\\d+u`),
      `${file}: ${override} compared with a bare number`,
    );
  }
});
