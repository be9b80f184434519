/**
 * Every kernel strategy a chooser can return, forced by name, against the portable strategy
 * (`direct`) on the same inputs and against the float64 goldens: the tuned kernels must compute
 * the same convolutions and products on every geometry they claim to fit, whichever the device
 * profile would have picked.
 */
import assert from "node:assert/strict";
import { assertClose, golden, gpu, read, setup } from "../helpers.ts";
import { hashed, type Padding, type Tensor, tensor, tidy } from "../../mod.ts";
import { runtime } from "../../src/gpu/runtime.ts";
import {
  chooseConvFilter,
  chooseConvForward,
  chooseConvInput,
  CONV_FILTER,
  CONV_FORWARD,
  CONV_INPUT,
  type FilterRun,
  type ForwardRun,
  type InputRun,
  type Strategy,
} from "../../src/ops/conv/choose.ts";
import { type ConvGeo, geometry } from "../../src/ops/conv/geometry.ts";
import { chooseMatmul, MATMUL, type MatmulStrategy } from "../../src/ops/matmul/choose.ts";

const ops = await golden("ops.safetensors");
await setup();
const profile = runtime().profile;

function rand(shape: number[], seed: number): Tensor {
  return tensor(hashed(seed, shape, 1), shape);
}

/** The strategies of `table` that fit `g`, by name. */
function fitting<R>(table: Record<string, Strategy<R>>, g: ConvGeo): [string, Strategy<R>][] {
  return Object.entries(table).filter(([, s]) => s.fits(g, profile));
}

const forward: Record<string, Strategy<ForwardRun>> = CONV_FORWARD;
const input: Record<string, Strategy<InputRun>> = CONV_INPUT;
const filter: Record<string, Strategy<FilterRun>> = CONV_FILTER;

/** Strategy names run so far per direction, to check that every one was reached. */
const seen = { forward: new Set<string>(), input: new Set<string>(), filter: new Set<string>() };

/** Runs every fitting strategy of each direction and compares with `direct` (and `expected`). */
async function checkConv(
  x: Tensor,
  w: Tensor,
  gy: Tensor,
  g: ConvGeo,
  what: string,
  expected?: { y: ArrayLike<number>; gx: ArrayLike<number>; gw: ArrayLike<number> },
  bias?: Tensor,
): Promise<void> {
  const ref = {
    y: await read(forward.direct.run(x, w, g, bias)),
    gx: await read(input.direct.run(gy, w, x.shape, g)),
    gw: await read(filter.direct.run(x, gy, w.shape, g)),
  };
  if (expected) {
    assertClose(ref.y, expected.y, `${what}: direct forward vs golden`);
    assertClose(ref.gx, expected.gx, `${what}: direct input gradient vs golden`, 1e-3);
    assertClose(ref.gw, expected.gw, `${what}: direct filter gradient vs golden`, 1e-3);
  }
  const fw = fitting(forward, g), inp = fitting(input, g), fil = fitting(filter, g);
  assert.equal(fw[0][0], chooseConvForward(g, profile));
  assert.equal(inp[0][0], chooseConvInput(g, profile));
  assert.equal(fil[0][0], chooseConvFilter(g, profile));
  for (const [name, s] of fw) {
    seen.forward.add(name);
    assertClose(await read(s.run(x, w, g, bias)), ref.y, `${what}: forward ${name}`, 1e-5);
  }
  for (const [name, s] of inp) {
    seen.input.add(name);
    assertClose(await read(s.run(gy, w, x.shape, g)), ref.gx, `${what}: input ${name}`, 1e-5);
  }
  for (const [name, s] of fil) {
    seen.filter.add(name);
    assertClose(await read(s.run(x, gy, w.shape, g)), ref.gw, `${what}: filter ${name}`, 1e-5);
  }
}

