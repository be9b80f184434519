/**
 * `deno task bench`: this engine against its JavaScript peers on the same WebGPU adapter, then
 * the per-kernel GFLOP/s.
 *
 * Runs W1–W5 (see `workloads.ts`) on each system in its own subprocess (`system.ts`): ours,
 * jax-js (webgpu, jit), TF.js (webgpu) and TF.js (wasm, CPU). Every system starts from the same
 * hashed weights and inputs; the outputs of each workload's first call (losses, gradients, the
 * PGD step, the IG map) are compared with ours, W4's gradients included, so a peer that drops
 * the second-order term is reported as wrong. Prints one table: median ms per system, the ratio
 * peer/ours, and agreement or error notes. W5, the attribution attack, runs on ours only (the
 * peers compute no correct second-order gradient, see W4): its line gives the batched attack's
 * time, and the one-image attack's beside it, timed alternately in the same process.
 *
 *   deno task bench [--quick] [--only ours,jax,tfjs,tfjs-wasm,jax-argnums] [--workloads W1,W3]
 *                   [--reps N] [--no-kernels] [--keep DIR] [--markdown FILE] [--report DIR]
 *
 * `--quick`: one repetition, 10 IG steps in W3, m = 2 in W4, W5 on 4 images with 10 IG steps and
 * 3 attack steps. Not run by default: `jax-argnums`,
 * jax-js with W4's inner gradient taking the weights through `argnums`, and `tfjs-cpu`, TF.js's
 * plain JavaScript backend (a slow cross-check of TF.js's webgpu results). `--keep DIR` keeps
 * each system's report and outputs in `DIR/<system>`; `--report DIR` prints the table of such a
 * kept run again without measuring (give the same `--quick`/`--only`/`--workloads`).
 * @module
 */

import {
  type AttackSettings,
  BATCH,
  type BenchSettings,
  benchSettings,
  LAMBDA,
  median,
  OURS_ONLY,
  type SystemReport,
  WORKLOAD_TITLES,
  type WorkloadId,
  type WorkloadReport,
  WORKLOADS,
} from "./workloads.ts";

/** Systems in table order; the first is the reference. */
const DEFAULT_SYSTEMS = ["ours", "jax", "tfjs", "tfjs-wasm"];
const KNOWN_SYSTEMS = [...DEFAULT_SYSTEMS, "jax-argnums", "tfjs-cpu"];
/** A system's subprocess is stopped after this long. */
const SYSTEM_TIMEOUT_MS = 30 * 60_000;
/** Relative tolerance of losses and other scalars. */
const SCALAR_TOL = 1e-4;
/** Relative tolerance of the Adam update's L1 size (sensitive to gradients near 0). */
const UPDATE_TOL = 1e-3;
/** Relative L2 tolerance of tensors (gradients, images, maps). */
const TENSOR_TOL = 1e-3;

const HERE = new URL(".", import.meta.url);
/** The benchmark's own configuration: its import map names the peers, outside the default install. */
const BENCH_CONFIG = new URL("deno.json", HERE).pathname;

/** Column names. */
const SHORT: Record<string, string> = {
  ours: "ours",
  jax: "jax-js",
  "jax-argnums": "jax-js argnums",
  tfjs: "TF.js webgpu",
  "tfjs-wasm": "TF.js wasm",
  "tfjs-cpu": "TF.js cpu",
};

interface Args {
  quick: boolean;
  systems: string[];
  workloads: WorkloadId[];
  reps?: number;
  kernels: boolean;
  keep?: string;
  markdown?: string;
  report?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    quick: false,
    systems: DEFAULT_SYSTEMS,
    workloads: [...WORKLOADS],
    kernels: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === "--quick") a.quick = true;
    else if (k === "--no-kernels") a.kernels = false;
    else if (k === "--only") {
      a.systems = val().split(",").filter(Boolean);
      for (const s of a.systems) {
        if (!KNOWN_SYSTEMS.includes(s)) {
          throw new Error(`--only: unknown system ${s} (known: ${KNOWN_SYSTEMS.join(", ")})`);
        }
      }
    } else if (k === "--workloads") {
      a.workloads = val().split(",") as WorkloadId[];
      for (const w of a.workloads) {
        if (!WORKLOADS.includes(w)) throw new Error(`--workloads: unknown workload ${w}`);
      }
    } else if (k === "--reps") a.reps = Number(val());
    else if (k === "--keep") a.keep = val();
    else if (k === "--markdown") a.markdown = val();
    else if (k === "--report") a.report = val();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/** The workloads of `workloads` that `system` runs. */
function systemWorkloads(system: string, workloads: readonly WorkloadId[]): WorkloadId[] {
  if (system === "ours") return [...workloads];
  if (system === "jax-argnums") return workloads.filter((w) => w === "W4");
  return workloads.filter((w) => !OURS_ONLY.includes(w));
}

