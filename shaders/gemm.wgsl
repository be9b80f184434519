// Matrix products and convolutions as out[I,J] (+)= Σ_k L[i,k] · U[k,j], with the right-hand
// operand U read from a uniform-buffer window.
//
// U is packed (kernel `pack` below) in column groups of JW = 32 or 64 columns, [G][K][JW],
// and one dispatch binds one 64 KiB window (16384 / JW rows of k of one group); successive
// dispatches walk the windows and accumulate into `out` (the first adds the bias or starts
// from zero).
// Every invocation computes 4 rows × 32 columns (64 with WIDE): the U values of a row k are
// the same for the whole workgroup (uniform loads, which a software adapter such as llvmpipe
// turns into one scalar load and a broadcast), and the 4 L values are the only per-invocation
// memory loads, so each loaded value feeds 32 (64) FMAs. A workgroup of 64 covers up to 256
// rows × 32 (64) columns.
//
// Entry points differ in how L[i,k] is read:
//   matmul:       L[i,k] = A[i*SI + k*SK]                               (A = in0)
//   conv_forward: i = (b,oh,ow), k = (kh,kw,c): x[b, oh*S+kh-PT, ow*S+kw-PL, c]
//   conv_input:   i = (b,ih,iw), k = (kh,kw,o): gy[b, (ih+PT-kh)/S, (iw+PL-kw)/S, o]
//   conv_filter:  i = (kh,kw,c), k = (b,oh,ow): x[b, oh*S+kh-PT, ow*S+kw-PL, c]
// Zero wherever the tap falls outside the image (or between strided outputs).
//
// conv_input_vk (O % 4 = 0) reads gy[.., o..o+3] as one vec4, one storage access where
// conv_input makes four: 1.1–1.3× faster for conv2's input gradient (32 columns, so 32 FMAs
// per access). The same reads measured no faster in the 64-column forms (conv_forward,
// conv_filter, matmul), whose accesses feed 64 FMAs each.