Deno.test("every convolution strategy matches the portable kernels and the goldens", async () => {
  const names = Object.keys(ops.metadata).filter((k) => k.startsWith("conv."));
  for (const key of names) {
    const meta = JSON.parse(ops.metadata[key]) as { stride: number; padding: Padding };
    await tidy(async () => {
      const t = (k: string) => gpu(ops, `${key}.${k}`);
      const x = t("x"), w = t("w"), gy = t("gy");
      const g = geometry(x.shape, w.shape, meta, key);
      const data = (k: string) => ops.tensors.get(`${key}.${k}`)!.data;
      await checkConv(x, w, gy, g, key, { y: data("y"), gx: data("gx"), gw: data("gw") });
    });
  }
  // geometries that reach the strategies the goldens do not
  const cases: [number[], number[], number, Padding][] = [
    [[3, 14, 14, 32], [5, 5, 32, 64], 1, "SAME"], // windowed, seg
    [[2, 9, 11, 9], [3, 3, 9, 70], 2, "SAME"], // windowed, strided
    [[45, 28, 28, 1], [5, 5, 1, 32], 1, "SAME"], // taps, filter rows over three x windows
    [[40, 28, 28, 2], [3, 3, 2, 8], 2, "SAME"], // windowed_xw over x windows, filter taps
    [[3, 9, 9, 2], [3, 3, 2, 6], 1, "SAME"], // filter taps with O not a multiple of 4
    [[2, 7, 7, 5], [2, 2, 5, 4100], 1, "VALID"], // wider than the windows: direct only
  ];
  for (const [xs, ws, stride, padding] of cases) {
    await tidy(async () => {
      const x = rand(xs, 1), w = rand(ws, 2);
      const g = geometry(xs, ws, { stride, padding }, "case");
      const gy = rand([g.B, g.OH, g.OW, g.O], 4), bias = rand([g.O], 3);
      await checkConv(x, w, gy, g, `x [${xs}] w [${ws}] s${stride} ${padding}`, undefined, bias);
    });
  }
  assert.deepEqual([...seen.forward].sort(), Object.keys(CONV_FORWARD).sort());
  assert.deepEqual([...seen.input].sort(), Object.keys(CONV_INPUT).sort());
  assert.deepEqual([...seen.filter].sort(), Object.keys(CONV_FILTER).sort());
});

/** `op(a) · op(b) + bias` in float64 on the host, from the same hashed data. */
function hostProduct(
  p: { M: number; K: number; N: number; ta: boolean; tb: boolean },
): Float64Array {
  const { M, K, N, ta, tb } = p;
  const a = hashed(M + K, ta ? [K, M] : [M, K], 1), b = hashed(N + 1, tb ? [N, K] : [K, N], 1);
  const bias = hashed(3, [N], 1);
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias[j];
      for (let k = 0; k < K; k++) {
        s += a[ta ? k * M + i : i * K + k] * b[tb ? j * K + k : k * N + j];
      }
      out[i * N + j] = s;
    }
  }
  return out;
}

Deno.test("every matmul strategy matches the portable kernel and a float64 reference", async () => {
  const table: Record<string, MatmulStrategy> = MATMUL;
  const used = new Set<string>();
  for (const [M, K, N] of [[50, 300, 70], [7, 600, 300], [270, 1100, 40], [3, 5, 4200]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        await tidy(async () => {
          const a = rand(ta ? [K, M] : [M, K], M + K), b = rand(tb ? [N, K] : [K, N], N + 1);
          const p = { a, b, ta, tb, M, K, N, bias: rand([N], 3) };
          const ref = await read(table.direct.run(p));
          assertClose(ref, hostProduct(p), `${M}x${K}x${N} ta=${ta} tb=${tb}: direct vs float64`);
          const fits = Object.entries(table).filter(([, s]) => s.fits(p, profile));
          assert.equal(fits[0][0], chooseMatmul(p, profile));
          for (const [name, s] of fits) {
            used.add(name);
            assertClose(
              await read(s.run(p)),
              ref,
              `${M}x${K}x${N} ta=${ta} tb=${tb}: ${name}`,
              1e-5,
            );
          }
        });
      }
    }
  }
  assert.deepEqual([...used].sort(), Object.keys(MATMUL).sort());
});