/** Runs `system.ts` for one system, forwarding its progress lines; returns its report. */
async function runSystemProcess(
  system: string,
  dir: string,
  args: Args,
): Promise<SystemReport> {
  const flags = [
    ...(args.quick ? ["--quick"] : []),
    ...(args.reps ? ["--reps", String(args.reps)] : []),
    "--workloads",
    systemWorkloads(system, args.workloads).join(","),
  ];
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      BENCH_CONFIG,
      "--allow-read",
      `--allow-write=${dir}`,
      "--allow-env",
      "--allow-sys",
      "--allow-import",
      new URL("system.ts", HERE).pathname,
      system,
      dir,
      ...flags,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
  const child = cmd.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, SYSTEM_TIMEOUT_MS);
  const tail: string[] = [];
  const seen = new Set<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        // progress lines, and each other message once (jax-js logs every WebGPU error)
        if (line.startsWith(`[${system}]`) || !seen.has(line)) console.error(line);
        seen.add(line);
      }
    }
    if (buf.trim()) tail.push(buf);
  };
  const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  clearTimeout(timer);
  let report: SystemReport;
  try {
    report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  } catch {
    report = { system, label: system, device: "?", workloads: {} };
  }
  const why = status.signal === "SIGKILL"
    ? `killed after ${SYSTEM_TIMEOUT_MS / 60_000} min`
    : `exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
  const last = tail.filter((l) => !l.startsWith(`[${system}]`)).slice(-2).join(" / ").slice(0, 300);
  for (const w of Object.values(report.workloads)) {
    if (w?.error?.startsWith("started but did not finish")) {
      w.error = `the process died in this workload (${why})${last ? `: ${last}` : ""}`;
    }
  }
  if (!status.success && !report.error && Object.keys(report.workloads).length === 0) {
    report.error = `${why}${last ? `: ${last}` : ""}`;
  }
  return report;
}

function loadTensor(dir: string, file: string): Float32Array {
  const b = Deno.readFileSync(`${dir}/${file}`);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** `‖a − b‖ / ‖b‖` (b the reference). */
function relL2(a: Float32Array, b: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < b.length; i++) {
    const e = a[i] - b[i];
    d += e * e;
    n += b[i] * b[i];
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

/** A peer's workload compared with ours. */
interface Agreement {
  ok: boolean;
  text: string;
}

function compare(
  id: WorkloadId,
  peer: WorkloadReport,
  peerDir: string,
  ours: WorkloadReport,
  oursDir: string,
  oursW1?: WorkloadReport,
): Agreement {
  const bad: string[] = [];
  let worstS = 0, worstT = 0;
  for (const [k, ref] of Object.entries(ours.scalars ?? {})) {
    const v = peer.scalars?.[k];
    if (v === undefined) {
      bad.push(`${k} missing`);
      continue;
    }
    const rel = Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-30);
    const tol = k === "adam_update_l1" ? UPDATE_TOL : SCALAR_TOL;
    if (k !== "adam_update_l1") worstS = Math.max(worstS, rel);
    if (!(rel <= tol)) {
      bad.push(`${k} ${fmtNum(v)} vs ${fmtNum(ref)} (rel ${rel.toExponential(1)})`);
    }
  }
  const peerT = peer.tensors ?? {};
  for (const [k, ref] of Object.entries(ours.tensors ?? {})) {
    const p = peerT[k];
    if (!p || p.length !== ref.length) {
      bad.push(`${k} ${p ? `has ${p.length} values, expected ${ref.length}` : "missing"}`);
      continue;
    }
    const rel = relL2(loadTensor(peerDir, p.file), loadTensor(oursDir, ref.file));
    worstT = Math.max(worstT, rel);
    if (!(rel <= TENSOR_TOL)) bad.push(`${k} rel L2 error ${rel.toExponential(1)}`);
  }
  if (bad.length === 0) {
    return {
      ok: true,
      text: `agrees (largest relative error: scalars ${worstS.toExponential(1)}, tensors ${
        worstT.toExponential(1)
      })`,
    };
  }
  let why = "";
  if (id === "W4" && oursW1?.tensors) {
    // does the peer's W4 gradient equal the first-order (xent-only) gradient of W1?
    let maxRel = 0;
    for (const [k, ref] of Object.entries(oursW1.tensors)) {
      const p = peerT[k];
      if (!p || p.length !== ref.length) {
        maxRel = Infinity;
        break;
      }
      maxRel = Math.max(maxRel, relL2(loadTensor(peerDir, p.file), loadTensor(oursDir, ref.file)));
    }
    if (maxRel <= 1e-2) {
      why = ` — its gradient is the xent-only gradient of W1 (rel ${
        maxRel.toExponential(1)
      }): the λ·IG_term gradient (second order) is missing`;
    }
  }
  const shown = bad.slice(0, 4).join("; ") + (bad.length > 4 ? `; … ${bad.length - 4} more` : "");
  return { ok: false, text: `WRONG: ${shown}${why}` };
}

function fmtNum(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(4)
    : v.toPrecision(7);
}

function fmtMs(w: WorkloadReport, reps: number): string {
  const m = median(w.ms);
  const s = m >= 100 ? m.toFixed(0) : m.toFixed(1);
  return w.ms.length < reps ? `${s} (n=${w.ms.length})` : s;
}

/** W5's settings in words. */
function attackSettingsText(a: AttackSettings): string {
  return `W5 the first ${a.images} MNIST test images labelled with the network's own ` +
    `predictions, topK attack (measure kendall) with ${a.igSteps} IG steps, ${a.steps} steps ` +
    `of ${a.stepSize}, ε = ${a.epsilon}, k_top = eval_k_top = ${a.kTop}, once`;
}

