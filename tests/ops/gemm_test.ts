/**
 * The windowed product engine (`src/ops/gemm.ts`, `shaders/gemm.wgsl`) against the direct
 * kernels (`shaders/matmul.wgsl`, `shaders/conv2d.wgsl`) on shapes the goldens do not reach:
 * several column groups and windows, partial tiles, strides, VALID padding, many and few
 * channels (the col2im input gradient), fused biases on either side.
 */
import { assertClose, read, setup } from "../helpers.ts";
import {
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  hashed,
  matmul,
  type Padding,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { gemmSettings } from "../../src/ops/gemm.ts";

await setup();

function rand(shape: number[], seed: number): Tensor {
  return tensor(hashed(seed, shape, 1), shape);
}

/** Runs `f` on the windowed engine and on the direct kernels. */
async function both(f: () => Tensor): Promise<[Float32Array, Float32Array]> {
  const fast = await read(f());
  gemmSettings.enabled = false;
  try {
    return [fast, await read(f())];
  } finally {
    gemmSettings.enabled = true;
  }
}

Deno.test("windowed matmul equals the direct kernel (transposes, bias, many windows)", async () => {
  for (
    const [M, K, N] of [[50, 3136, 70], [300, 40, 130], [7, 600, 300], [130, 1030, 700], [1, 5, 1]]
  ) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = rand(ta ? [K, M] : [M, K], M + K);
        const b = rand(tb ? [N, K] : [K, N], N + 1);
        const bias = rand([N], 3);
        const [fast, direct] = await both(() =>
          matmul(a, b, { transposeA: ta, transposeB: tb, bias })
        );
        assertClose(fast, direct, `matmul ${M}x${K}x${N} ta=${ta} tb=${tb}`, 1e-5);
      }
    }
  }
});

Deno.test("windowed convolutions equal the direct kernels", async () => {
  const cases: [number[], number[], number, Padding][] = [
    [[3, 14, 14, 32], [5, 5, 32, 64], 1, "SAME"],
    [[2, 9, 11, 9], [3, 3, 9, 70], 2, "SAME"],
    [[2, 10, 10, 12], [3, 2, 12, 5], 2, "VALID"],
    [[45, 28, 28, 1], [5, 5, 1, 32], 1, "SAME"], // filter_taps over three x windows
    [[2, 9, 9, 3], [3, 3, 3, 4], 2, "VALID"],
  ];
  for (const [xs, ws, stride, padding] of cases) {
    const opts = { stride, padding };
    const x = rand(xs, 1), w = rand(ws, 2), bias = rand([ws[3]], 3);
    const y = conv2d(x, w, opts);
    const gy = rand(y.shape as number[], 4);
    const what = `x [${xs}] w [${ws}] stride ${stride} ${padding}`;
    let [fast, direct] = await both(() => conv2d(x, w, { ...opts, bias }));
    assertClose(fast, direct, `conv2d ${what}`, 1e-5);
    [fast, direct] = await both(() => conv2dBackpropInput(gy, w, xs, opts));
    assertClose(fast, direct, `conv2dBackpropInput ${what}`, 1e-5);
    [fast, direct] = await both(() => conv2dBackpropFilter(x, gy, ws, opts));
    assertClose(fast, direct, `conv2dBackpropFilter ${what}`, 1e-5);
  }
});
