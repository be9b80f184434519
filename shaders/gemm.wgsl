// Matrix products and convolutions as out[I,J] (+)= Σ_k L[i,k] · U[k,j], with the right-hand
// operand U read from a uniform-buffer window.
//
// U is packed (kernel `pack` below) in column groups of JW = 32 or 64 columns, [G][K][JW],
// and one dispatch binds up to four successive 64 KiB windows (16384 / JW rows of k of one
// group each); successive dispatches walk on and accumulate into `out` (the first adds the
// bias or starts from zero).
// Every invocation computes 4 rows × 32 columns (64 with WIDE): the U values of a row k are
// the same for the whole workgroup (uniform loads: on llvmpipe one gather per component, far
// cheaper than its per-lane loop for a storage access; a scalar load and a broadcast only at a
// compile-time-constant offset, which fully unrolled loops gave but measured no faster here),
// and the 4 L values are the only per-invocation reads, so each feeds 32 (64) FMAs. L is read
// as texels of a copy of its buffer (LT, gemm_l_texels.wgsl) where the device profile asks for
// it, else in place (gemm_l_storage.wgsl): on llvmpipe a texel fetch costs about a seventh
// of a storage vec4 load, and where four values of L that one step needs (or four steps of one
// row) are neighbours, one fetch gives all four
// (measured in bench/RESULTS.md, "Kernel choices and their measurements").
// A workgroup of 64 covers up to 256 rows × 32 (64) columns. Products of 256 rows or more take
// 8 rows per invocation (TALL): each U value then feeds 8 FMAs instead of 4.
//
// Entry points differ in how L[i,k] is read:
//   matmul:       L[i,k] = A[i*SI + k*SK]                               (A = L's buffer)
//   conv_forward: i = (b,oh,ow), k = (kh,kw,c): x[b, oh*S+kh-PT, ow*S+kw-PL, c]
//   conv_input:   i = (b,ih,iw), k = (kh,kw,o): gy[b, (ih+PT-kh)/S, (iw+PL-kw)/S, o]
//   conv_filter:  i = (kh,kw,c), k = (b,oh,ow): x[b, oh*S+kh-PT, ow*S+kw-PL, c]
// Zero wherever the tap falls outside the image (or between strided outputs).
//
// conv_input_vk (O % 4 = 0) reads gy[.., o..o+3] as one texel, where conv_input makes four
// reads; conv_forward_vk (C % 4 = 0) reads x[.., c..c+3] so, conv_filter_vk (C % 4 = 0) takes
// its rows in quads of channels c..c+3 and reads them so, and matmul (override MQ) takes rows
// or steps of k in fours where they are neighbours in memory (texel reads: llvmpipe splits a
// storage vec4 load into one per-lane loop per component). conv_input_seg (stride 1, KW ≤ 5, 256
// rows or more) takes 8 neighbouring pixels of an image row per invocation and loads the gy its
// rows share once for all kw taps. conv_forward_xw (few input channels) reads x from a fifth uniform window of whole
// images, one dispatch per window of x.

struct Params {
  I: u32, J: u32, JW: u32, jg: u32, // jg: first column of this window's group
  k0: u32, kn: u32, SI: u32, SK: u32,
  OSI: u32, OSJ: u32, B: u32, // OSJ = 1 (whole vec4 rows, see finish)
  H: u32, W: u32, C: u32, OH: u32,
  OW: u32, O: u32, S: u32, KH: u32,
  KW: u32, PT: u32, PL: u32, XL: u32, // XL: conv_forward_xw's floats of XW before its first image
  TS: u32, // log2 of the width in texels of LT
}

@group(0) @binding(0) var<uniform> p: Params;

// Invocations per workgroup of the products (the device profile's productWorkgroup): 8 on a
// CPU adapter (one SIMD batch), 64 on a GPU. llvmpipe runs each workgroup on one thread, so small
// workgroups spread a product evenly over the cores, and it runs every SIMD batch of a workgroup,
// so idle invocations of a larger workgroup still cost their straight-line code. On a GPU a
// workgroup of 8 would leave most of each warp idle. Invocations past the rows repeat the last row
// and store nothing.
override PWG: u32 = 64u;
// binding 1: L's buffer, read through `l_texel` (gemm_l_texels.wgsl or gemm_l_storage.wgsl)
// bias and out are read and written as vec4 (see finish); single values as components
@group(0) @binding(2) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
// Up to four successive windows of U per dispatch (unused ones repeat the first).
@group(0) @binding(4) var<uniform> U0: array<vec4<f32>, 4096>;
@group(0) @binding(5) var<uniform> U1: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<uniform> U2: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<uniform> U3: array<vec4<f32>, 4096>;
// Float i of L's buffer.
fn l_at(i: u32) -> f32 {
  return l_texel(i >> 2u)[i & 3u];
}

override WIDE: bool = false;     // 64 columns per invocation (JW = 64) instead of 32
// 8 rows per invocation instead of 4: rows 4..7 accumulate in a second array (`hi`), and each
// row k of U, loaded once, feeds twice the FMAs.
override TALL: bool = false;
// What the stores add to the sum: nothing (0, the first window), the previous value (1, later
// windows), bias[j] (2) or bias[i] (3) (the first window of a product with a bias). A pipeline
// constant, not a parameter: on llvmpipe the loads of untaken branches still cost a per-lane
// loop each, which made a runtime switch here as costly as a small product itself.
override EPILOGUE: u32 = 0u;
// the values of EPILOGUE (EPILOGUE in src/ops/codes.ts)
const EPILOGUE_STORE = 0u;
const EPILOGUE_ACCUMULATE = 1u;
const EPILOGUE_BIAS_COLUMNS = 2u;
const EPILOGUE_BIAS_ROWS = 3u;

// r: the invocation's rows; rows: the same clamped to I - 1 (rows past the end repeat the
// last row for loading and are not stored).
struct Block { r: vec4<u32>, rows: vec4<u32>, j0: u32, ub: u32, r2: vec4<u32>, rows2: vec4<u32> }

// Rows l, l+PWG, l+2·PWG, l+3·PWG of the workgroup's 4·PWG (neighbouring invocations read
// neighbouring rows). Rows count from `first` (conv_forward_xw: the first row of its window of
// x).
fn block(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, first: u32) -> Block {
  return block_rows(wid, nwg, lid, first, false);
}

// block with `quads`: rows 4·l..4·l+3 (and 4·PWG + 4·l.. when TALL), whose L values lie in one
// texel where L's rows are its innermost index (conv_filter_vk).
fn block_rows(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, first: u32, quads: bool) -> Block {
  let g = linear_group(wid, nwg);
  var t: Block;
  let width = select(32u, 64u, WIDE);
  let tiles = p.JW / width;
  let i0 = (g / tiles) * select(4u, 8u, TALL) * PWG;
  t.r = vec4<u32>(first + i0 + lid) + vec4<u32>(0u, 1u, 2u, 3u) * PWG;
  if (quads) { t.r = vec4<u32>(first + i0 + 4u * lid) + vec4<u32>(0u, 1u, 2u, 3u); }
  t.ub = (g % tiles) * (width / 4u);
  t.j0 = p.jg + t.ub * 4u;
  let last = vec4<u32>(max(p.I, 1u) - 1u);
  t.rows = min(t.r, last);
  t.r2 = t.r + vec4<u32>(4u * PWG);
  t.rows2 = min(t.r2, last);
  return t;
}