/** W5's result: the batched and the one-image attack's times, images per minute, their ratio. */
function attackLine(w: WorkloadReport, a: AttackSettings): string {
  const images = w.scalars?.images ?? a.images;
  const perMin = (ms: number) => (images / (ms / 60_000)).toFixed(1);
  const list = (xs: readonly number[]) => xs.map((v) => (v / 1000).toFixed(1)).join(", ");
  const batched = median(w.ms);
  const base = w.baselineMs?.length ? median(w.baselineMs) : undefined;
  const same = w.scalars?.identical === 1
    ? "identical image by image"
    : w.scalars?.identical === 0
    ? "NOT identical image by image"
    : "not compared";
  return `W5: the batched attack of ${images} images took ${(batched / 1000).toFixed(1)} s ` +
    `(${perMin(batched)} images/min; calls: ${list(w.ms)} s)` +
    (base === undefined
      ? "."
      : `, the one-image attack of each in turn ${(base / 1000).toFixed(1)} s (${
        perMin(base)
      } images/min; calls: ${list(w.baselineMs!)} s), alternating in one ` +
        `process: ${(base / batched).toFixed(2)}× faster batched; results ${same}.`);
}

/** Builds the Markdown report: header, the table, numbered notes. */
function buildTable(
  date: Date,
  reports: SystemReport[],
  dirs: Record<string, string>,
  args: Args,
  settings: BenchSettings,
): string {
  const ours = reports.find((r) => r.system === "ours");
  const peers = reports.filter((r) => r.system !== "ours");
  const notes: string[] = [];
  const agreed: string[] = [];
  const note = (text: string) => {
    const i = notes.indexOf(text);
    if (i >= 0) return i + 1;
    notes.push(text);
    return notes.length;
  };
  const adapter = ours?.device ?? reports[0]?.device ?? "?";
  const head = [
    `- date: ${date.toISOString().replace("T", " ").slice(0, 16)} UTC`,
    `- adapter: ${adapter}`,
    ...reports.map((r) => `- ${r.label}: device ${r.device}`),
    `- settings: MNIST CNN (docs/spec.md §2), batch ${BATCH}, hashed weights and inputs; ` +
    `median of ${settings.reps} timed call(s) after one warm-up call (whose outputs are compared); ` +
    `W3 ${settings.igSteps} IG steps; W4 m = ${settings.m}, λ = ${LAMBDA}` +
    (args.workloads.includes("W5") ? `; ${attackSettingsText(settings.attack)}` : "") +
    `${args.quick ? " (--quick)" : ""}`,
    `- agreement: each peer against ours, scalars to ${SCALAR_TOL} relative (Adam update size ` +
    `${UPDATE_TOL}), tensors (W1/W4 gradients of every weight, W2 ∂x and the stepped x, ` +
    `W3 IG and saliency) to ${TENSOR_TOL} relative L2; ✓ agrees, ✗ wrong`,
    "",
  ];
  const cols = ["workload", "ours ms"];
  for (const p of peers) {
    const n = SHORT[p.system] ?? p.system;
    cols.push(`${n} ms`, `${n}/ours`);
  }
  const rows: string[][] = [];
  for (const id of args.workloads) {
    const o = ours?.workloads[id];
    const oMs = o && !o.error && o.ms.length ? median(o.ms) : undefined;
    const row = [`${id} ${WORKLOAD_TITLES[id]}`];
    if (!ours) row.push("not run");
    else if (!o) row.push("–");
    else if (o.error) row.push(`error [${note(`ours ${id}: ${o.error}`)}]`);
    else row.push(fmtMs(o, settings.reps));
    for (const p of peers) {
      const w = p.workloads[id];
      if (OURS_ONLY.includes(id)) {
        row.push(
          `– [${
            note(
              `${id} runs on ours only: the attribution attack's direction is a second-order ` +
                "gradient, which no JavaScript peer computes correctly (see W4), so they have " +
                "no correct attack to time",
            )
          }]`,
          "–",
        );
        continue;
      }
      if (p.error) {
        row.push(`error [${note(`${p.label} could not start: ${p.error}`)}]`, "–");
        continue;
      }
      if (!w) {
        row.push("–", "–");
        continue;
      }
      const extra = w.note ? ` ${w.note}.` : "";
      if (w.error) {
        row.push(`error [${note(`${p.label} ${id}: ${w.error}.${extra}`)}]`, "–");
        continue;
      }
      let mark = "";
      if (o && !o.error && o.scalars) {
        const ag = compare(id, w, dirs[p.system], o, dirs.ours, ours?.workloads.W1);
        mark = ag.ok ? " ✓" : " ✗";
        if (!ag.ok || extra) mark += ` [${note(`${p.label} ${id}: ${ag.text}.${extra}`)}]`;
        else agreed.push(`- ${p.label} ${id}: ${ag.text}`);
      } else if (extra) mark = ` [${note(`${p.label} ${id}:${extra}`)}]`;
      row.push(`${fmtMs(w, settings.reps)}${mark}`);
      row.push(oMs !== undefined && w.ms.length ? `${(median(w.ms) / oMs).toFixed(2)}×` : "–");
    }
    rows.push(row);
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")
    } |`;
  const table = [
    line(cols),
    `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ")} |`,
    ...rows.map(line),
  ];
  const first: string[] = [];
  for (const r of reports) {
    const parts = args.workloads.map((id) => {
      const w = r.workloads[id];
      return w?.firstMs !== undefined && !w.error ? `${id} ${w.firstMs.toFixed(0)}` : null;
    }).filter(Boolean);
    if (parts.length) first.push(`- ${r.label}: ${parts.join(", ")}`);
  }
  const w5 = ours?.workloads.W5;
  return [
    ...head,
    ...table,
    "",
    ...(w5 && !w5.error ? [attackLine(w5, settings.attack), ...(notes.length ? [""] : [])] : []),
    ...notes.map((n, i) => `- [${i + 1}] ${n}`),
    ...(agreed.length ? ["", "Agreement with ours:", "", ...agreed] : []),
    ...(first.length ? ["", "First (warm-up, compiling) call, ms:", "", ...first] : []),
  ].join("\n");
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const settings = benchSettings(args.quick);
  if (args.reps) settings.reps = args.reps;
  const root = args.report ?? args.keep ?? await Deno.makeTempDir({ prefix: "rar-bench-" });
  const dirs: Record<string, string> = {};
  const reports: SystemReport[] = [];
  const systems = args.systems.includes("ours")
    ? ["ours", ...args.systems.filter((s) => s !== "ours")]
    : args.systems;
  let date = new Date();
  for (const s of systems) {
    if (systemWorkloads(s, args.workloads).length === 0) continue;
    dirs[s] = `${root}/${s}`;
    if (args.report) {
      const file = `${dirs[s]}/report.json`;
      reports.push(JSON.parse(await Deno.readTextFile(file)));
      const t = (await Deno.stat(file)).mtime;
      if (t && t < date) date = t;
      continue;
    }
    await Deno.mkdir(dirs[s], { recursive: true });
    console.error(`— ${s}`);
    reports.push(await runSystemProcess(s, dirs[s], args));
  }
  if (args.report) args.kernels = false;
  const table = buildTable(date, reports, dirs, args, settings);
  console.log("## W1–W5: ours and the JavaScript peers\n");
  console.log(table);
  let kernels = "";
  if (args.kernels) {
    console.error("— kernels");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        BENCH_CONFIG,
        "--allow-read",
        "--allow-env",
        "--allow-import",
        new URL("kernels.ts", HERE).pathname,
        ...(args.quick ? ["--quick"] : []),
      ],
      stdin: "null",
    }).output();
    kernels = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) {
      kernels += `\nkernels.ts failed: ${new TextDecoder().decode(out.stderr).trim()}`;
    }
    console.log("\n## Per-kernel throughput (ours)\n");
    console.log(kernels);
  }
  if (args.markdown) {
    await Deno.writeTextFile(
      args.markdown,
      `## W1–W5: ours and the JavaScript peers\n\n${table}\n` +
        (kernels ? `\n## Per-kernel throughput (ours)\n\n${kernels}\n` : ""),
    );
  }
  if (!args.keep && !args.report) await Deno.remove(root, { recursive: true });
}