struct Params {
  I: u32, J: u32, JW: u32, jg: u32, // jg: first column of this window's group
  k0: u32, kn: u32, RQ: u32, SI: u32, // RQ: invocations in use per workgroup (≤ 64)
  SK: u32, OSI: u32, OSJ: u32, B: u32,
  H: u32, W: u32, C: u32, OH: u32,
  OW: u32, O: u32, S: u32, KH: u32,
  KW: u32, PT: u32, PL: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> U: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<storage, read> in4: array<vec4<f32>>; // in0 as vec4 (conv_input_vk)

override WIDE: bool = false;     // 64 columns per invocation (JW = 64) instead of 32
// What the stores add to the sum: nothing (0, the first window), the previous value (1, later
// windows), bias[j] (2) or bias[i] (3) (the first window of a product with a bias). A pipeline
// constant, not a parameter: on llvmpipe the loads of untaken branches still cost a per-lane
// loop each, which made a runtime switch here as costly as a small product itself.
override EPILOGUE: u32 = 0u;

// r: the invocation's rows; rows: the same clamped to I - 1 (rows past the end repeat the
// last row for loading and are not stored).
struct Block { r: vec4<u32>, rows: vec4<u32>, j0: u32, ub: u32 }

// Rows l, l+RQ, l+2RQ, l+3RQ of the workgroup's 4·RQ (neighbouring invocations read
// neighbouring rows). RQ < 64 spreads a product of few rows evenly over its workgroups
// (800 rows: 4 workgroups of 224 instead of 3 full ones and one of 32, which on a CPU
// adapter runs as long as a full one); invocations from RQ on return at once.
fn block(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Block {
  let g = linear_group(wid, nwg);
  var t: Block;
  let width = select(32u, 64u, WIDE);
  let tiles = p.JW / width;
  let i0 = (g / tiles) * 4u * p.RQ;
  t.r = vec4<u32>(i0 + lid) + vec4<u32>(0u, 1u, 2u, 3u) * p.RQ;
  t.ub = (g % tiles) * (width / 4u);
  t.j0 = p.jg + t.ub * 4u;
  t.rows = min(t.r, vec4<u32>(max(p.I, 1u) - 1u));
  return t;
}

// acc[r * 16 + q] holds row r, columns j0 + 4q .. j0 + 4q + 3 (q < 8, or q < 16 when WIDE).
fn fma_row(acc: ptr<function, array<vec4<f32>, 64>>, a: vec4<f32>, k: u32, ub: u32) {
  // unrolled with constant indices so the accumulators stay in registers
  let base = k * (p.JW / 4u) + ub;
  let u0 = U[base + 0u];
  let u1 = U[base + 1u];
  let u2 = U[base + 2u];
  let u3 = U[base + 3u];
  let u4 = U[base + 4u];
  let u5 = U[base + 5u];
  let u6 = U[base + 6u];
  let u7 = U[base + 7u];
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
    let u8 = U[base + 8u];
    let u9 = U[base + 9u];
    let u10 = U[base + 10u];
    let u11 = U[base + 11u];
    let u12 = U[base + 12u];
    let u13 = U[base + 13u];
    let u14 = U[base + 14u];
    let u15 = U[base + 15u];
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

// Four k steps: a0..a3 hold L[row, k..k+3] of the invocation's 4 rows.
fn fma4(acc: ptr<function, array<vec4<f32>, 64>>, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>,
        a3: vec4<f32>, k: u32, ub: u32) {
  fma_row(acc, vec4<f32>(a0.x, a1.x, a2.x, a3.x), k, ub);
  fma_row(acc, vec4<f32>(a0.y, a1.y, a2.y, a3.y), k + 1u, ub);
  fma_row(acc, vec4<f32>(a0.z, a1.z, a2.z, a3.z), k + 2u, ub);
  fma_row(acc, vec4<f32>(a0.w, a1.w, a2.w, a3.w), k + 3u, ub);
}

// One output element: out = value (EPILOGUE 0), + previous (1), + bias[j] (2), + bias[i] (3).
fn store1(i: u32, j: u32, v: f32) {
  if (j >= p.J) { return; }
  let o = i * p.OSI + j * p.OSJ;
  switch (EPILOGUE) {
    case 1u: { out[o] = out[o] + v; }
    case 2u: { out[o] = bias[j] + v; }
    case 3u: { out[o] = bias[i] + v; }
    default: { out[o] = v; }
  }
}

fn store4(i: u32, j0: u32, v: vec4<f32>) {
  store1(i, j0, v.x);
  store1(i, j0 + 1u, v.y);
  store1(i, j0 + 2u, v.z);
  store1(i, j0 + 3u, v.w);
}

fn finish(t: Block, acc: ptr<function, array<vec4<f32>, 64>>) {
  if (t.r.x < p.I) {
    store4(t.r.x, t.j0 + 0u, (*acc)[0]);
    store4(t.r.x, t.j0 + 4u, (*acc)[1]);
    store4(t.r.x, t.j0 + 8u, (*acc)[2]);
    store4(t.r.x, t.j0 + 12u, (*acc)[3]);
    store4(t.r.x, t.j0 + 16u, (*acc)[4]);
    store4(t.r.x, t.j0 + 20u, (*acc)[5]);
    store4(t.r.x, t.j0 + 24u, (*acc)[6]);
    store4(t.r.x, t.j0 + 28u, (*acc)[7]);
    if (WIDE) {
      store4(t.r.x, t.j0 + 32u, (*acc)[8]);
      store4(t.r.x, t.j0 + 36u, (*acc)[9]);
      store4(t.r.x, t.j0 + 40u, (*acc)[10]);
      store4(t.r.x, t.j0 + 44u, (*acc)[11]);
      store4(t.r.x, t.j0 + 48u, (*acc)[12]);
      store4(t.r.x, t.j0 + 52u, (*acc)[13]);
      store4(t.r.x, t.j0 + 56u, (*acc)[14]);
      store4(t.r.x, t.j0 + 60u, (*acc)[15]);
    }
  }
  if (t.r.y < p.I) {
    store4(t.r.y, t.j0 + 0u, (*acc)[16]);
    store4(t.r.y, t.j0 + 4u, (*acc)[17]);
    store4(t.r.y, t.j0 + 8u, (*acc)[18]);
    store4(t.r.y, t.j0 + 12u, (*acc)[19]);
    store4(t.r.y, t.j0 + 16u, (*acc)[20]);
    store4(t.r.y, t.j0 + 20u, (*acc)[21]);
    store4(t.r.y, t.j0 + 24u, (*acc)[22]);
    store4(t.r.y, t.j0 + 28u, (*acc)[23]);
    if (WIDE) {
      store4(t.r.y, t.j0 + 32u, (*acc)[24]);
      store4(t.r.y, t.j0 + 36u, (*acc)[25]);
      store4(t.r.y, t.j0 + 40u, (*acc)[26]);
      store4(t.r.y, t.j0 + 44u, (*acc)[27]);
      store4(t.r.y, t.j0 + 48u, (*acc)[28]);
      store4(t.r.y, t.j0 + 52u, (*acc)[29]);
      store4(t.r.y, t.j0 + 56u, (*acc)[30]);
      store4(t.r.y, t.j0 + 60u, (*acc)[31]);
    }
  }
  if (t.r.z < p.I) {
    store4(t.r.z, t.j0 + 0u, (*acc)[32]);
    store4(t.r.z, t.j0 + 4u, (*acc)[33]);
    store4(t.r.z, t.j0 + 8u, (*acc)[34]);
    store4(t.r.z, t.j0 + 12u, (*acc)[35]);
    store4(t.r.z, t.j0 + 16u, (*acc)[36]);
    store4(t.r.z, t.j0 + 20u, (*acc)[37]);
    store4(t.r.z, t.j0 + 24u, (*acc)[38]);
    store4(t.r.z, t.j0 + 28u, (*acc)[39]);
    if (WIDE) {
      store4(t.r.z, t.j0 + 32u, (*acc)[40]);
      store4(t.r.z, t.j0 + 36u, (*acc)[41]);
      store4(t.r.z, t.j0 + 40u, (*acc)[42]);
      store4(t.r.z, t.j0 + 44u, (*acc)[43]);
      store4(t.r.z, t.j0 + 48u, (*acc)[44]);
      store4(t.r.z, t.j0 + 52u, (*acc)[45]);
      store4(t.r.z, t.j0 + 56u, (*acc)[46]);
      store4(t.r.z, t.j0 + 60u, (*acc)[47]);
    }
  }
  if (t.r.w < p.I) {
    store4(t.r.w, t.j0 + 0u, (*acc)[48]);
    store4(t.r.w, t.j0 + 4u, (*acc)[49]);
    store4(t.r.w, t.j0 + 8u, (*acc)[50]);
    store4(t.r.w, t.j0 + 12u, (*acc)[51]);
    store4(t.r.w, t.j0 + 16u, (*acc)[52]);
    store4(t.r.w, t.j0 + 20u, (*acc)[53]);
    store4(t.r.w, t.j0 + 24u, (*acc)[54]);
    store4(t.r.w, t.j0 + 28u, (*acc)[55]);
    if (WIDE) {
      store4(t.r.w, t.j0 + 32u, (*acc)[56]);
      store4(t.r.w, t.j0 + 36u, (*acc)[57]);
      store4(t.r.w, t.j0 + 40u, (*acc)[58]);
      store4(t.r.w, t.j0 + 44u, (*acc)[59]);
      store4(t.r.w, t.j0 + 48u, (*acc)[60]);
      store4(t.r.w, t.j0 + 52u, (*acc)[61]);
      store4(t.r.w, t.j0 + 56u, (*acc)[62]);
      store4(t.r.w, t.j0 + 60u, (*acc)[63]);
    }
  }
}

@compute @workgroup_size(64)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  if (lid >= p.RQ) { return; }
  let t = block(wid, nwg, lid);
  var acc: array<vec4<f32>, 64>;
  let rb = t.rows * p.SI;
  for (var k = 0u; k < p.kn; k++) {
    let ko = (p.k0 + k) * p.SK;
    let a = vec4<f32>(in0[rb.x + ko], in0[rb.y + ko], in0[rb.z + ko], in0[rb.w + ko]);
    fma_row(&acc, a, k, t.ub);
  }
  finish(t, &acc);
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

fn walk_next(w: ptr<function, Walk>, NC: u32, step: u32) {
  (*w).ch += step;
  (*w).fresh = (*w).ch == NC;
  if ((*w).fresh) {
    (*w).ch = 0u;
    (*w).kw++;
    if ((*w).kw == p.KW) { (*w).kw = 0u; (*w).kh++; }
  }
}

fn gather(t: Taps, ch: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0),
    vec4<f32>(in0[t.base.x + ch], in0[t.base.y + ch], in0[t.base.z + ch], in0[t.base.w + ch]),
    t.valid);
}

fn row4(t: Taps, ch: u32, e: u32) -> vec4<f32> {
  let v = t.valid[e];
  return select(vec4<f32>(0.0), in4[select(0u, (t.base[e] + ch) / 4u, v)], v);
}

@compute @workgroup_size(64)
fn conv_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  if (lid >= p.RQ) { return; }
  let t = block(wid, nwg, lid);
  var acc: array<vec4<f32>, 64>;
  let ow = t.rows % vec4<u32>(p.OW);
  let q = t.rows / vec4<u32>(p.OW);
  let oh = q % vec4<u32>(p.OH);
  let b = q / vec4<u32>(p.OH);
  var w = walk_start(p.C);
  var taps: Taps;
  for (var k = 0u; k < p.kn; k++) {
    if (w.fresh) { taps = forward_taps(b, oh, ow, w.kh, w.kw); }
    fma_row(&acc, gather(taps, w.ch), k, t.ub);
    walk_next(&w, p.C, 1u);
  }
  finish(t, &acc);
}