// Row k of a window, columns of the invocation: 8 vec4 (16 with WIDE), loaded by urow0..3
// from window 0..3 (one loader per binding: WGSL cannot pass a uniform buffer to a function).
alias URow = array<vec4<f32>, 16>;

// Rows of k per window: 16384 floats / JW.
fn window_rows() -> u32 { return select(512u, 256u, WIDE); }

fn urow0(kk: u32, ub: u32) -> URow {
  let b = kk * (p.JW / 4u) + ub;
  var u: URow;
  u[0] = U0[b]; u[1] = U0[b + 1u]; u[2] = U0[b + 2u]; u[3] = U0[b + 3u];
  u[4] = U0[b + 4u]; u[5] = U0[b + 5u]; u[6] = U0[b + 6u]; u[7] = U0[b + 7u];
  if (WIDE) {
    u[8] = U0[b + 8u]; u[9] = U0[b + 9u]; u[10] = U0[b + 10u]; u[11] = U0[b + 11u];
    u[12] = U0[b + 12u]; u[13] = U0[b + 13u]; u[14] = U0[b + 14u]; u[15] = U0[b + 15u];
  }
  return u;
}

fn urow1(kk: u32, ub: u32) -> URow {
  let b = kk * (p.JW / 4u) + ub;
  var u: URow;
  u[0] = U1[b]; u[1] = U1[b + 1u]; u[2] = U1[b + 2u]; u[3] = U1[b + 3u];
  u[4] = U1[b + 4u]; u[5] = U1[b + 5u]; u[6] = U1[b + 6u]; u[7] = U1[b + 7u];
  if (WIDE) {
    u[8] = U1[b + 8u]; u[9] = U1[b + 9u]; u[10] = U1[b + 10u]; u[11] = U1[b + 11u];
    u[12] = U1[b + 12u]; u[13] = U1[b + 13u]; u[14] = U1[b + 14u]; u[15] = U1[b + 15u];
  }
  return u;
}

fn urow2(kk: u32, ub: u32) -> URow {
  let b = kk * (p.JW / 4u) + ub;
  var u: URow;
  u[0] = U2[b]; u[1] = U2[b + 1u]; u[2] = U2[b + 2u]; u[3] = U2[b + 3u];
  u[4] = U2[b + 4u]; u[5] = U2[b + 5u]; u[6] = U2[b + 6u]; u[7] = U2[b + 7u];
  if (WIDE) {
    u[8] = U2[b + 8u]; u[9] = U2[b + 9u]; u[10] = U2[b + 10u]; u[11] = U2[b + 11u];
    u[12] = U2[b + 12u]; u[13] = U2[b + 13u]; u[14] = U2[b + 14u]; u[15] = U2[b + 15u];
  }
  return u;
}

fn urow3(kk: u32, ub: u32) -> URow {
  let b = kk * (p.JW / 4u) + ub;
  var u: URow;
  u[0] = U3[b]; u[1] = U3[b + 1u]; u[2] = U3[b + 2u]; u[3] = U3[b + 3u];
  u[4] = U3[b + 4u]; u[5] = U3[b + 5u]; u[6] = U3[b + 6u]; u[7] = U3[b + 7u];
  if (WIDE) {
    u[8] = U3[b + 8u]; u[9] = U3[b + 9u]; u[10] = U3[b + 10u]; u[11] = U3[b + 11u];
    u[12] = U3[b + 12u]; u[13] = U3[b + 13u]; u[14] = U3[b + 14u]; u[15] = U3[b + 15u];
  }
  return u;
}

// acc[r * 16 + q] holds row r, columns j0 + 4q .. j0 + 4q + 3 (q < 8, or q < 16 when WIDE).
fn fma_row(acc: ptr<function, array<vec4<f32>, 64>>, a: vec4<f32>, u: URow) {
  // unrolled with constant indices so the accumulators stay in registers
  let u0 = u[0];
  let u1 = u[1];
  let u2 = u[2];
  let u3 = u[3];
  let u4 = u[4];
  let u5 = u[5];
  let u6 = u[6];
  let u7 = u[7];
  (*acc)[0] += a.x * u0;
  (*acc)[1] += a.x * u1;
  (*acc)[2] += a.x * u2;
  (*acc)[3] += a.x * u3;
  (*acc)[4] += a.x * u4;
  (*acc)[5] += a.x * u5;
  (*acc)[6] += a.x * u6;
  (*acc)[7] += a.x * u7;
  (*acc)[16] += a.y * u0;
  (*acc)[17] += a.y * u1;
  (*acc)[18] += a.y * u2;
  (*acc)[19] += a.y * u3;
  (*acc)[20] += a.y * u4;
  (*acc)[21] += a.y * u5;
  (*acc)[22] += a.y * u6;
  (*acc)[23] += a.y * u7;
  (*acc)[32] += a.z * u0;
  (*acc)[33] += a.z * u1;
  (*acc)[34] += a.z * u2;
  (*acc)[35] += a.z * u3;
  (*acc)[36] += a.z * u4;
  (*acc)[37] += a.z * u5;
  (*acc)[38] += a.z * u6;
  (*acc)[39] += a.z * u7;
  (*acc)[48] += a.w * u0;
  (*acc)[49] += a.w * u1;
  (*acc)[50] += a.w * u2;
  (*acc)[51] += a.w * u3;
  (*acc)[52] += a.w * u4;
  (*acc)[53] += a.w * u5;
  (*acc)[54] += a.w * u6;
  (*acc)[55] += a.w * u7;
  if (WIDE) {
    let u8 = u[8];
    let u9 = u[9];
    let u10 = u[10];
    let u11 = u[11];
    let u12 = u[12];
    let u13 = u[13];
    let u14 = u[14];
    let u15 = u[15];
    (*acc)[8] += a.x * u8;
    (*acc)[9] += a.x * u9;
    (*acc)[10] += a.x * u10;
    (*acc)[11] += a.x * u11;
    (*acc)[12] += a.x * u12;
    (*acc)[13] += a.x * u13;
    (*acc)[14] += a.x * u14;
    (*acc)[15] += a.x * u15;
    (*acc)[24] += a.y * u8;
    (*acc)[25] += a.y * u9;
    (*acc)[26] += a.y * u10;
    (*acc)[27] += a.y * u11;
    (*acc)[28] += a.y * u12;
    (*acc)[29] += a.y * u13;
    (*acc)[30] += a.y * u14;
    (*acc)[31] += a.y * u15;
    (*acc)[40] += a.z * u8;
    (*acc)[41] += a.z * u9;
    (*acc)[42] += a.z * u10;
    (*acc)[43] += a.z * u11;
    (*acc)[44] += a.z * u12;
    (*acc)[45] += a.z * u13;
    (*acc)[46] += a.z * u14;
    (*acc)[47] += a.z * u15;
    (*acc)[56] += a.w * u8;
    (*acc)[57] += a.w * u9;
    (*acc)[58] += a.w * u10;
    (*acc)[59] += a.w * u11;
    (*acc)[60] += a.w * u12;
    (*acc)[61] += a.w * u13;
    (*acc)[62] += a.w * u14;
    (*acc)[63] += a.w * u15;
  }
}

