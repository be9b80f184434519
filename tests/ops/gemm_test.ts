/**
 * The windowed product engine (`src/ops/gemm.ts`, `shaders/gemm.wgsl`) against the direct
 * kernels (`shaders/matmul.wgsl`, `shaders/conv2d.wgsl`) on shapes the goldens do not reach:
 * several column groups and windows, partial tiles, strides, VALID padding, many and few
 * channels (the col2im and one-pass input gradients), fused biases on either side, operands bound in place
 * (with and without a copied last window).
 */
import { assertClose, read, setup } from "../helpers.ts";
import { conv2d, hashed, matmul, type Padding, type Tensor, tensor } from "../../mod.ts";
import { conv2dBackpropFilter, conv2dBackpropInput } from "../../src/ops/mod.ts";
import { gemmSettings } from "../../src/ops/gemm.ts";

await setup();

function rand(shape: number[], seed: number): Tensor {
  return tensor(hashed(seed, shape, 1), shape);
}

/** Reads `f()` with one of the engine's switches turned off. */
async function without(setting: "enabled" | "vector", f: () => Tensor): Promise<Float32Array> {
  gemmSettings[setting] = false;
  try {
    return await read(f());
  } finally {
    gemmSettings[setting] = true;
  }
}

/**
 * Runs `f` on the windowed engine with vec4 reads, with plain reads, and on the direct kernels;
 * both windowed results must match the direct one.
 */
async function check(f: () => Tensor, what: string): Promise<void> {
  const vector = await read(f());
  const plain = await without("vector", f);
  const direct = await without("enabled", f);
  assertClose(vector, direct, `${what} (vec4 reads)`, 1e-5);
  assertClose(plain, direct, `${what} (plain reads)`, 1e-5);
}

Deno.test("windowed matmul equals the direct kernel (transposes, bias, many windows)", async () => {
  for (
    const [M, K, N] of [
      [50, 3136, 70],
      [300, 40, 130],
      [7, 600, 300],
      [130, 1030, 700],
      [1, 5, 1],
      [270, 1100, 40], // 8 rows per invocation (TALL), over two dispatches of windows
    ]
  ) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = rand(ta ? [K, M] : [M, K], M + K);
        const b = rand(tb ? [N, K] : [K, N], N + 1);
        const bias = rand([N], 3);
        await check(
          () => matmul(a, b, { transposeA: ta, transposeB: tb, bias }),
          `matmul ${M}x${K}x${N} ta=${ta} tb=${tb}`,
        );
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
    [[3, 9, 9, 2], [3, 3, 2, 6], 1, "SAME"], // filter_taps with O not a multiple of 4
    [[3, 11, 10, 8], [3, 3, 8, 12], 2, "VALID"], // input gradient with vec4 reads, strided
    [[2, 7, 7, 8], [5, 5, 8, 4], 1, "SAME"], // vec4 reads, taps mostly outside the image
    [[2, 16, 16, 4], [3, 3, 4, 64], 1, "SAME"], // filter gradient: gy's windows bound in place
    [[1, 16, 32, 4], [3, 3, 4, 32], 1, "SAME"], // the same with 32 columns
    // input gradient in one pass (input_taps): blocks past the image's edge, even KH
    [[2, 17, 19, 3], [4, 3, 3, 8], 1, "SAME"],
    [[2, 9, 12, 2], [5, 2, 2, 4], 1, "VALID"], // input_taps with VALID padding
    // conv_forward_xw over four x windows bound in place, each some floats after its offset
    [[40, 28, 28, 2], [3, 3, 2, 8], 2, "SAME"],
    // images of almost a whole window (16380 floats): no room for the second one's lead, so
    // both windows are copied
    [[2, 63, 260, 1], [3, 3, 1, 4], 1, "SAME"],
    // input gradient by blocks of 8 pixels of an image row (conv_input_seg): rows of 7 pixels,
    // 64 columns, two column groups with 70 (not a multiple of 4)
    [[6, 7, 7, 8], [5, 5, 8, 4], 1, "SAME"],
    [[2, 12, 12, 40], [3, 3, 40, 8], 1, "SAME"],
    [[1, 16, 16, 70], [3, 4, 70, 4], 1, "VALID"],
  ];
  for (const [xs, ws, stride, padding] of cases) {
    const opts = { stride, padding };
    const x = rand(xs, 1), w = rand(ws, 2), bias = rand([ws[3]], 3);
    const y = conv2d(x, w, opts);
    const gy = rand(y.shape as number[], 4);
    const what = `x [${xs}] w [${ws}] stride ${stride} ${padding}`;
    await check(() => conv2d(x, w, { ...opts, bias }), `conv2d ${what}`);
    await check(() => conv2dBackpropInput(gy, w, xs, opts), `conv2dBackpropInput ${what}`);
    await check(() => conv2dBackpropFilter(x, gy, ws, opts), `conv2dBackpropFilter ${what}`);
  }
});