@compute @workgroup_size(64)
fn conv_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  if (lid >= p.RQ) { return; }
  let t = block(wid, nwg, lid);
  var acc: array<vec4<f32>, 64>;
  let iw = t.rows % vec4<u32>(p.W);
  let q = t.rows / vec4<u32>(p.W);
  let ih = q % vec4<u32>(p.H);
  let b = q / vec4<u32>(p.H);
  var w = walk_start(p.O); // in0 = gy
  var taps: Taps;
  for (var k = 0u; k < p.kn; k++) {
    if (w.fresh) { taps = input_taps(b, ih, iw, w.kh, w.kw); }
    fma_row(&acc, gather(taps, w.ch), k, t.ub);
    walk_next(&w, p.O, 1u);
  }
  finish(t, &acc);
}

@compute @workgroup_size(64)
fn conv_input_vk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  if (lid >= p.RQ) { return; }
  let t = block(wid, nwg, lid);
  var acc: array<vec4<f32>, 64>;
  let iw = t.rows % vec4<u32>(p.W);
  let q = t.rows / vec4<u32>(p.W);
  let ih = q % vec4<u32>(p.H);
  let b = q / vec4<u32>(p.H);
  var w = walk_start(p.O);
  var taps: Taps;
  for (var k = 0u; k < p.kn; k += 4u) {
    if (w.fresh) { taps = input_taps(b, ih, iw, w.kh, w.kw); }
    fma4(&acc, row4(taps, w.ch, 0u), row4(taps, w.ch, 1u), row4(taps, w.ch, 2u),
         row4(taps, w.ch, 3u), k, t.ub);
    walk_next(&w, p.O, 4u);
  }
  finish(t, &acc);
}

