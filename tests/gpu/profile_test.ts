/**
 * The device profile (`src/gpu/profile.ts`): what a software adapter and a GPU get, forcing a
 * kind by option and by `RAR_DEVICE_PROFILE`, and clear errors for unknown kinds.
 */
import assert from "node:assert/strict";
import {
  decideProfile,
  isSoftwareAdapter,
  PROFILE_ENV,
  profileFor,
  SOFTWARE_LOOP_LIMIT,
} from "../../src/gpu/profile.ts";
import { initRuntime } from "../../src/gpu/runtime.ts";

/** Runs `f` with the profile variable set to `value` (or unset), restoring it afterwards. */
function withEnv<T>(value: string | undefined, f: () => T): T {
  const before = Deno.env.get(PROFILE_ENV);
  if (value === undefined) Deno.env.delete(PROFILE_ENV);
  else Deno.env.set(PROFILE_ENV, value);
  try {
    return f();
  } finally {
    if (before === undefined) Deno.env.delete(PROFILE_ENV);
    else Deno.env.set(PROFILE_ENV, before);
  }
}

Deno.test("a software adapter gets the cpu profile, any other adapter the gpu profile", () => {
  withEnv(undefined, () => {
    const soft = decideProfile("llvmpipe (LLVM 15.0.6, 256 bits)", false);
    assert.equal(soft.kind, "cpu");
    assert.equal(soft.softwareAdapter, true);
    assert.equal(soft.loopLimit, SOFTWARE_LOOP_LIMIT);
    assert.equal(soft.texelCopies, true);
    assert.equal(soft.streamTexels, true);
    assert.equal(soft.productWorkgroup, 8);
    const fallback = decideProfile("Some Adapter", true);
    assert.equal(fallback.kind, "cpu");
    const gpu = decideProfile("NVIDIA GeForce RTX 4090 / nvidia / ada", false);
    assert.equal(gpu.kind, "gpu");
    assert.equal(gpu.softwareAdapter, false);
    assert.equal(gpu.loopLimit, Infinity);
    assert.equal(gpu.texelCopies, false);
    assert.equal(gpu.streamTexels, false);
    assert.equal(gpu.productWorkgroup, 64);
  });
});

Deno.test("forcing the gpu profile on a software adapter keeps the adapter's loop limit", () => {
  withEnv(undefined, () => {
    const p = decideProfile("llvmpipe", false, { profile: "gpu" });
    assert.equal(p.kind, "gpu");
    assert.equal(p.softwareAdapter, true);
    assert.equal(p.loopLimit, SOFTWARE_LOOP_LIMIT);
    assert.equal(p.texelCopies, false);
    assert.equal(p.streamTexels, false);
    assert.equal(p.productWorkgroup, 64);
    assert.deepEqual(decideProfile("NVIDIA", false, { profile: "cpu" }), profileFor("cpu", false));
  });
});

Deno.test("RAR_DEVICE_PROFILE forces the kind; the option wins over it", () => {
  withEnv("gpu", () => assert.equal(decideProfile("llvmpipe", false).kind, "gpu"));
  withEnv("cpu", () => assert.equal(decideProfile("NVIDIA", false).kind, "cpu"));
  withEnv("", () => assert.equal(decideProfile("NVIDIA", false).kind, "gpu"));
  withEnv(
    "gpu",
    () => assert.equal(decideProfile("NVIDIA", false, { profile: "cpu" }).kind, "cpu"),
  );
});

Deno.test("an unknown profile kind is an error naming the variable or option and the kinds", () => {
  withEnv("tpu", () => {
    assert.throws(
      () => decideProfile("llvmpipe", false),
      (e: Error) =>
        e.message.includes("RAR_DEVICE_PROFILE") && e.message.includes('"gpu", "cpu"') &&
        e.message.includes('"tpu"'),
    );
  });
  withEnv(undefined, () => {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => decideProfile("llvmpipe", false, { profile: "GPU" as any }),
      (e: Error) => e.message.includes("`profile`") && e.message.includes('"gpu", "cpu"'),
    );
  });
});

Deno.test("adapter names of software rasterisers are recognised", () => {
  for (const name of ["llvmpipe (LLVM 15)", "lavapipe", "SwiftShader Device", "softpipe"]) {
    assert.equal(isSoftwareAdapter(name), true, name);
  }
  assert.equal(isSoftwareAdapter("AMD Radeon"), false);
});

Deno.test("initRuntime follows the environment and refuses to switch profiles later", async () => {
  const forced = Deno.env.get(PROFILE_ENV);
  const rt = await initRuntime();
  const expected = forced || (rt.profile.softwareAdapter ? "cpu" : "gpu");
  assert.equal(rt.profile.kind, expected);
  const other = rt.profile.kind === "gpu" ? "cpu" : "gpu";
  await assert.rejects(() => initRuntime({ profile: other }), /already initialised/);
  assert.equal(await initRuntime({ profile: rt.profile.kind }), rt);
});