// finish for the invocation's rows 0..3 (acc) and, when TALL, 4..7 (hi).
fn finish_all(t: Block, acc: ptr<function, array<vec4<f32>, 64>>,
              hi: ptr<function, array<vec4<f32>, 64>>) {
  finish(t, acc);
  if (TALL) {
    var t2 = t;
    t2.r = t.r2;
    t2.rows = t.rows2;
    finish(t2, hi);
  }
}

// The stores of rows 0..3 of the invocation: whole vec4, out[i, j..j+3] at out4[(i·OSI + j) / 4]
// (OSI and J are multiples of 4; gemm.ts computes any other layout as such rows and puts them in
// place with the strided copy of layout.wgsl). One storage access per 4 values, and bias[j]
// (EPILOGUE 2) read once per invocation, not once per row. On llvmpipe every storage access at
// a lane-varying address is a loop over the lanes: per-element stores were nearly half the time
// of a product with a short reduction (conv1's 25 taps), and took 6-8 times as long to compile.
fn finish(t: Block, acc: ptr<function, array<vec4<f32>, 64>>) {
  // column quads of this invocation inside J
  let nq = (max(p.J, t.j0) - t.j0) / 4u;
  var bq: array<vec4<f32>, 16>;
  if (EPILOGUE == EPILOGUE_BIAS_COLUMNS) {
    let q0 = t.j0 / 4u;
    let last = max(p.J, 4u) / 4u - 1u;
    bq[0] = bias4[min(q0 + 0u, last)];
    bq[1] = bias4[min(q0 + 1u, last)];
    bq[2] = bias4[min(q0 + 2u, last)];
    bq[3] = bias4[min(q0 + 3u, last)];
    bq[4] = bias4[min(q0 + 4u, last)];
    bq[5] = bias4[min(q0 + 5u, last)];
    bq[6] = bias4[min(q0 + 6u, last)];
    bq[7] = bias4[min(q0 + 7u, last)];
    if (WIDE) {
      bq[8] = bias4[min(q0 + 8u, last)];
      bq[9] = bias4[min(q0 + 9u, last)];
      bq[10] = bias4[min(q0 + 10u, last)];
      bq[11] = bias4[min(q0 + 11u, last)];
      bq[12] = bias4[min(q0 + 12u, last)];
      bq[13] = bias4[min(q0 + 13u, last)];
      bq[14] = bias4[min(q0 + 14u, last)];
      bq[15] = bias4[min(q0 + 15u, last)];
    }
  }
  if (t.r.x < p.I) {
    let o = (t.r.x * p.OSI + t.j0) / 4u;
    let b = bias_row(t.r.x);
    if (0u < nq) { put4(o + 0u, (*acc)[0], bq[0] + b); }
    if (1u < nq) { put4(o + 1u, (*acc)[1], bq[1] + b); }
    if (2u < nq) { put4(o + 2u, (*acc)[2], bq[2] + b); }
    if (3u < nq) { put4(o + 3u, (*acc)[3], bq[3] + b); }
    if (4u < nq) { put4(o + 4u, (*acc)[4], bq[4] + b); }
    if (5u < nq) { put4(o + 5u, (*acc)[5], bq[5] + b); }
    if (6u < nq) { put4(o + 6u, (*acc)[6], bq[6] + b); }
    if (7u < nq) { put4(o + 7u, (*acc)[7], bq[7] + b); }
    if (WIDE) {
      if (8u < nq) { put4(o + 8u, (*acc)[8], bq[8] + b); }
      if (9u < nq) { put4(o + 9u, (*acc)[9], bq[9] + b); }
      if (10u < nq) { put4(o + 10u, (*acc)[10], bq[10] + b); }
      if (11u < nq) { put4(o + 11u, (*acc)[11], bq[11] + b); }
      if (12u < nq) { put4(o + 12u, (*acc)[12], bq[12] + b); }
      if (13u < nq) { put4(o + 13u, (*acc)[13], bq[13] + b); }
      if (14u < nq) { put4(o + 14u, (*acc)[14], bq[14] + b); }
      if (15u < nq) { put4(o + 15u, (*acc)[15], bq[15] + b); }
    }
  }
  if (t.r.y < p.I) {
    let o = (t.r.y * p.OSI + t.j0) / 4u;
    let b = bias_row(t.r.y);
    if (0u < nq) { put4(o + 0u, (*acc)[16], bq[0] + b); }
    if (1u < nq) { put4(o + 1u, (*acc)[17], bq[1] + b); }
    if (2u < nq) { put4(o + 2u, (*acc)[18], bq[2] + b); }
    if (3u < nq) { put4(o + 3u, (*acc)[19], bq[3] + b); }
    if (4u < nq) { put4(o + 4u, (*acc)[20], bq[4] + b); }
    if (5u < nq) { put4(o + 5u, (*acc)[21], bq[5] + b); }
    if (6u < nq) { put4(o + 6u, (*acc)[22], bq[6] + b); }
    if (7u < nq) { put4(o + 7u, (*acc)[23], bq[7] + b); }
    if (WIDE) {
      if (8u < nq) { put4(o + 8u, (*acc)[24], bq[8] + b); }
      if (9u < nq) { put4(o + 9u, (*acc)[25], bq[9] + b); }
      if (10u < nq) { put4(o + 10u, (*acc)[26], bq[10] + b); }
      if (11u < nq) { put4(o + 11u, (*acc)[27], bq[11] + b); }
      if (12u < nq) { put4(o + 12u, (*acc)[28], bq[12] + b); }
      if (13u < nq) { put4(o + 13u, (*acc)[29], bq[13] + b); }
      if (14u < nq) { put4(o + 14u, (*acc)[30], bq[14] + b); }
      if (15u < nq) { put4(o + 15u, (*acc)[31], bq[15] + b); }
    }
  }
  if (t.r.z < p.I) {
    let o = (t.r.z * p.OSI + t.j0) / 4u;
    let b = bias_row(t.r.z);
    if (0u < nq) { put4(o + 0u, (*acc)[32], bq[0] + b); }
    if (1u < nq) { put4(o + 1u, (*acc)[33], bq[1] + b); }
    if (2u < nq) { put4(o + 2u, (*acc)[34], bq[2] + b); }
    if (3u < nq) { put4(o + 3u, (*acc)[35], bq[3] + b); }
    if (4u < nq) { put4(o + 4u, (*acc)[36], bq[4] + b); }
    if (5u < nq) { put4(o + 5u, (*acc)[37], bq[5] + b); }
    if (6u < nq) { put4(o + 6u, (*acc)[38], bq[6] + b); }
    if (7u < nq) { put4(o + 7u, (*acc)[39], bq[7] + b); }
    if (WIDE) {
      if (8u < nq) { put4(o + 8u, (*acc)[40], bq[8] + b); }
      if (9u < nq) { put4(o + 9u, (*acc)[41], bq[9] + b); }
      if (10u < nq) { put4(o + 10u, (*acc)[42], bq[10] + b); }
      if (11u < nq) { put4(o + 11u, (*acc)[43], bq[11] + b); }
      if (12u < nq) { put4(o + 12u, (*acc)[44], bq[12] + b); }
      if (13u < nq) { put4(o + 13u, (*acc)[45], bq[13] + b); }
      if (14u < nq) { put4(o + 14u, (*acc)[46], bq[14] + b); }
      if (15u < nq) { put4(o + 15u, (*acc)[47], bq[15] + b); }
    }
  }
  if (t.r.w < p.I) {
    let o = (t.r.w * p.OSI + t.j0) / 4u;
    let b = bias_row(t.r.w);
    if (0u < nq) { put4(o + 0u, (*acc)[48], bq[0] + b); }
    if (1u < nq) { put4(o + 1u, (*acc)[49], bq[1] + b); }
    if (2u < nq) { put4(o + 2u, (*acc)[50], bq[2] + b); }
    if (3u < nq) { put4(o + 3u, (*acc)[51], bq[3] + b); }
    if (4u < nq) { put4(o + 4u, (*acc)[52], bq[4] + b); }
    if (5u < nq) { put4(o + 5u, (*acc)[53], bq[5] + b); }
    if (6u < nq) { put4(o + 6u, (*acc)[54], bq[6] + b); }
    if (7u < nq) { put4(o + 7u, (*acc)[55], bq[7] + b); }
    if (WIDE) {
      if (8u < nq) { put4(o + 8u, (*acc)[56], bq[8] + b); }
      if (9u < nq) { put4(o + 9u, (*acc)[57], bq[9] + b); }
      if (10u < nq) { put4(o + 10u, (*acc)[58], bq[10] + b); }
      if (11u < nq) { put4(o + 11u, (*acc)[59], bq[11] + b); }
      if (12u < nq) { put4(o + 12u, (*acc)[60], bq[12] + b); }
      if (13u < nq) { put4(o + 13u, (*acc)[61], bq[13] + b); }
      if (14u < nq) { put4(o + 14u, (*acc)[62], bq[14] + b); }
      if (15u < nq) { put4(o + 15u, (*acc)[63], bq[15] + b); }
    }
  }
}