@compute @workgroup_size(64)
fn conv_filter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  if (lid >= p.RQ) { return; }
  let t = block(wid, nwg, lid);
  var acc: array<vec4<f32>, 64>;
  let c = t.rows % vec4<u32>(p.C);
  let q = t.rows / vec4<u32>(p.C);
  let kw = vec4<i32>(q % vec4<u32>(p.KW)) - i32(p.PL);
  let kh = vec4<i32>(q / vec4<u32>(p.KW)) - i32(p.PT);
  // k = (b, oh, ow), walked incrementally from k0; in0 = x
  var ow = p.k0 % p.OW;
  var oh = (p.k0 / p.OW) % p.OH;
  var b = p.k0 / (p.OW * p.OH);
  for (var k = 0u; k < p.kn; k++) {
    let ih = kh + i32(oh * p.S);
    let iw = kw + i32(ow * p.S);
    let valid = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) &
                (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
    let xi = select(vec4<u32>(0u),
      ((b * p.H + vec4<u32>(max(ih, vec4<i32>(0)))) * p.W + vec4<u32>(max(iw, vec4<i32>(0)))) * p.C + c,
      valid);
    let a = select(vec4<f32>(0.0), vec4<f32>(in0[xi.x], in0[xi.y], in0[xi.z], in0[xi.w]), valid);
    fma_row(&acc, a, k, t.ub);
    ow++;
    if (ow == p.OW) {
      ow = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; b++; }
    }
  }
  finish(t, &acc);
}

// pack: dst[(g*K + k)*JW + jj] = src[base + (k / K2)*S1 + (k % K2)*S2 + j*SJ], j = g*JW + jj
// < J (0 for the padding columns of the last group; the load is not under the condition).
struct PackParams {
  K: u32, J: u32, JW: u32, K2: u32,
  S1: u32, S2: u32, SJ: u32, G: u32,
  base: u32, _a: u32, _b: u32, _c: u32,
}
@group(0) @binding(0) var<uniform> pp: PackParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_index(wid, nwg, lid);
  if (e >= pp.G * pp.K * pp.JW) { return; }
  let jj = e % pp.JW;
  let gk = e / pp.JW;
  let k = gk % pp.K;
  let j = (gk / pp.K) * pp.JW + jj;
  let inside = j < pp.J;
  let v = src[select(0u, pp.base + (k / pp.K2) * pp.S1 + (k % pp.K2) * pp.S2 + j * pp.SJ, inside)];
  dst[e] = select(0.0, v, inside);
}