Deno.test("windowed products in 64-invocation workgroups (the GPU form) equal the direct kernels", async () => {
  // CPU adapters run the products in workgroups of 8 invocations, GPUs in workgroups of 64
  // (PWG of gemm.wgsl); this runs the GPU form here (vec4 reads only), with products whose
  // last workgroup is partly past the rows
  const x = rand([3, 14, 14, 32], 1), w = rand([5, 5, 32, 64], 2), gy = rand([3, 14, 14, 64], 4);
  const a = rand([270, 1100], 5), b = rand([1100, 40], 6), bias = rand([40], 7);
  const cases: [string, () => Tensor][] = [
    ["matmul 270x1100x40 (TALL)", () => matmul(a, b, { bias })],
    ["conv2d", () => conv2d(x, w)],
    ["conv2dBackpropInput", () => conv2dBackpropInput(gy, w, x.shape)],
    ["conv2dBackpropFilter", () => conv2dBackpropFilter(x, gy, w.shape)],
  ];
  for (const [what, f] of cases) {
    gemmSettings.workgroup = 64;
    let wide: Float32Array;
    try {
      wide = await read(f());
    } finally {
      gemmSettings.workgroup = 0;
    }
    assertClose(wide, await without("enabled", f), `${what}, workgroups of 64`, 1e-5);
  }
});

Deno.test("products and taps kernels reading their streamed operand in place or from texels equal the direct kernels", async () => {
  // the cpu profile reads L of the products and gy of the taps kernels from texel copies
  // (gemm_l_texels.wgsl, conv2d_gy_texels.wgsl), the gpu profile from their storage buffers
  // (gemm_l_storage.wgsl, conv2d_gy_storage.wgsl); this runs both forms
  const x = rand([3, 14, 14, 32], 1), w = rand([5, 5, 32, 64], 2), gy = rand([3, 14, 14, 64], 4);
  const x1 = rand([40, 28, 28, 2], 8), w1 = rand([3, 3, 2, 8], 9);
  const a = rand([270, 1100], 5), b = rand([1100, 40], 6), bias = rand([40], 7);
  // few channels: input_taps and filter_rows at stride 1, filter_taps at stride 2
  const x2 = rand([5, 28, 28, 1], 10),
    w2 = rand([5, 5, 1, 32], 11),
    gy2 = rand([5, 28, 28, 32], 12);
  const gy3 = rand([40, 14, 14, 8], 13);
  const cases: [string, () => Tensor][] = [
    ["input_taps", () => conv2dBackpropInput(gy2, w2, x2.shape)],
    ["filter_rows", () => conv2dBackpropFilter(x2, gy2, w2.shape)],
    ["filter_taps", () => conv2dBackpropFilter(x1, gy3, w1.shape, { stride: 2 })],
    ["matmul 270x1100x40 (TALL)", () => matmul(a, b, { bias })],
    ["matmul 40x1100x270, transposed", () => matmul(b, a, { transposeA: true, transposeB: true })],
    ["conv2d", () => conv2d(x, w)],
    ["conv2d, x in windows", () => conv2d(x1, w1, { stride: 2 })],
    ["conv2dBackpropInput", () => conv2dBackpropInput(gy, w, x.shape)],
    ["conv2dBackpropFilter", () => conv2dBackpropFilter(x, gy, w.shape)],
  ];
  for (const [what, f] of cases) {
    for (const lTexels of [true, false]) {
      gemmSettings.lTexels = lTexels;
      let got: Float32Array;
      try {
        got = await read(f());
      } finally {
        gemmSettings.lTexels = undefined;
      }
      assertClose(got, await without("enabled", f), `${what}, L texels ${lTexels}`, 1e-5);
    }
  }
});