// bias[i] of row i as a vec4 (EPILOGUE 3), else 0.
fn bias_row(i: u32) -> vec4<f32> {
  if (EPILOGUE != EPILOGUE_BIAS_ROWS) { return vec4<f32>(); }
  return vec4<f32>(bias4[i / 4u][i % 4u]);
}

// out4[o] = v + b (EPILOGUE 0: v; 1: previous value + v; 2, 3: the bias b + v).
fn put4(o: u32, v: vec4<f32>, b: vec4<f32>) {
  switch (EPILOGUE) {
    case EPILOGUE_ACCUMULATE: { out4[o] = out4[o] + v; }
    case EPILOGUE_BIAS_COLUMNS, EPILOGUE_BIAS_ROWS: { out4[o] = b + v; }
    default: { out4[o] = v; }
  }
}

// The k loop of every entry point: window w of the dispatch covers k in [w·WR, (w+1)·WR) of
// its p.kn rows, read from binding U<w> (written out four times because each binding needs
// its own loader). `A` is the entry's reader of L for step k (a function of k and its state).

// How matmul reads L: 0, one value per row and step of k; 1 (SI = 1, I % 4 = 0, SK % 4 = 0), the
// invocation's rows in quads of neighbouring rows, one texel per quad and step; 2 (SK = 1,
// SI % 4 = 0, K % 4 = 0), one texel per row for four steps.
override MQ: u32 = 0u;
// the values of MQ (MATMUL_READS in src/ops/codes.ts)
const MQ_SINGLE = 0u;
const MQ_ROW_QUADS = 1u;
const MQ_STEP_QUADS = 2u;

@compute @workgroup_size(PWG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let t = block_rows(wid, nwg, lid, 0u, MQ == MQ_ROW_QUADS);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  let rb = t.rows * p.SI;
  let rb2 = t.rows2 * p.SI;
  let WR = window_rows();
  if (MQ == MQ_STEP_QUADS) {
    for (var k = 0u; k < min(p.kn, WR); k += 4u) {
      let a = matmul_a8(rb, rb2, k);
      for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow0(k + e, t.ub)); }
    }
    for (var k = WR; k < min(p.kn, 2u * WR); k += 4u) {
      let a = matmul_a8(rb, rb2, k);
      for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow1(k - WR + e, t.ub)); }
    }
    for (var k = 2u * WR; k < min(p.kn, 3u * WR); k += 4u) {
      let a = matmul_a8(rb, rb2, k);
      for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow2(k - 2u * WR + e, t.ub)); }
    }
    for (var k = 3u * WR; k < p.kn; k += 4u) {
      let a = matmul_a8(rb, rb2, k);
      for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow3(k - 3u * WR + e, t.ub)); }
    }
    finish_all(t, &acc, &hi);
    return;
  }
  for (var k = 0u; k < min(p.kn, WR); k++) {
    let u = urow0(k, t.ub);
    fma_row(&acc, matmul_a(rb, k), u);
    if (TALL) { fma_row(&hi, matmul_a(rb2, k), u); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k++) {
    let u = urow1(k - WR, t.ub);
    fma_row(&acc, matmul_a(rb, k), u);
    if (TALL) { fma_row(&hi, matmul_a(rb2, k), u); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k++) {
    let u = urow2(k - 2u * WR, t.ub);
    fma_row(&acc, matmul_a(rb, k), u);
    if (TALL) { fma_row(&hi, matmul_a(rb2, k), u); }
  }
  for (var k = 3u * WR; k < p.kn; k++) {
    let u = urow3(k - 3u * WR, t.ub);
    fma_row(&acc, matmul_a(rb, k), u);
    if (TALL) { fma_row(&hi, matmul_a(rb2, k), u); }
  }
  finish_all(t, &acc, &hi);
}

// L of the rows rb (times SI) at step k (MQ 0 and 1).
fn matmul_a(rb: vec4<u32>, k: u32) -> vec4<f32> {
  let ko = (p.k0 + k) * p.SK;
  if (MQ == MQ_ROW_QUADS) { return l_texel((rb.x + ko) / 4u); }
  return vec4<f32>(l_at(rb.x + ko), l_at(rb.y + ko), l_at(rb.z + ko), l_at(rb.w + ko));
}

// MQ 2: L of the rows for steps k..k+3, one texel per row.
fn matmul_a8(rb: vec4<u32>, rb2: vec4<u32>, k: u32) -> A8 {
  let ko = p.k0 + k;
  var r: A8;
  r.lo = A4(l_texel((rb.x + ko) / 4u), l_texel((rb.y + ko) / 4u), l_texel((rb.z + ko) / 4u),
            l_texel((rb.w + ko) / 4u));
  if (TALL) {
    r.hi = A4(l_texel((rb2.x + ko) / 4u), l_texel((rb2.y + ko) / 4u),
              l_texel((rb2.z + ko) / 4u), l_texel((rb2.w + ko) / 4u));
  }
  return r;
}

// Where tap (kh, kw) of output pixels (b, oh, ow) lies in x: the offset of its channel 0, and
// whether it is inside the image.
struct Taps { base: vec4<u32>, valid: vec4<bool> }

fn forward_taps(b: vec4<u32>, oh: vec4<u32>, ow: vec4<u32>, kh: u32, kw: u32) -> Taps {
  let ih = vec4<i32>(oh * p.S + kh) - i32(p.PT);
  let iw = vec4<i32>(ow * p.S + kw) - i32(p.PL);
  var t: Taps;
  t.valid = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) &
            (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
  t.base = select(vec4<u32>(0u), ((b * p.H + vec4<u32>(ih)) * p.W + vec4<u32>(iw)) * p.C, t.valid);
  return t;
}

// Where the output pixel that tap (kh, kw) of input pixels (b, ih, iw) came from lies in gy.
fn input_taps(b: vec4<u32>, ih: vec4<u32>, iw: vec4<u32>, kh: u32, kw: u32) -> Taps {
  let S = i32(p.S);
  let th = vec4<i32>(ih + p.PT) - i32(kh);
  let tw = vec4<i32>(iw + p.PL) - i32(kw);
  let oh = th / S;
  let ow = tw / S;
  var t: Taps;
  t.valid = (th >= vec4<i32>(0)) & (th % S == vec4<i32>(0)) & (oh < vec4<i32>(i32(p.OH))) &
            (tw >= vec4<i32>(0)) & (tw % S == vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW)));
  t.base = select(vec4<u32>(0u),
    ((b * p.OH + vec4<u32>(max(oh, vec4<i32>(0)))) * p.OW + vec4<u32>(max(ow, vec4<i32>(0)))) * p.O,
    t.valid);
  return t;
}

