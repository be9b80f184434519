/**
 * Shader sources that every backend translates: WGSL constructs that one of naga's backends
 * mistranslates or panics on, and which the software adapter here (wgpu's OpenGL backend) would
 * not reveal.
 * @module
 */

import assert from "node:assert/strict";

const dir = new URL("../../shaders/", import.meta.url);

/** The WGSL files of the engine, with their text. */
async function shaders(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".wgsl")) {
      out.push([e.name, await Deno.readTextFile(new URL(e.name, dir))]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/**
 * `&` taking the address of a field or an element (`&(*s).w`, `&v.x`, `&a[i]`): passed to a
 * function, such a pointer makes naga's SPIR-V backend panic ("Expression [n] is not cached",
 * gfx-rs/wgpu#6875, #7315), which takes the whole Deno process down on every Vulkan adapter.
 * Address-of is written without a space (`&x`), the bitwise and with spaces (`a & b`).
 */
const SUB_OBJECT_POINTER = /(?<!&)&(?![&\s])(\(\s*\*\s*\w+\s*\)|\w+)\s*[.[]/;

Deno.test("shaders take no pointer to a field or element (naga's SPIR-V backend panics)", async () => {
  const found: string[] = [];
  for (const [name, text] of await shaders()) {
    text.split("\n").forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (SUB_OBJECT_POINTER.test(code)) found.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, [], `pointers to a field or element:\n${found.join("\n")}`);
});

Deno.test("the sub-object pointer check finds what it is for", () => {
  for (
    const bad of ["walk_next(&(*s).w, 1u);", "f(&v.x);", "g(&arr[i], 2u);", "h(a, &( *s ).w);"]
  ) {
    assert.ok(SUB_OBJECT_POINTER.test(bad), bad);
  }
  for (
    const good of ["f(&acc, &hi);", "let m = a & b.x;", "x = (a >= 0) & (b < 3);", "a && b[0]"]
  ) {
    assert.ok(!SUB_OBJECT_POINTER.test(good), good);
  }
});