// The reduction index k = (kh, kw, ch) of the convolutions, walked from k0 in steps of `step`
// channels (ch < NC).
struct Walk { kh: u32, kw: u32, ch: u32, fresh: bool }

fn walk_start(NC: u32) -> Walk {
  return Walk(p.k0 / (NC * p.KW), (p.k0 / NC) % p.KW, p.k0 % NC, true);
}

// The walk after w, `step` channels on. By value: a pointer to a field of a struct behind a
// pointer (`&(*s).w`) as a call argument makes naga's SPIR-V backend (Vulkan) panic.
fn walk_next(w: Walk, NC: u32, step: u32) -> Walk {
  var n = w;
  n.ch += step;
  n.fresh = n.ch == NC;
  if (n.fresh) {
    n.ch = 0u;
    n.kw++;
    if (n.kw == p.KW) { n.kw = 0u; n.kh++; }
  }
  return n;
}

fn gather(t: Taps, ch: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0),
    vec4<f32>(l_at(t.base.x + ch), l_at(t.base.y + ch), l_at(t.base.z + ch), l_at(t.base.w + ch)),
    t.valid);
}

// Channels ch..ch+3 of row e's tap, from L.
fn row4(t: Taps, ch: u32, e: u32) -> vec4<f32> {
  let v = t.valid[e];
  return select(vec4<f32>(0.0), l_texel(select(0u, (t.base[e] + ch) / 4u, v)), v);
}

// Output pixels (b, oh, ow) of the invocation's rows (input pixels for conv_input).
struct Pix { b: vec4<u32>, h: vec4<u32>, w: vec4<u32> }

fn pixels(rows: vec4<u32>, H: u32, W: u32) -> Pix {
  let q = rows / vec4<u32>(W);
  return Pix(q / vec4<u32>(H), q % vec4<u32>(H), rows % vec4<u32>(W));
}

// The walk over k = (kh, kw, ch) of conv_forward / conv_input, with the taps of the current
// (kh, kw).
struct TapWalk { w: Walk, taps: Taps }

fn forward_a(s: ptr<function, TapWalk>, px: Pix) -> vec4<f32> {
  if ((*s).w.fresh) { (*s).taps = forward_taps(px.b, px.h, px.w, (*s).w.kh, (*s).w.kw); }
  let a = gather((*s).taps, (*s).w.ch);
  (*s).w = walk_next((*s).w, p.C, 1u);
  return a;
}

fn input_a(s: ptr<function, TapWalk>, px: Pix) -> vec4<f32> {
  if ((*s).w.fresh) { (*s).taps = input_taps(px.b, px.h, px.w, (*s).w.kh, (*s).w.kw); }
  let a = gather((*s).taps, (*s).w.ch);
  (*s).w = walk_next((*s).w, p.O, 1u);
  return a;
}

// conv_input_vk: L[row, k..k+3] of the 4 rows (gy channels o..o+3).
struct A4 { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32> }

// forward: conv_forward_vk's L (x, channels ch..ch+3 of the tap), else conv_input_vk's (gy).
fn vk_a4(s: ptr<function, TapWalk>, px: Pix, forward: bool) -> A4 {
  if ((*s).w.fresh) {
    if (forward) {
      (*s).taps = forward_taps(px.b, px.h, px.w, (*s).w.kh, (*s).w.kw);
    } else {
      (*s).taps = input_taps(px.b, px.h, px.w, (*s).w.kh, (*s).w.kw);
    }
  }
  let t = (*s).taps;
  let ch = (*s).w.ch;
  (*s).w = walk_next((*s).w, select(p.O, p.C, forward), 4u);
  return A4(row4(t, ch, 0u), row4(t, ch, 1u), row4(t, ch, 2u), row4(t, ch, 3u));
}

@compute @workgroup_size(PWG)
fn conv_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = block(wid, nwg, lid, 0u);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  let px = pixels(t.rows, p.OH, p.OW);
  let px2 = pixels(t.rows2, p.OH, p.OW);
  var s = TapWalk(walk_start(p.C), Taps());
  var s2 = s;
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k++) {
    let u = urow0(k, t.ub);
    fma_row(&acc, forward_a(&s, px), u);
    if (TALL) { fma_row(&hi, forward_a(&s2, px2), u); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k++) {
    let u = urow1(k - WR, t.ub);
    fma_row(&acc, forward_a(&s, px), u);
    if (TALL) { fma_row(&hi, forward_a(&s2, px2), u); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k++) {
    let u = urow2(k - 2u * WR, t.ub);
    fma_row(&acc, forward_a(&s, px), u);
    if (TALL) { fma_row(&hi, forward_a(&s2, px2), u); }
  }
  for (var k = 3u * WR; k < p.kn; k++) {
    let u = urow3(k - 3u * WR, t.ub);
    fma_row(&acc, forward_a(&s, px), u);
    if (TALL) { fma_row(&hi, forward_a(&s2, px2), u); }
  }
  finish_all(t, &acc, &hi);
}

// conv_forward_xw: conv_forward for the rows [SI, I) of the images in the uniform window XW
// (image b at XW[XL + (b - b0)·H·W·C ..], b0 = SI / (OH·OW)), for few input channels: x is read as
// one gather over the lanes per value instead of a per-lane storage loop, which at one x value
// per 32 FMAs was a large part of such a product.
@group(0) @binding(8) var<uniform> XW: array<vec4<f32>, 4096>;

fn xw_gather(t: Taps, ch: u32) -> vec4<f32> {
  let f = t.base + vec4<u32>(ch + p.XL);
  return select(vec4<f32>(0.0), vec4<f32>(XW[f.x / 4u][f.x % 4u], XW[f.y / 4u][f.y % 4u],
    XW[f.z / 4u][f.z % 4u], XW[f.w / 4u][f.w % 4u]), t.valid);
}

fn forward_xa(s: ptr<function, TapWalk>, px: Pix) -> vec4<f32> {
  if ((*s).w.fresh) { (*s).taps = forward_taps(px.b, px.h, px.w, (*s).w.kh, (*s).w.kw); }
  let a = xw_gather((*s).taps, (*s).w.ch);
  (*s).w = walk_next((*s).w, p.C, 1u);
  return a;
}

@compute @workgroup_size(PWG)
fn conv_forward_xw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let t = block(wid, nwg, lid, p.SI);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  let b0 = vec4<u32>(p.SI / (p.OH * p.OW));
  var px = pixels(t.rows, p.OH, p.OW);
  px.b = px.b - b0;
  var px2 = pixels(t.rows2, p.OH, p.OW);
  px2.b = px2.b - b0;
  var s = TapWalk(walk_start(p.C), Taps());
  var s2 = s;
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k++) {
    let u = urow0(k, t.ub);
    fma_row(&acc, forward_xa(&s, px), u);
    if (TALL) { fma_row(&hi, forward_xa(&s2, px2), u); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k++) {
    let u = urow1(k - WR, t.ub);
    fma_row(&acc, forward_xa(&s, px), u);
    if (TALL) { fma_row(&hi, forward_xa(&s2, px2), u); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k++) {
    let u = urow2(k - 2u * WR, t.ub);
    fma_row(&acc, forward_xa(&s, px), u);
    if (TALL) { fma_row(&hi, forward_xa(&s2, px2), u); }
  }
  for (var k = 3u * WR; k < p.kn; k++) {
    let u = urow3(k - 3u * WR, t.ub);
    fma_row(&acc, forward_xa(&s, px), u);
    if (TALL) { fma_row(&hi, forward_xa(&s2, px2), u); }
  }
  finish_all(t, &acc, &hi);
}

@compute @workgroup_size(PWG)
fn conv_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let t = block(wid, nwg, lid, 0u);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  let px = pixels(t.rows, p.H, p.W);
  let px2 = pixels(t.rows2, p.H, p.W);
  var s = TapWalk(walk_start(p.O), Taps()); // L = gy
  var s2 = s;
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k++) {
    let u = urow0(k, t.ub);
    fma_row(&acc, input_a(&s, px), u);
    if (TALL) { fma_row(&hi, input_a(&s2, px2), u); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k++) {
    let u = urow1(k - WR, t.ub);
    fma_row(&acc, input_a(&s, px), u);
    if (TALL) { fma_row(&hi, input_a(&s2, px2), u); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k++) {
    let u = urow2(k - 2u * WR, t.ub);
    fma_row(&acc, input_a(&s, px), u);
    if (TALL) { fma_row(&hi, input_a(&s2, px2), u); }
  }
  for (var k = 3u * WR; k < p.kn; k++) {
    let u = urow3(k - 3u * WR, t.ub);
    fma_row(&acc, input_a(&s, px), u);
    if (TALL) { fma_row(&hi, input_a(&s2, px2), u); }
  }
  finish_all(t, &acc, &hi);
}

// L of conv_input_vk for four k steps: rows 0..3 (lo) and 4..7 (hi, when TALL), each
// the vec4 of gy channels o..o+3. The four steps run as a loop over e, each loading its row of
// U just before using it, not as one unrolled body over four rows of U loaded up front, which
// compiles much faster on llvmpipe
// (measured in bench/RESULTS.md, "Kernel choices and their measurements").
struct A8 { lo: A4, hi: A4 }

fn vk_a8(s: ptr<function, TapWalk>, s2: ptr<function, TapWalk>, px: Pix, px2: Pix,
         forward: bool) -> A8 {
  var r: A8;
  r.lo = vk_a4(s, px, forward);
  if (TALL) { r.hi = vk_a4(s2, px2, forward); }
  return r;
}

// k step e of the four in `a`: the invocation's rows times row u of U.
fn input_step(acc: ptr<function, array<vec4<f32>, 64>>, hi: ptr<function, array<vec4<f32>, 64>>,
              a: A8, e: u32, u: URow) {
  fma_row(acc, vec4<f32>(a.lo.a0[e], a.lo.a1[e], a.lo.a2[e], a.lo.a3[e]), u);
  if (TALL) { fma_row(hi, vec4<f32>(a.hi.a0[e], a.hi.a1[e], a.hi.a2[e], a.hi.a3[e]), u); }
}

@compute @workgroup_size(PWG)
fn conv_input_vk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  conv_vk(wid, nwg, lid, false);
}

// conv_forward_vk (C % 4 = 0): conv_forward the same way, x read four channels at a time.
@compute @workgroup_size(PWG)
fn conv_forward_vk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  conv_vk(wid, nwg, lid, true);
}

fn conv_vk(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, forward: bool) {
  let t = block(wid, nwg, lid, 0u);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  let PH = select(p.H, p.OH, forward);
  let PW = select(p.W, p.OW, forward);
  let px = pixels(t.rows, PH, PW);
  let px2 = pixels(t.rows2, PH, PW);
  var s = TapWalk(walk_start(select(p.O, p.C, forward)), Taps());
  var s2 = s;
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k += 4u) {
    let a = vk_a8(&s, &s2, px, px2, forward);
    for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow0(k + e, t.ub)); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k += 4u) {
    let a = vk_a8(&s, &s2, px, px2, forward);
    for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow1(k - WR + e, t.ub)); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k += 4u) {
    let a = vk_a8(&s, &s2, px, px2, forward);
    for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow2(k - 2u * WR + e, t.ub)); }
  }
  for (var k = 3u * WR; k < p.kn; k += 4u) {
    let a = vk_a8(&s, &s2, px, px2, forward);
    for (var e = 0u; e < 4u; e++) { input_step(&acc, &hi, a, e, urow3(k - 3u * WR + e, t.ub)); }
  }
  finish_all(t, &acc, &hi);
}

// conv_input_seg: conv_input_vk at stride 1 with KW = SKW ≤ 5, where the invocation's 8 rows
// are the neighbouring pixels iw0..iw0+7 of one image row (rows past the row's end are not
// stored). U is re-ordered (seg_weights) as k = ((kh·O/4 + oq)·8 + kw)·4 + o4, kw < KW (rows
// of kw ≥ KW are zero and never read), so that for one (kh, oq) the invocation loads the
// 8 + KW - 1 gy vec4 its rows reach once and slides them along kw in registers: 12 loads where
// conv_input_vk makes 40. As storage loads (a loop over the lanes on llvmpipe) those loads were
// half the time of conv_input_vk; as texel fetches they are about a sixth of conv_input_seg's.
override SKW: u32 = 5u;

// The gy vec4 (channels 4·oq..) of pixels (oh, ow0 + m); s[r] = the one row r takes at kw = 0,
// pre: the next ones to slide in (pre[3] first).
struct Seg { s: array<vec4<f32>, 8>, pre: array<vec4<f32>, 4> }

fn seg_gy(b: u32, oh: i32, ow: i32, oq: u32) -> vec4<f32> {
  let inside = (oh >= 0) & (oh < i32(p.OH)) & (ow >= 0) & (ow < i32(p.OW));
  let i = select(0u, ((b * p.OH + u32(max(oh, 0))) * p.OW + u32(max(ow, 0))) * (p.O / 4u) + oq,
                 inside);
  return select(vec4<f32>(0.0), l_texel(i), inside);
}

fn seg_load(b: u32, oh: i32, ow0: i32, oq: u32) -> Seg {
  var g: array<vec4<f32>, 12>;
  g[0] = seg_gy(b, oh, ow0, oq);
  g[1] = seg_gy(b, oh, ow0 + 1, oq);
  g[2] = seg_gy(b, oh, ow0 + 2, oq);
  g[3] = seg_gy(b, oh, ow0 + 3, oq);
  g[4] = seg_gy(b, oh, ow0 + 4, oq);
  g[5] = seg_gy(b, oh, ow0 + 5, oq);
  g[6] = seg_gy(b, oh, ow0 + 6, oq);
  g[7] = seg_gy(b, oh, ow0 + 7, oq);
  if (SKW > 1u) { g[8] = seg_gy(b, oh, ow0 + 8, oq); }
  if (SKW > 2u) { g[9] = seg_gy(b, oh, ow0 + 9, oq); }
  if (SKW > 3u) { g[10] = seg_gy(b, oh, ow0 + 10, oq); }
  if (SKW > 4u) { g[11] = seg_gy(b, oh, ow0 + 11, oq); }
  var t: Seg;
  t.s[0] = g[SKW - 1u];
  t.s[1] = g[SKW];
  t.s[2] = g[SKW + 1u];
  t.s[3] = g[SKW + 2u];
  t.s[4] = g[SKW + 3u];
  t.s[5] = g[SKW + 4u];
  t.s[6] = g[SKW + 5u];
  t.s[7] = g[SKW + 6u];
  // (the max keeps the index of an unused slot in range: a constant index is checked)
  if (SKW > 1u) { t.pre[3] = g[max(SKW, 2u) - 2u]; }
  if (SKW > 2u) { t.pre[2] = g[max(SKW, 3u) - 3u]; }
  if (SKW > 3u) { t.pre[1] = g[max(SKW, 4u) - 4u]; }
  if (SKW > 4u) { t.pre[0] = g[max(SKW, 5u) - 5u]; }
  return t;
}

// From tap kw to kw + 1: row r now takes the vec4 row r - 1 took.
fn seg_slide(t: ptr<function, Seg>) {
  (*t).s[7] = (*t).s[6];
  (*t).s[6] = (*t).s[5];
  (*t).s[5] = (*t).s[4];
  (*t).s[4] = (*t).s[3];
  (*t).s[3] = (*t).s[2];
  (*t).s[2] = (*t).s[1];
  (*t).s[1] = (*t).s[0];
  (*t).s[0] = (*t).pre[3];
  (*t).pre[3] = (*t).pre[2];
  (*t).pre[2] = (*t).pre[1];
  (*t).pre[1] = (*t).pre[0];
}

// Channel e of the group: rows 0..3 into acc, 4..7 into hi, times row u of U.
fn seg_step(acc: ptr<function, array<vec4<f32>, 64>>, hi: ptr<function, array<vec4<f32>, 64>>,
            t: ptr<function, Seg>, e: u32, u: URow) {
  fma_row(acc, vec4<f32>((*t).s[0][e], (*t).s[1][e], (*t).s[2][e], (*t).s[3][e]), u);
  fma_row(hi, vec4<f32>((*t).s[4][e], (*t).s[5][e], (*t).s[6][e], (*t).s[7][e]), u);
}

// The gy of group k / 32 = (kh, oq) for the block at (b, ih, iw0).
fn seg_group(k: u32, b: u32, ih: u32, iw0: u32) -> Seg {
  let grp = (p.k0 + k) / 32u;
  let O4 = p.O / 4u;
  let kh = grp / O4;
  return seg_load(b, i32(ih + p.PT) - i32(kh), i32(iw0 + p.PL) - i32(SKW - 1u), grp % O4);
}

@compute @workgroup_size(PWG)
fn conv_input_seg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let q = linear_group(wid, nwg) * PWG + lid;
  let bw = (p.W + 7u) / 8u;
  let iw0 = (q % bw) * 8u;
  let ih = (q / bw) % p.H;
  let b = q / (bw * p.H);
  if (b >= p.B) { return; }
  let row0 = (b * p.H + ih) * p.W + iw0;
  let cols = vec4<u32>(iw0) + vec4<u32>(0u, 1u, 2u, 3u);
  let none = vec4<u32>(0xffffffffu);
  var t: Block;
  t.r = select(none, vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), cols < vec4<u32>(p.W));
  t.r2 = select(none, vec4<u32>(row0 + 4u) + vec4<u32>(0u, 1u, 2u, 3u),
                cols + vec4<u32>(4u) < vec4<u32>(p.W));
  t.rows = t.r;
  t.rows2 = t.r2;
  t.ub = 0u;
  t.j0 = p.jg;
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>;
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k += 32u) {
    var sg = seg_group(k, b, ih, iw0);
    for (var kw = 0u; kw < SKW; kw++) {
      for (var e = 0u; e < 4u; e++) { seg_step(&acc, &hi, &sg, e, urow0(k + 4u * kw + e, 0u)); }
      seg_slide(&sg);
    }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k += 32u) {
    var sg = seg_group(k, b, ih, iw0);
    for (var kw = 0u; kw < SKW; kw++) {
      for (var e = 0u; e < 4u; e++) {
        seg_step(&acc, &hi, &sg, e, urow1(k - WR + 4u * kw + e, 0u));
      }
      seg_slide(&sg);
    }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k += 32u) {
    var sg = seg_group(k, b, ih, iw0);
    for (var kw = 0u; kw < SKW; kw++) {
      for (var e = 0u; e < 4u; e++) {
        seg_step(&acc, &hi, &sg, e, urow2(k - 2u * WR + 4u * kw + e, 0u));
      }
      seg_slide(&sg);
    }
  }
  for (var k = 3u * WR; k < p.kn; k += 32u) {
    var sg = seg_group(k, b, ih, iw0);
    for (var kw = 0u; kw < SKW; kw++) {
      for (var e = 0u; e < 4u; e++) {
        seg_step(&acc, &hi, &sg, e, urow3(k - 3u * WR + 4u * kw + e, 0u));
      }
      seg_slide(&sg);
    }
  }
  finish_all(t, &acc, &hi);
}

// conv_filter: rows (kh, kw, c) fixed per invocation, k = (b, oh, ow) walked from k0; L = x.
struct FilterWalk { kh: vec4<i32>, kw: vec4<i32>, c: vec4<u32>, b: u32, oh: u32, ow: u32 }

fn filter_a(s: ptr<function, FilterWalk>) -> vec4<f32> {
  let ih = (*s).kh + i32((*s).oh * p.S);
  let iw = (*s).kw + i32((*s).ow * p.S);
  let valid = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) &
              (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
  let xi = select(vec4<u32>(0u),
    (((*s).b * p.H + vec4<u32>(max(ih, vec4<i32>(0)))) * p.W + vec4<u32>(max(iw, vec4<i32>(0)))) *
      p.C + (*s).c,
    valid);
  (*s).ow++;
  if ((*s).ow == p.OW) {
    (*s).ow = 0u;
    (*s).oh++;
    if ((*s).oh == p.OH) { (*s).oh = 0u; (*s).b++; }
  }
  return select(vec4<f32>(0.0), vec4<f32>(l_at(xi.x), l_at(xi.y), l_at(xi.z), l_at(xi.w)), valid);
}

// conv_filter_vk's L (C % 4 = 0): the four rows are channels c..c+3 of one tap, one texel.
fn filter_a4(s: ptr<function, FilterWalk>) -> vec4<f32> {
  let ih = (*s).kh.x + i32((*s).oh * p.S);
  let iw = (*s).kw.x + i32((*s).ow * p.S);
  let valid = (ih >= 0) & (ih < i32(p.H)) & (iw >= 0) & (iw < i32(p.W));
  let xi = select(0u, (((*s).b * p.H + u32(ih)) * p.W + u32(iw)) * p.C + (*s).c.x, valid) / 4u;
  (*s).ow++;
  if ((*s).ow == p.OW) {
    (*s).ow = 0u;
    (*s).oh++;
    if ((*s).oh == p.OH) { (*s).oh = 0u; (*s).b++; }
  }
  return select(vec4<f32>(0.0), l_texel(xi), valid);
}

// L of conv_filter (quads: conv_filter_vk) for one step of k.
fn filter_l(s: ptr<function, FilterWalk>, quads: bool) -> vec4<f32> {
  if (quads) { return filter_a4(s); }
  return filter_a(s);
}

// The walk of conv_filter for rows `rows`, from k0.
fn filter_walk(rows: vec4<u32>) -> FilterWalk {
  let q = rows / vec4<u32>(p.C);
  return FilterWalk(vec4<i32>(q / vec4<u32>(p.KW)) - i32(p.PT),
                    vec4<i32>(q % vec4<u32>(p.KW)) - i32(p.PL), rows % vec4<u32>(p.C),
                    p.k0 / (p.OW * p.OH), (p.k0 / p.OW) % p.OH, p.k0 % p.OW);
}

@compute @workgroup_size(PWG)
fn conv_filter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  conv_filter_rows(wid, nwg, lid, false);
}

// conv_filter_vk (C % 4 = 0): conv_filter with each invocation's rows in quads of channels,
// each quad's x read as one texel per step of k.
@compute @workgroup_size(PWG)
fn conv_filter_vk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  conv_filter_rows(wid, nwg, lid, true);
}

fn conv_filter_rows(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, quads: bool) {
  let t = block_rows(wid, nwg, lid, 0u, quads);
  var acc: array<vec4<f32>, 64>;
  var hi: array<vec4<f32>, 64>; // rows 4..7 (TALL)
  var s = filter_walk(t.rows);
  var s2 = filter_walk(t.rows2);
  let WR = window_rows();
  for (var k = 0u; k < min(p.kn, WR); k++) {
    let u = urow0(k, t.ub);
    fma_row(&acc, filter_l(&s, quads), u);
    if (TALL) { fma_row(&hi, filter_l(&s2, quads), u); }
  }
  for (var k = WR; k < min(p.kn, 2u * WR); k++) {
    let u = urow1(k - WR, t.ub);
    fma_row(&acc, filter_l(&s, quads), u);
    if (TALL) { fma_row(&hi, filter_l(&s2, quads), u); }
  }
  for (var k = 2u * WR; k < min(p.kn, 3u * WR); k++) {
    let u = urow2(k - 2u * WR, t.ub);
    fma_row(&acc, filter_l(&s, quads), u);
    if (TALL) { fma_row(&hi, filter_l(&s2, quads), u); }
  }
  for (var k = 3u * WR; k < p.kn; k++) {
    let u = urow3(k - 3u * WR, t.ub);
    fma_row(&acc, filter_l(&s, quads), u);
    if (TALL) { fma_row(&hi, filter_l(&s2, quads), u); }
  }
  finish_all(t, &acc, &hi);
}

// pack: dst[(g*K + k)*JW + jj] = src[base + (k / K2)*S1 + (k % K2)*S2 + j*SJ], j = g*JW + jj
// < J (0 for the padding columns of the last group; the load is not under the condition).
// pack4_tex does four neighbouring elements of dst per invocation and reads src from a texel copy
// (ST, Runtime.texels): on llvmpipe every storage access at a lane-varying address is a loop over
// the lanes (measured in bench/RESULTS.md, "Kernel choices and their measurements").
struct PackParams {
  K: u32, J: u32, JW: u32, K2: u32,
  S1: u32, S2: u32, SJ: u32, G: u32,
  base: u32, TS: u32, _b: u32, _c: u32, // TS: log2 of ST's width in texels
}
@group(0) @binding(0) var<uniform> pp: PackParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>; // pack4_tex's view of dst
@group(0) @binding(3) var ST: texture_2d<f32>;

// Element e of dst: 1 where its column is inside J, else 0; and where in src it comes from.
fn pack_source(e: u32) -> vec2<u32> {
  let jj = e % pp.JW;
  let gk = e / pp.JW;
  let k = gk % pp.K;
  let j = (gk / pp.K) * pp.JW + jj;
  let inside = j < pp.J;
  let at = pp.base + (k / pp.K2) * pp.S1 + (k % pp.K2) * pp.S2 + j * pp.SJ;
  return vec2<u32>(u32(inside), select(0u, at, inside));
}

@compute @workgroup_size(64)
fn pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_index(wid, nwg, lid);
  if (e >= pp.G * pp.K * pp.JW) { return; }
  let s = pack_source(e);
  dst[e] = select(0.0, src[s.y], s.x == 1u);
}

// Element e of dst, from ST.
fn pack_texel(e: u32) -> f32 {
  let s = pack_source(e);
  return select(0.0, texel_at(ST, pp.TS, s.y >> 2u)[s.y & 3u], s.x == 1u);
}

@compute @workgroup_size(64)
fn pack4_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= pp.G * pp.K * pp.JW / 4u) { return; }
  let e = 4u * q;
  dst4[q] = vec4<f32>(pack_texel(e), pack_texel(e + 1u), pack_texel(e + 2u), pack_texel(e + 3u));
}

// seg_weights: U of conv_input_seg, rows k = ((kh·O/4 + oq)·8 + kw)·4 + o4, columns c:
// w[kh, kw, c, 4·oq + o4] for kw < KW, else 0 (w is [KH, KW, C, O], O % 4 = 0).
struct SegParams {
  KH: u32, KW: u32, C: u32, O: u32,
  _a: u32, _b: u32, _c: u32, _d: u32,
  _e: u32, _f: u32, _g: u32, _h: u32,
}
@group(0) @binding(0) var<uniform> sp: SegParams;
@group(0) @binding(1) var<storage, read> sw: array<f32>;
@group(0) @binding(2) var<storage, read_write> su: array<f32>;

@compute @workgroup_size(64)
fn seg_weights(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let e = linear_index(wid, nwg, lid);
  if (e >= sp.KH * sp.O * 8u * sp.C) { return; }
  let c = e % sp.C;
  let k = e / sp.C;
  let o = (k / 32u) % (sp.O / 4u) * 4u + k % 4u;
  let kw = (k / 4u) % 8u;
  let kh = k / (8u * sp.O);
  let inside = kw < sp.KW;
  let v = sw[select(0u, ((kh * sp.KW + kw) * sp.C + c) * sp.O + o, inside)];
  su[e] = select(0.0, v, inside);
}
