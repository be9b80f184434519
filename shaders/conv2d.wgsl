// 2-D convolution, NHWC activations and HWIO kernels, TensorFlow padding (pt/pl = padding
// before, top/left), as implicit matrix products. Each invocation computes a 4×4 block of
// the output matrix; a workgroup of 64 covers a 32×32 tile.
//   forward:         y[b,oh,ow,o]  = Σ_{kh,kw,c} x[b, oh*S+kh-pt, ow*S+kw-pl, c] · w[kh,kw,c,o] (+ bias[o])
//   backprop_input:  gx[b,ih,iw,c] = Σ_{kh,kw,o} gy[b,oh,ow,o] · w[kh,kw,c,o]  (ih = oh*S+kh-pt)
//   backprop_filter: gw[kh,kw,c,o] = Σ_{b,oh,ow} x[b, oh*S+kh-pt, ow*S+kw-pl, c] · gy[b,oh,ow,o]

struct Params {
  B: u32, H: u32, W: u32, C: u32,
  OH: u32, OW: u32, O: u32, S: u32,
  KH: u32, KW: u32, PT: u32, PL: u32,
  M: u32, N: u32, tiles_n: u32, B0: u32, // backprop_filter sums over batches [B0, B)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// forward only: an optional bias (pipeline constant BIAS) fused into the epilogue
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_fwd: array<f32>;

override BIAS: bool = false;

struct Tile { r0: u32, c0: u32, r: vec4<u32>, c: vec4<u32>, ok: bool }

fn tile(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Tile {
  let g = linear_group(wid, nwg);
  var t: Tile;
  t.r0 = (g / p.tiles_n) * 32u + (lid / 8u) * 4u;
  t.c0 = (g % p.tiles_n) * 32u + (lid % 8u) * 4u;
  t.ok = t.r0 < p.M && t.c0 < p.N;
  t.r = min(vec4<u32>(t.r0, t.r0 + 1u, t.r0 + 2u, t.r0 + 3u), vec4<u32>(max(p.M, 1u) - 1u));
  t.c = min(vec4<u32>(t.c0, t.c0 + 1u, t.c0 + 2u, t.c0 + 3u), vec4<u32>(max(p.N, 1u) - 1u));
  return t;
}

fn store(t: Tile, acc: array<vec4<f32>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    if (t.r0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (t.c0 + j < p.N) { out[(t.r0 + i) * p.N + t.c0 + j] = acc[i][j]; }
    }
  }
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg, lid);
  if (!t.ok) { return; }
  // rows: (b, oh, ow); columns: output channel o
  let ow = t.r % vec4<u32>(p.OW);
  let q = t.r / vec4<u32>(p.OW);
  let oh = q % vec4<u32>(p.OH);
  let b = q / vec4<u32>(p.OH);
  var acc: array<vec4<f32>, 4>;
  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = vec4<i32>(oh * p.S + kh) - i32(p.PT);
    for (var kw = 0u; kw < p.KW; kw++) {
      let iw = vec4<i32>(ow * p.S + kw) - i32(p.PL);
      let valid = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) &
                  (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
      let base = select(vec4<u32>(0u), ((b * p.H + vec4<u32>(ih)) * p.W + vec4<u32>(iw)) * p.C, valid);
      let wbase = (kh * p.KW + kw) * p.C * p.O;
      for (var c = 0u; c < p.C; c++) {
        let a = select(vec4<f32>(0.0),
          vec4<f32>(in0[base.x + c], in0[base.y + c], in0[base.z + c], in0[base.w + c]), valid);
        let wo = wbase + c * p.O;
        let w = vec4<f32>(in1[wo + t.c.x], in1[wo + t.c.y], in1[wo + t.c.z], in1[wo + t.c.w]);
        acc[0] += a.x * w;
        acc[1] += a.y * w;
        acc[2] += a.z * w;
        acc[3] += a.w * w;
      }
    }
  }
  var bv = vec4<f32>(0.0);
  if (BIAS) { bv = vec4<f32>(bias[t.c.x], bias[t.c.y], bias[t.c.z], bias[t.c.w]); }
  for (var i = 0u; i < 4u; i++) {
    if (t.r0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (t.c0 + j < p.N) { out_fwd[(t.r0 + i) * p.N + t.c0 + j] = acc[i][j] + bv[j]; }
    }
  }
}

@compute @workgroup_size(64)
fn backprop_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg, lid);
  if (!t.ok) { return; }
  // rows: (b, ih, iw); columns: input channel c; in0 = gy, in1 = w
  let iw = t.r % vec4<u32>(p.W);
  let q = t.r / vec4<u32>(p.W);
  let ih = q % vec4<u32>(p.H);
  let b = q / vec4<u32>(p.H);
  let S = i32(p.S);
  var acc: array<vec4<f32>, 4>;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = vec4<i32>(ih + p.PT) - i32(kh);
    let oh = th / S;
    let vh = (th >= vec4<i32>(0)) & (th % S == vec4<i32>(0)) & (oh < vec4<i32>(i32(p.OH)));
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw = vec4<i32>(iw + p.PL) - i32(kw);
      let ow = tw / S;
      let valid = vh & (tw >= vec4<i32>(0)) & (tw % S == vec4<i32>(0)) & (ow < vec4<i32>(i32(p.OW)));
      let base = select(vec4<u32>(0u),
        ((b * p.OH + vec4<u32>(max(oh, vec4<i32>(0)))) * p.OW + vec4<u32>(max(ow, vec4<i32>(0)))) * p.O,
        valid);
      let wbase = (kh * p.KW + kw) * p.C * p.O;
      let wc = vec4<u32>(wbase) + t.c * p.O;
      for (var o = 0u; o < p.O; o++) {
        let a = select(vec4<f32>(0.0),
          vec4<f32>(in0[base.x + o], in0[base.y + o], in0[base.z + o], in0[base.w + o]), valid);
        let w = vec4<f32>(in1[wc.x + o], in1[wc.y + o], in1[wc.z + o], in1[wc.w + o]);
        acc[0] += a.x * w;
        acc[1] += a.y * w;
        acc[2] += a.z * w;
        acc[3] += a.w * w;
      }
    }
  }
  store(t, acc);
}

@compute @workgroup_size(64)
fn backprop_filter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg, lid);
  if (!t.ok) { return; }
  // rows: (kh, kw, c); columns: output channel o; in0 = x, in1 = gy
  let c = t.r % vec4<u32>(p.C);
  let q = t.r / vec4<u32>(p.C);
  let kw = vec4<i32>(q % vec4<u32>(p.KW)) - i32(p.PL);
  let kh = vec4<i32>(q / vec4<u32>(p.KW)) - i32(p.PT);
  var acc: array<vec4<f32>, 4>;
  for (var b = p.B0; b < p.B; b++) {
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = kh + i32(oh * p.S);
      let vh = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
      let rowb = (b * p.H + vec4<u32>(max(ih, vec4<i32>(0)))) * p.W;
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = kw + i32(ow * p.S);
        let valid = vh & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
        let xi = select(vec4<u32>(0u), (rowb + vec4<u32>(max(iw, vec4<i32>(0)))) * p.C + c, valid);
        let a = select(vec4<f32>(0.0), vec4<f32>(in0[xi.x], in0[xi.y], in0[xi.z], in0[xi.w]), valid);
        let go = ((b * p.OH + oh) * p.OW + ow) * p.O;
        let g = vec4<f32>(in1[go + t.c.x], in1[go + t.c.y], in1[go + t.c.z], in1[go + t.c.w]);
        acc[0] += a.x * g;
        acc[1] += a.y * g;
        acc[2] += a.z * g;
        acc[3] += a.w * g;
      }
    }
  }
  store(t, acc);
}

// col2im: gx[b,ih,iw,c] = Σ_{kh,kw} z[b, oh, ow, (kh*KW + kw)*C + c] over the taps with
// ih = oh*S + kh - PT, iw = ow*S + kw - PL (the input gradient from per-tap products z = gy·wᵀ,
// used when C is small). One invocation per element of gx; in0 = z.
@group(0) @binding(2) var<storage, read_write> col_out: array<f32>;

@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let e = linear_index(wid, nwg, lid);
  if (e >= p.M) { return; }
  let c = e % p.C;
  var q = e / p.C;
  let iw = q % p.W;
  q = q / p.W;
  let ih = q % p.H;
  let b = q / p.H;
  let S = i32(p.S);
  var s = 0.0;
  for (var kh = 0u; kh < p.KH; kh++) {
    let th = i32(ih + p.PT) - i32(kh);
    if (th < 0 || th % S != 0 || th / S >= i32(p.OH)) { continue; }
    let rowb = (b * p.OH + u32(th / S)) * p.OW;
    for (var kw = 0u; kw < p.KW; kw++) {
      let tw = i32(iw + p.PL) - i32(kw);
      if (tw < 0 || tw % S != 0 || tw / S >= i32(p.OW)) { continue; }
      s += in0[((rowb + u32(tw / S)) * p.KH + kh) * p.KW * p.C + kw * p.C + c];
    }
  }
  col_out[e] = s;
}

// filter_taps: the filter gradient for few taps (KT = KH·KW·C ≤ 32, O ≤ 64), as partial sums
// part[(b·slices + s)·KT + t, o] over slice s of image b's output pixels. A window of whole
// images of x sits in a uniform buffer (image b - B0 at X[(b - B0)·H·W·C ..]). Each invocation
// takes eight output channels o0..o0+7 of one slice, so each tap's address arithmetic and x read
// serve eight FMAs and each gy value KT of them; the L = ceil(O/8) invocations of a slice sit next
// to each other, and a workgroup of 16 holds SPW = 16 / L (image, slice) units (for O = 32: four,
// and each x read, a gather over the lanes, serves the four). The caller adds the partial sums up.
struct FilterParams {
  B0: u32, slices: u32, PS: u32, KT: u32,
  H: u32, W: u32, C: u32, OH: u32,
  OW: u32, O: u32, S: u32, KW: u32,
  PT: i32, PL: i32, units: u32, XL: u32, // units: (image, slice) pairs of this dispatch
  // XL: floats of the window before its first image (see imageWindows in src/ops/conv/windows.ts)
  TS: u32, // log2 of the width in texels of gy's texture
}
@group(0) @binding(0) var<uniform> fp: FilterParams;
// The partial sums as vec4: whole vec4 stores where O % 4 = 0 (VEC_O), one storage access (a
// loop over the lanes on llvmpipe) instead of four; components otherwise. Binding 1 (gy's
// buffer) is read through gy_texel: from its texels FGT where the device profile asks for them
// (a texel fetch costs far less than a storage load on llvmpipe), else in place.
@group(0) @binding(2) var<storage, read_write> part4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> X: array<vec4<f32>, 4096>;
// gy_texel(i), floats 4i..4i+3 of gy: conv2d_gy_texels.wgsl or conv2d_gy_storage.wgsl

override VEC_O: bool = false;

// Taps outside the image read element 0 and give 0: no branch around the load (on llvmpipe a
// load under a condition becomes a loop over the lanes).
fn x_tap(bl: u32, ih: i32, iw: i32, c: u32) -> f32 {
  let inside = (ih >= 0) & (ih < i32(fp.H)) & (iw >= 0) & (iw < i32(fp.W));
  let f = select(0u, fp.XL + ((bl * fp.H + u32(ih)) * fp.W + u32(iw)) * fp.C + c, inside);
  return select(0.0, X[f / 4u][f % 4u], inside);
}

// The number of taps KH·KW·C (≤ 32), a pipeline constant so the unrolled taps past it vanish.
override KT: u32 = 32u;

// Channels o0..o0+3 of partial-sum row `row` (those below O).
fn store_part(row: u32, o0: u32, v: vec4<f32>) {
  let i = row * fp.O + o0;
  if (VEC_O) {
    part4[i / 4u] = v;
    return;
  }
  for (var e = 0u; e < 4u; e++) {
    if (o0 + e < fp.O) { part4[(i + e) / 4u][(i + e) % 4u] = v[e]; }
  }
}

// gy[gb .. gb+3], the channels o0..o0+3 of one output pixel (0 from O on: `ok`).
fn gy_channels(gb: u32, ok: vec4<bool>) -> vec4<f32> {
  if (VEC_O) { return select(vec4<f32>(0.0), gy_texel(gb / 4u), ok); }
  // channels past O read channel o0 (inside the buffer) and count as 0
  let i = select(vec4<u32>(gb), vec4<u32>(gb) + vec4<u32>(0u, 1u, 2u, 3u), ok);
  return select(vec4<f32>(0.0), vec4<f32>(gy_texel(i.x / 4u)[i.x % 4u], gy_texel(i.y / 4u)[i.y % 4u],
    gy_texel(i.z / 4u)[i.z % 4u], gy_texel(i.w / 4u)[i.w % 4u]), ok);
}

// The invocation's unit and channels: eight output channels o0..o0+7 of one (image, slice) unit;
// the L = ceil(O/8) invocations of a unit sit next to each other, SPW = 16 / L units a workgroup.
struct FilterUnit {
  live: bool, o0: u32, oka: vec4<bool>, okb: vec4<bool>,
  bl: u32, b: u32, s: u32, // image in the window, image, slice
}

fn filter_unit(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> FilterUnit {
  var u: FilterUnit;
  let L = (fp.O + 7u) / 8u;
  let spw = 16u / L;
  let sub = lid / L;
  let unit = linear_group(wid, nwg) * spw + sub;
  u.live = sub < spw && unit < fp.units;
  u.o0 = 8u * (lid % L);
  u.oka = (vec4<u32>(u.o0) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(fp.O);
  u.okb = (vec4<u32>(u.o0) + vec4<u32>(4u, 5u, 6u, 7u)) < vec4<u32>(fp.O);
  u.bl = unit / fp.slices;
  u.b = fp.B0 + u.bl;
  u.s = unit % fp.slices;
  return u;
}

// The partial sums of the KT taps (acc[t]: channels o0..o0+3, acc[32 + t]: o0+4..o0+7) from row
// `base` on.
fn store_parts(acc: ptr<function, array<vec4<f32>, 64>>, base: u32, o0: u32, okb: vec4<bool>) {
  if (0u < KT) { store_part(base + 0u, o0, (*acc)[0]); if (okb.x) { store_part(base + 0u, o0 + 4u, (*acc)[32]); } }
  if (1u < KT) { store_part(base + 1u, o0, (*acc)[1]); if (okb.x) { store_part(base + 1u, o0 + 4u, (*acc)[33]); } }
  if (2u < KT) { store_part(base + 2u, o0, (*acc)[2]); if (okb.x) { store_part(base + 2u, o0 + 4u, (*acc)[34]); } }
  if (3u < KT) { store_part(base + 3u, o0, (*acc)[3]); if (okb.x) { store_part(base + 3u, o0 + 4u, (*acc)[35]); } }
  if (4u < KT) { store_part(base + 4u, o0, (*acc)[4]); if (okb.x) { store_part(base + 4u, o0 + 4u, (*acc)[36]); } }
  if (5u < KT) { store_part(base + 5u, o0, (*acc)[5]); if (okb.x) { store_part(base + 5u, o0 + 4u, (*acc)[37]); } }
  if (6u < KT) { store_part(base + 6u, o0, (*acc)[6]); if (okb.x) { store_part(base + 6u, o0 + 4u, (*acc)[38]); } }
  if (7u < KT) { store_part(base + 7u, o0, (*acc)[7]); if (okb.x) { store_part(base + 7u, o0 + 4u, (*acc)[39]); } }
  if (8u < KT) { store_part(base + 8u, o0, (*acc)[8]); if (okb.x) { store_part(base + 8u, o0 + 4u, (*acc)[40]); } }
  if (9u < KT) { store_part(base + 9u, o0, (*acc)[9]); if (okb.x) { store_part(base + 9u, o0 + 4u, (*acc)[41]); } }
  if (10u < KT) { store_part(base + 10u, o0, (*acc)[10]); if (okb.x) { store_part(base + 10u, o0 + 4u, (*acc)[42]); } }
  if (11u < KT) { store_part(base + 11u, o0, (*acc)[11]); if (okb.x) { store_part(base + 11u, o0 + 4u, (*acc)[43]); } }
  if (12u < KT) { store_part(base + 12u, o0, (*acc)[12]); if (okb.x) { store_part(base + 12u, o0 + 4u, (*acc)[44]); } }
  if (13u < KT) { store_part(base + 13u, o0, (*acc)[13]); if (okb.x) { store_part(base + 13u, o0 + 4u, (*acc)[45]); } }
  if (14u < KT) { store_part(base + 14u, o0, (*acc)[14]); if (okb.x) { store_part(base + 14u, o0 + 4u, (*acc)[46]); } }
  if (15u < KT) { store_part(base + 15u, o0, (*acc)[15]); if (okb.x) { store_part(base + 15u, o0 + 4u, (*acc)[47]); } }
  if (16u < KT) { store_part(base + 16u, o0, (*acc)[16]); if (okb.x) { store_part(base + 16u, o0 + 4u, (*acc)[48]); } }
  if (17u < KT) { store_part(base + 17u, o0, (*acc)[17]); if (okb.x) { store_part(base + 17u, o0 + 4u, (*acc)[49]); } }
  if (18u < KT) { store_part(base + 18u, o0, (*acc)[18]); if (okb.x) { store_part(base + 18u, o0 + 4u, (*acc)[50]); } }
  if (19u < KT) { store_part(base + 19u, o0, (*acc)[19]); if (okb.x) { store_part(base + 19u, o0 + 4u, (*acc)[51]); } }
  if (20u < KT) { store_part(base + 20u, o0, (*acc)[20]); if (okb.x) { store_part(base + 20u, o0 + 4u, (*acc)[52]); } }
  if (21u < KT) { store_part(base + 21u, o0, (*acc)[21]); if (okb.x) { store_part(base + 21u, o0 + 4u, (*acc)[53]); } }
  if (22u < KT) { store_part(base + 22u, o0, (*acc)[22]); if (okb.x) { store_part(base + 22u, o0 + 4u, (*acc)[54]); } }
  if (23u < KT) { store_part(base + 23u, o0, (*acc)[23]); if (okb.x) { store_part(base + 23u, o0 + 4u, (*acc)[55]); } }
  if (24u < KT) { store_part(base + 24u, o0, (*acc)[24]); if (okb.x) { store_part(base + 24u, o0 + 4u, (*acc)[56]); } }
  if (25u < KT) { store_part(base + 25u, o0, (*acc)[25]); if (okb.x) { store_part(base + 25u, o0 + 4u, (*acc)[57]); } }
  if (26u < KT) { store_part(base + 26u, o0, (*acc)[26]); if (okb.x) { store_part(base + 26u, o0 + 4u, (*acc)[58]); } }
  if (27u < KT) { store_part(base + 27u, o0, (*acc)[27]); if (okb.x) { store_part(base + 27u, o0 + 4u, (*acc)[59]); } }
  if (28u < KT) { store_part(base + 28u, o0, (*acc)[28]); if (okb.x) { store_part(base + 28u, o0 + 4u, (*acc)[60]); } }
  if (29u < KT) { store_part(base + 29u, o0, (*acc)[29]); if (okb.x) { store_part(base + 29u, o0 + 4u, (*acc)[61]); } }
  if (30u < KT) { store_part(base + 30u, o0, (*acc)[30]); if (okb.x) { store_part(base + 30u, o0 + 4u, (*acc)[62]); } }
  if (31u < KT) { store_part(base + 31u, o0, (*acc)[31]); if (okb.x) { store_part(base + 31u, o0 + 4u, (*acc)[63]); } }
}

@compute @workgroup_size(16)
fn filter_taps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let u = filter_unit(wid, nwg, lid);
  if (!u.live) { return; }
  let o0 = u.o0;
  let oka = u.oka;
  let okb = u.okb;
  let bl = u.bl;
  let b = u.b;
  let s = u.s;
  // tap t = (kh, kw, c): its offsets, computed once (constant indices keep them in registers)
  var th: array<i32, 32>;
  var tw: array<i32, 32>;
  var tc: array<u32, 32>;
  th[0] = i32(0u / (fp.KW * fp.C)) - fp.PT; tw[0] = i32((0u / fp.C) % fp.KW) - fp.PL; tc[0] = 0u % fp.C;
  th[1] = i32(1u / (fp.KW * fp.C)) - fp.PT; tw[1] = i32((1u / fp.C) % fp.KW) - fp.PL; tc[1] = 1u % fp.C;
  th[2] = i32(2u / (fp.KW * fp.C)) - fp.PT; tw[2] = i32((2u / fp.C) % fp.KW) - fp.PL; tc[2] = 2u % fp.C;
  th[3] = i32(3u / (fp.KW * fp.C)) - fp.PT; tw[3] = i32((3u / fp.C) % fp.KW) - fp.PL; tc[3] = 3u % fp.C;
  th[4] = i32(4u / (fp.KW * fp.C)) - fp.PT; tw[4] = i32((4u / fp.C) % fp.KW) - fp.PL; tc[4] = 4u % fp.C;
  th[5] = i32(5u / (fp.KW * fp.C)) - fp.PT; tw[5] = i32((5u / fp.C) % fp.KW) - fp.PL; tc[5] = 5u % fp.C;
  th[6] = i32(6u / (fp.KW * fp.C)) - fp.PT; tw[6] = i32((6u / fp.C) % fp.KW) - fp.PL; tc[6] = 6u % fp.C;
  th[7] = i32(7u / (fp.KW * fp.C)) - fp.PT; tw[7] = i32((7u / fp.C) % fp.KW) - fp.PL; tc[7] = 7u % fp.C;
  th[8] = i32(8u / (fp.KW * fp.C)) - fp.PT; tw[8] = i32((8u / fp.C) % fp.KW) - fp.PL; tc[8] = 8u % fp.C;
  th[9] = i32(9u / (fp.KW * fp.C)) - fp.PT; tw[9] = i32((9u / fp.C) % fp.KW) - fp.PL; tc[9] = 9u % fp.C;
  th[10] = i32(10u / (fp.KW * fp.C)) - fp.PT; tw[10] = i32((10u / fp.C) % fp.KW) - fp.PL; tc[10] = 10u % fp.C;
  th[11] = i32(11u / (fp.KW * fp.C)) - fp.PT; tw[11] = i32((11u / fp.C) % fp.KW) - fp.PL; tc[11] = 11u % fp.C;
  th[12] = i32(12u / (fp.KW * fp.C)) - fp.PT; tw[12] = i32((12u / fp.C) % fp.KW) - fp.PL; tc[12] = 12u % fp.C;
  th[13] = i32(13u / (fp.KW * fp.C)) - fp.PT; tw[13] = i32((13u / fp.C) % fp.KW) - fp.PL; tc[13] = 13u % fp.C;
  th[14] = i32(14u / (fp.KW * fp.C)) - fp.PT; tw[14] = i32((14u / fp.C) % fp.KW) - fp.PL; tc[14] = 14u % fp.C;
  th[15] = i32(15u / (fp.KW * fp.C)) - fp.PT; tw[15] = i32((15u / fp.C) % fp.KW) - fp.PL; tc[15] = 15u % fp.C;
  th[16] = i32(16u / (fp.KW * fp.C)) - fp.PT; tw[16] = i32((16u / fp.C) % fp.KW) - fp.PL; tc[16] = 16u % fp.C;
  th[17] = i32(17u / (fp.KW * fp.C)) - fp.PT; tw[17] = i32((17u / fp.C) % fp.KW) - fp.PL; tc[17] = 17u % fp.C;
  th[18] = i32(18u / (fp.KW * fp.C)) - fp.PT; tw[18] = i32((18u / fp.C) % fp.KW) - fp.PL; tc[18] = 18u % fp.C;
  th[19] = i32(19u / (fp.KW * fp.C)) - fp.PT; tw[19] = i32((19u / fp.C) % fp.KW) - fp.PL; tc[19] = 19u % fp.C;
  th[20] = i32(20u / (fp.KW * fp.C)) - fp.PT; tw[20] = i32((20u / fp.C) % fp.KW) - fp.PL; tc[20] = 20u % fp.C;
  th[21] = i32(21u / (fp.KW * fp.C)) - fp.PT; tw[21] = i32((21u / fp.C) % fp.KW) - fp.PL; tc[21] = 21u % fp.C;
  th[22] = i32(22u / (fp.KW * fp.C)) - fp.PT; tw[22] = i32((22u / fp.C) % fp.KW) - fp.PL; tc[22] = 22u % fp.C;
  th[23] = i32(23u / (fp.KW * fp.C)) - fp.PT; tw[23] = i32((23u / fp.C) % fp.KW) - fp.PL; tc[23] = 23u % fp.C;
  th[24] = i32(24u / (fp.KW * fp.C)) - fp.PT; tw[24] = i32((24u / fp.C) % fp.KW) - fp.PL; tc[24] = 24u % fp.C;
  th[25] = i32(25u / (fp.KW * fp.C)) - fp.PT; tw[25] = i32((25u / fp.C) % fp.KW) - fp.PL; tc[25] = 25u % fp.C;
  th[26] = i32(26u / (fp.KW * fp.C)) - fp.PT; tw[26] = i32((26u / fp.C) % fp.KW) - fp.PL; tc[26] = 26u % fp.C;
  th[27] = i32(27u / (fp.KW * fp.C)) - fp.PT; tw[27] = i32((27u / fp.C) % fp.KW) - fp.PL; tc[27] = 27u % fp.C;
  th[28] = i32(28u / (fp.KW * fp.C)) - fp.PT; tw[28] = i32((28u / fp.C) % fp.KW) - fp.PL; tc[28] = 28u % fp.C;
  th[29] = i32(29u / (fp.KW * fp.C)) - fp.PT; tw[29] = i32((29u / fp.C) % fp.KW) - fp.PL; tc[29] = 29u % fp.C;
  th[30] = i32(30u / (fp.KW * fp.C)) - fp.PT; tw[30] = i32((30u / fp.C) % fp.KW) - fp.PL; tc[30] = 30u % fp.C;
  th[31] = i32(31u / (fp.KW * fp.C)) - fp.PT; tw[31] = i32((31u / fp.C) % fp.KW) - fp.PL; tc[31] = 31u % fp.C;
  // acc[t]: channels o0..o0+3 of tap t; acc[32 + t]: o0+4..o0+7
  var acc: array<vec4<f32>, 64>;
  let q1 = min((s + 1u) * fp.PS, fp.OH * fp.OW);
  for (var q = s * fp.PS; q < q1; q++) {
    let oh = q / fp.OW;
    let ow = q % fp.OW;
    let gb = ((b * fp.OH + oh) * fp.OW + ow) * fp.O + o0;
    let ga = gy_channels(gb, oka);
    let gc = gy_channels(select(gb, gb + 4u, okb.x), okb);
    let ih = i32(oh * fp.S);
    let iw = i32(ow * fp.S);
    if (0u < KT) { let xv = x_tap(bl, ih + th[0], iw + tw[0], tc[0]); acc[0] += xv * ga; acc[32] += xv * gc; }
    if (1u < KT) { let xv = x_tap(bl, ih + th[1], iw + tw[1], tc[1]); acc[1] += xv * ga; acc[33] += xv * gc; }
    if (2u < KT) { let xv = x_tap(bl, ih + th[2], iw + tw[2], tc[2]); acc[2] += xv * ga; acc[34] += xv * gc; }
    if (3u < KT) { let xv = x_tap(bl, ih + th[3], iw + tw[3], tc[3]); acc[3] += xv * ga; acc[35] += xv * gc; }
    if (4u < KT) { let xv = x_tap(bl, ih + th[4], iw + tw[4], tc[4]); acc[4] += xv * ga; acc[36] += xv * gc; }
    if (5u < KT) { let xv = x_tap(bl, ih + th[5], iw + tw[5], tc[5]); acc[5] += xv * ga; acc[37] += xv * gc; }
    if (6u < KT) { let xv = x_tap(bl, ih + th[6], iw + tw[6], tc[6]); acc[6] += xv * ga; acc[38] += xv * gc; }
    if (7u < KT) { let xv = x_tap(bl, ih + th[7], iw + tw[7], tc[7]); acc[7] += xv * ga; acc[39] += xv * gc; }
    if (8u < KT) { let xv = x_tap(bl, ih + th[8], iw + tw[8], tc[8]); acc[8] += xv * ga; acc[40] += xv * gc; }
    if (9u < KT) { let xv = x_tap(bl, ih + th[9], iw + tw[9], tc[9]); acc[9] += xv * ga; acc[41] += xv * gc; }
    if (10u < KT) { let xv = x_tap(bl, ih + th[10], iw + tw[10], tc[10]); acc[10] += xv * ga; acc[42] += xv * gc; }
    if (11u < KT) { let xv = x_tap(bl, ih + th[11], iw + tw[11], tc[11]); acc[11] += xv * ga; acc[43] += xv * gc; }
    if (12u < KT) { let xv = x_tap(bl, ih + th[12], iw + tw[12], tc[12]); acc[12] += xv * ga; acc[44] += xv * gc; }
    if (13u < KT) { let xv = x_tap(bl, ih + th[13], iw + tw[13], tc[13]); acc[13] += xv * ga; acc[45] += xv * gc; }
    if (14u < KT) { let xv = x_tap(bl, ih + th[14], iw + tw[14], tc[14]); acc[14] += xv * ga; acc[46] += xv * gc; }
    if (15u < KT) { let xv = x_tap(bl, ih + th[15], iw + tw[15], tc[15]); acc[15] += xv * ga; acc[47] += xv * gc; }
    if (16u < KT) { let xv = x_tap(bl, ih + th[16], iw + tw[16], tc[16]); acc[16] += xv * ga; acc[48] += xv * gc; }
    if (17u < KT) { let xv = x_tap(bl, ih + th[17], iw + tw[17], tc[17]); acc[17] += xv * ga; acc[49] += xv * gc; }
    if (18u < KT) { let xv = x_tap(bl, ih + th[18], iw + tw[18], tc[18]); acc[18] += xv * ga; acc[50] += xv * gc; }
    if (19u < KT) { let xv = x_tap(bl, ih + th[19], iw + tw[19], tc[19]); acc[19] += xv * ga; acc[51] += xv * gc; }
    if (20u < KT) { let xv = x_tap(bl, ih + th[20], iw + tw[20], tc[20]); acc[20] += xv * ga; acc[52] += xv * gc; }
    if (21u < KT) { let xv = x_tap(bl, ih + th[21], iw + tw[21], tc[21]); acc[21] += xv * ga; acc[53] += xv * gc; }
    if (22u < KT) { let xv = x_tap(bl, ih + th[22], iw + tw[22], tc[22]); acc[22] += xv * ga; acc[54] += xv * gc; }
    if (23u < KT) { let xv = x_tap(bl, ih + th[23], iw + tw[23], tc[23]); acc[23] += xv * ga; acc[55] += xv * gc; }
    if (24u < KT) { let xv = x_tap(bl, ih + th[24], iw + tw[24], tc[24]); acc[24] += xv * ga; acc[56] += xv * gc; }
    if (25u < KT) { let xv = x_tap(bl, ih + th[25], iw + tw[25], tc[25]); acc[25] += xv * ga; acc[57] += xv * gc; }
    if (26u < KT) { let xv = x_tap(bl, ih + th[26], iw + tw[26], tc[26]); acc[26] += xv * ga; acc[58] += xv * gc; }
    if (27u < KT) { let xv = x_tap(bl, ih + th[27], iw + tw[27], tc[27]); acc[27] += xv * ga; acc[59] += xv * gc; }
    if (28u < KT) { let xv = x_tap(bl, ih + th[28], iw + tw[28], tc[28]); acc[28] += xv * ga; acc[60] += xv * gc; }
    if (29u < KT) { let xv = x_tap(bl, ih + th[29], iw + tw[29], tc[29]); acc[29] += xv * ga; acc[61] += xv * gc; }
    if (30u < KT) { let xv = x_tap(bl, ih + th[30], iw + tw[30], tc[30]); acc[30] += xv * ga; acc[62] += xv * gc; }
    if (31u < KT) { let xv = x_tap(bl, ih + th[31], iw + tw[31], tc[31]); acc[31] += xv * ga; acc[63] += xv * gc; }
  }
  store_parts(&acc, (b * fp.slices + s) * fp.KT, o0, okb);
}

// filter_rows: filter_taps at stride 1, by whole output rows: unit (b, s) takes rows
// [s·PS, (s+1)·PS) of image b (PS counts rows here). Along a row the taps of pixel ow + 1 are
// those of pixel ow moved by one column, so each step moves the tap values xv in registers
// (tap (kh, kw, c) takes (kh, kw+1, c)) and loads only the KH·C values of the new column:
// 5 loads a pixel for conv1's 5 × 5 taps, where filter_taps loads 25. KH, KW and C are
// pipeline constants (FKH, FKW, FC; KT = FKH·FKW·FC), so which taps move and which load is
// known when the shader is built (the tap loops have constant bounds; writing them out by hand
// measured no faster). gy, read once per pixel and eight channels, is the larger cost, and is
// read from its texels (FGT) where the device profile asks for them
// (measured in bench/RESULTS.md, "Kernel choices and their measurements").
override FKH: u32 = 1u;
override FKW: u32 = 1u;
override FC: u32 = 1u;

// One step along a row: the taps of the pixel whose last column is iw (x row ih0 + kh for kh).
fn taps_step(xv: ptr<function, array<f32, 32>>, bl: u32, ih0: i32, iw: i32) {
  // t in increasing order: tap t + FC is read before its own step overwrites it
  for (var t = 0u; t < KT; t++) {
    if ((t / FC) % FKW < FKW - 1u) {
      (*xv)[t] = (*xv)[t + FC];
    } else {
      (*xv)[t] = x_tap(bl, ih0 + i32(t / (FKW * FC)), iw, t % FC);
    }
  }
}

@compute @workgroup_size(16)
fn filter_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let u = filter_unit(wid, nwg, lid);
  if (!u.live) { return; }
  var xv: array<f32, 32>;
  var acc: array<vec4<f32>, 64>;
  let r1 = min((u.s + 1u) * fp.PS, fp.OH);
  for (var oh = u.s * fp.PS; oh < r1; oh++) {
    let ih0 = i32(oh) - fp.PT;
    // the first FKW - 1 columns of the row's first pixel
    for (var j = 0u; j + 1u < FKW; j++) { taps_step(&xv, u.bl, ih0, i32(j) - fp.PL); }
    for (var ow = 0u; ow < fp.OW; ow++) {
      taps_step(&xv, u.bl, ih0, i32(ow + FKW - 1u) - fp.PL);
      let gb = ((u.b * fp.OH + oh) * fp.OW + ow) * fp.O + u.o0;
      let ga = gy_channels(gb, u.oka);
      let gc = gy_channels(select(gb, gb + 4u, u.okb.x), u.okb);
      for (var t = 0u; t < KT; t++) {
        acc[t] += xv[t] * ga;
        acc[32u + t] += xv[t] * gc;
      }
    }
  }
  store_parts(&acc, (u.b * fp.slices + u.s) * fp.KT, u.o0, u.okb);
}

// input_taps: the input gradient of a stride-1 convolution with few input channels (O % 4 = 0,
// KH, KW ≤ 5) in one pass, instead of a per-tap product and col2im:
//   gx[b,ih,iw,c] = Σ_{kh,kw,o} gy[b, ih+PT-kh, iw+PL-kw, o] · w[kh,kw,c,o].
// Each invocation takes a block of RB ≤ 8 rows × PB ≤ 16 pixels of one channel c. For each
// group of four output channels it walks the RB+KH-1 rows of gy the block reads (gy_pass),
// loads each row's PB+KW-1 vec4 once and applies them to every block row they reach
// (kh = r+KH-1-i). The gy loads are what costs on llvmpipe; a 7 × 14 block loads each gy value
// about twice, where the per-tap product loads it once but then col2im loads 25 products per
// pixel. gy is read as texels of a copy (GYT): as storage loads (a loop over the lanes per
// component) they were most of the kernel's time (measured in bench/RESULTS.md, "Kernel choices and their measurements"). w, the same for every invocation, sits
// in a uniform window and is loaded once per channel group. PB, RB, KH and KW are pipeline
// constants: every tap, pixel and row index below is then a constant, so the accumulators and
// the row of gy stay in registers (the price: the unrolled body of a 7 × 14 block with 5 × 5
// taps is slow to compile on llvmpipe, once per machine with Mesa's shader cache).
struct InputParams {
  B: u32, H: u32, W: u32, C: u32,
  OH: u32, OW: u32, O4: u32, KH: u32,
  PT: i32, PL: i32, bw: u32, bh: u32, // blocks per image row and per image column
  // forward_taps: images [B0, B0 + units/blocks), the first XL floats into x's window
  // TS (input_taps): log2 of the width in texels of gy's texture
  units: u32, B0: u32, XL: u32, TS: u32,
}
@group(0) @binding(0) var<uniform> ip: InputParams;
// the layout of forward_taps (x, bias, y, w), whose w loader it shares: binding 2 unused, and
// binding 1 gy, read there by the storage reader only
@group(0) @binding(3) var<storage, read_write> igx: array<f32>;
// w in a uniform window
@group(0) @binding(4) var<uniform> IW: array<vec4<f32>, 4096>;
// gy through input_gy(t), vec4 t of gy: from its texels GYT (binding 5) where the device profile
// asks for them (a texel fetch costs far less than a storage load on llvmpipe), else in place
// (binding 1); see conv2d_gy_texels.wgsl and conv2d_gy_storage.wgsl

override PB: u32 = 16u; // pixels per block row (≤ 16)
override RB: u32 = 8u; // rows per block (≤ 8)
override IKW: u32 = 5u; // KW (≤ 5)
override IKH: u32 = 5u; // KH (≤ 5)

// Channels 4·o4..4·o4+3 of gy at (b, oh, ow); 0 outside the image (fetched at texel 0 and
// zeroed: a select, where a branch would mask the fetch lane by lane).
fn gy_at(b: u32, oh: i32, ow: i32, o4: u32) -> vec4<f32> {
  let inside = (oh >= 0) & (oh < i32(ip.OH)) & (ow >= 0) & (ow < i32(ip.OW));
  let t = select(0u, ((b * ip.OH + u32(oh)) * ip.OW + u32(ow)) * ip.O4 + o4, inside);
  let v = input_gy(t);
  return select(vec4<f32>(0.0), v, inside);
}

// The PB+KW-1 gy vec4 of row oh from column ow0 on.
fn gy_row(b: u32, oh: i32, ow0: i32, o4: u32) -> array<vec4<f32>, 20> {
  var g: array<vec4<f32>, 20>;
  let n = PB + IKW - 1u;
  g[0] = gy_at(b, oh, ow0, o4);
  if (n > 1u) { g[1] = gy_at(b, oh, ow0 + 1, o4); }
  if (n > 2u) { g[2] = gy_at(b, oh, ow0 + 2, o4); }
  if (n > 3u) { g[3] = gy_at(b, oh, ow0 + 3, o4); }
  if (n > 4u) { g[4] = gy_at(b, oh, ow0 + 4, o4); }
  if (n > 5u) { g[5] = gy_at(b, oh, ow0 + 5, o4); }
  if (n > 6u) { g[6] = gy_at(b, oh, ow0 + 6, o4); }
  if (n > 7u) { g[7] = gy_at(b, oh, ow0 + 7, o4); }
  if (n > 8u) { g[8] = gy_at(b, oh, ow0 + 8, o4); }
  if (n > 9u) { g[9] = gy_at(b, oh, ow0 + 9, o4); }
  if (n > 10u) { g[10] = gy_at(b, oh, ow0 + 10, o4); }
  if (n > 11u) { g[11] = gy_at(b, oh, ow0 + 11, o4); }
  if (n > 12u) { g[12] = gy_at(b, oh, ow0 + 12, o4); }
  if (n > 13u) { g[13] = gy_at(b, oh, ow0 + 13, o4); }
  if (n > 14u) { g[14] = gy_at(b, oh, ow0 + 14, o4); }
  if (n > 15u) { g[15] = gy_at(b, oh, ow0 + 15, o4); }
  if (n > 16u) { g[16] = gy_at(b, oh, ow0 + 16, o4); }
  if (n > 17u) { g[17] = gy_at(b, oh, ow0 + 17, o4); }
  if (n > 18u) { g[18] = gy_at(b, oh, ow0 + 18, o4); }
  if (n > 19u) { g[19] = gy_at(b, oh, ow0 + 19, o4); }
  return g;
}

// The taps (kh, kw) of channel c, channels 4·o4..4·o4+3: w[kh·KW + kw] (KH·KW ≤ 25).
fn w_taps(c: u32, o4: u32) -> array<vec4<f32>, 25> {
  var w: array<vec4<f32>, 25>;
  let n = IKH * IKW;
  let s = ip.C * ip.O4;
  let w0 = c * ip.O4 + o4;
  w[0] = IW[w0];
  if (n > 1u) { w[1] = IW[w0 + s]; }
  if (n > 2u) { w[2] = IW[w0 + 2u * s]; }
  if (n > 3u) { w[3] = IW[w0 + 3u * s]; }
  if (n > 4u) { w[4] = IW[w0 + 4u * s]; }
  if (n > 5u) { w[5] = IW[w0 + 5u * s]; }
  if (n > 6u) { w[6] = IW[w0 + 6u * s]; }
  if (n > 7u) { w[7] = IW[w0 + 7u * s]; }
  if (n > 8u) { w[8] = IW[w0 + 8u * s]; }
  if (n > 9u) { w[9] = IW[w0 + 9u * s]; }
  if (n > 10u) { w[10] = IW[w0 + 10u * s]; }
  if (n > 11u) { w[11] = IW[w0 + 11u * s]; }
  if (n > 12u) { w[12] = IW[w0 + 12u * s]; }
  if (n > 13u) { w[13] = IW[w0 + 13u * s]; }
  if (n > 14u) { w[14] = IW[w0 + 14u * s]; }
  if (n > 15u) { w[15] = IW[w0 + 15u * s]; }
  if (n > 16u) { w[16] = IW[w0 + 16u * s]; }
  if (n > 17u) { w[17] = IW[w0 + 17u * s]; }
  if (n > 18u) { w[18] = IW[w0 + 18u * s]; }
  if (n > 19u) { w[19] = IW[w0 + 19u * s]; }
  if (n > 20u) { w[20] = IW[w0 + 20u * s]; }
  if (n > 21u) { w[21] = IW[w0 + 21u * s]; }
  if (n > 22u) { w[22] = IW[w0 + 22u * s]; }
  if (n > 23u) { w[23] = IW[w0 + 23u * s]; }
  if (n > 24u) { w[24] = IW[w0 + 24u * s]; }
  return w;
}

// Pixel j of a block row: Σ_kw gy(column j+KW-1-kw) · w(kh, kw), over four channels.
fn tap_sum(g: array<vec4<f32>, 20>, w: array<vec4<f32>, 25>, kh: u32, j: u32) -> f32 {
  let t = kh * IKW;
  var s = dot(g[j + IKW - 1u], w[t]);
  if (IKW > 1u) { s += dot(g[j + IKW - 2u], w[t + 1u]); }
  if (IKW > 2u) { s += dot(g[j + IKW - 3u], w[t + 2u]); }
  if (IKW > 3u) { s += dot(g[j + IKW - 4u], w[t + 3u]); }
  if (IKW > 4u) { s += dot(g[j + IKW - 5u], w[t + 4u]); }
  return s;
}

// Block row r takes gy row i with the taps of row kh = r+KH-1-i, when that row exists.
fn row_taps(acc: ptr<function, array<vec4<f32>, 32>>, r: u32, g: array<vec4<f32>, 20>, i: u32,
            w: array<vec4<f32>, 25>) {
  if (r >= RB || r + IKH <= i || i < r) { return; }
  let kh = r + IKH - 1u - i;
  quad_taps(acc, 4u * r, g, w, kh, 0u);
  if (PB > 4u) { quad_taps(acc, 4u * r + 1u, g, w, kh, 4u); }
  if (PB > 8u) { quad_taps(acc, 4u * r + 2u, g, w, kh, 8u); }
  if (PB > 12u) { quad_taps(acc, 4u * r + 3u, g, w, kh, 12u); }
}

// Pixels j0..j0+3 of a block row (those below PB), accumulated in acc[a].
fn quad_taps(acc: ptr<function, array<vec4<f32>, 32>>, a: u32, g: array<vec4<f32>, 20>,
             w: array<vec4<f32>, 25>, kh: u32, j0: u32) {
  var v = (*acc)[a];
  v.x += tap_sum(g, w, kh, j0);
  if (PB > j0 + 1u) { v.y += tap_sum(g, w, kh, j0 + 1u); }
  if (PB > j0 + 2u) { v.z += tap_sum(g, w, kh, j0 + 2u); }
  if (PB > j0 + 3u) { v.w += tap_sum(g, w, kh, j0 + 3u); }
  (*acc)[a] = v;
}

// gy row i of the block (row oh0 + i), applied to every block row it reaches.
fn gy_pass(acc: ptr<function, array<vec4<f32>, 32>>, i: u32, b: u32, oh0: i32, ow0: i32, o4: u32,
           w: array<vec4<f32>, 25>) {
  if (i >= RB + IKH - 1u) { return; }
  let g = gy_row(b, oh0 + i32(i), ow0, o4);
  row_taps(acc, 0u, g, i, w);
  row_taps(acc, 1u, g, i, w);
  row_taps(acc, 2u, g, i, w);
  row_taps(acc, 3u, g, i, w);
  row_taps(acc, 4u, g, i, w);
  row_taps(acc, 5u, g, i, w);
  row_taps(acc, 6u, g, i, w);
  row_taps(acc, 7u, g, i, w);
}

// Pixels j0..j0+3 of a block row, those inside the block and the image.
fn store_quad(v: vec4<f32>, base: u32, iw0: u32, j0: u32, c: u32) {
  for (var e = 0u; e < 4u; e++) {
    if (j0 + e < PB && iw0 + j0 + e < ip.W) { igx[(base + iw0 + j0 + e) * ip.C + c] = v[e]; }
  }
}

// Stores block row r.
fn store_row(acc: array<vec4<f32>, 32>, r: u32, b: u32, ih: u32, iw0: u32, c: u32) {
  if (r >= RB || ih >= ip.H) { return; }
  let base = (b * ip.H + ih) * ip.W;
  store_quad(acc[4u * r], base, iw0, 0u, c);
  if (PB > 4u) { store_quad(acc[4u * r + 1u], base, iw0, 4u, c); }
  if (PB > 8u) { store_quad(acc[4u * r + 2u], base, iw0, 8u, c); }
  if (PB > 12u) { store_quad(acc[4u * r + 3u], base, iw0, 12u, c); }
}

@compute @workgroup_size(16)
fn input_taps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let u = linear_group(wid, nwg) * 16u + lid;
  if (u >= ip.units) { return; }
  // neighbouring invocations: the same block of neighbouring images (the same taps fall
  // outside the image for all of them)
  let c = u % ip.C;
  var q = u / ip.C;
  let b = q % ip.B;
  q = q / ip.B;
  let iw0 = (q % ip.bw) * PB;
  let ih0 = (q / ip.bw) * RB;
  let oh0 = i32(ih0) + ip.PT - i32(IKH) + 1;
  let ow0 = i32(iw0) + ip.PL - i32(IKW) + 1;
  var acc: array<vec4<f32>, 32>;
  for (var o4 = 0u; o4 < ip.O4; o4++) {
    let w = w_taps(c, o4);
    gy_pass(&acc, 0u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 1u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 2u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 3u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 4u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 5u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 6u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 7u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 8u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 9u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 10u, b, oh0, ow0, o4, w);
    gy_pass(&acc, 11u, b, oh0, ow0, o4, w);
  }
  store_row(acc, 0u, b, ih0, iw0, c);
  store_row(acc, 1u, b, ih0 + 1u, iw0, c);
  store_row(acc, 2u, b, ih0 + 2u, iw0, c);
  store_row(acc, 3u, b, ih0 + 3u, iw0, c);
  store_row(acc, 4u, b, ih0 + 4u, iw0, c);
  store_row(acc, 5u, b, ih0 + 5u, iw0, c);
  store_row(acc, 6u, b, ih0 + 6u, iw0, c);
  store_row(acc, 7u, b, ih0 + 7u, iw0, c);
}

// forward_taps: a stride-1 convolution with few input channels (O % 4 = 0, KH, KW ≤ 5) the
// same way: y[b,oh,ow,o] = Σ_{kh,kw,c} x[b, oh+kh-PT, ow+kw-PL, c] · w[kh,kw,c,o] (+ bias[o]).
// Each invocation takes a block of FRB ≤ 4 rows × FPB ≤ 8 pixels and four output channels
// 4·o4..4·o4+3 (the eight channel groups of a block are neighbouring invocations); for each
// input channel it walks the FRB+KH-1 rows of x the block reads (x_pass), loads each row's
// FPB+KW-1 values once and applies them to every block row they reach (kh = i-r): on a 4 × 7
// block each x value is loaded about three times instead of once per tap. x sits in a uniform
// window of whole images (one dispatch per window; a gather per value, where a storage load
// is a loop over the lanes), w in another. The block is smaller than input_taps's: each pixel
// holds four channels here, and more accumulators only spill.
// Bindings: 1 x (unused: read from TX), 2 bias, 3 y, 4 w (IW), 5 x's window.
@group(0) @binding(2) var<storage, read> tbias4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> ty4: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> TX: array<vec4<f32>, 4096>;

override FPB: u32 = 8u; // pixels per block row (≤ 8)
override FRB: u32 = 4u; // rows per block (≤ 4)

// x[B0 + bl, ih, iw, c] from the window; 0 outside the image (element 0 is read there).
fn x_at(bl: u32, ih: i32, iw: i32, c: u32) -> f32 {
  let inside = (ih >= 0) & (ih < i32(ip.H)) & (iw >= 0) & (iw < i32(ip.W));
  let f = select(0u, ip.XL + ((bl * ip.H + u32(ih)) * ip.W + u32(iw)) * ip.C + c, inside);
  return select(0.0, TX[f / 4u][f % 4u], inside);
}

// The FPB+KW-1 values of channel c of x row ih from column iw0 on.
fn x_row(bl: u32, ih: i32, iw0: i32, c: u32) -> array<f32, 12> {
  var v: array<f32, 12>;
  let n = FPB + IKW - 1u;
  v[0] = x_at(bl, ih, iw0, c);
  if (n > 1u) { v[1] = x_at(bl, ih, iw0 + 1, c); }
  if (n > 2u) { v[2] = x_at(bl, ih, iw0 + 2, c); }
  if (n > 3u) { v[3] = x_at(bl, ih, iw0 + 3, c); }
  if (n > 4u) { v[4] = x_at(bl, ih, iw0 + 4, c); }
  if (n > 5u) { v[5] = x_at(bl, ih, iw0 + 5, c); }
  if (n > 6u) { v[6] = x_at(bl, ih, iw0 + 6, c); }
  if (n > 7u) { v[7] = x_at(bl, ih, iw0 + 7, c); }
  if (n > 8u) { v[8] = x_at(bl, ih, iw0 + 8, c); }
  if (n > 9u) { v[9] = x_at(bl, ih, iw0 + 9, c); }
  if (n > 10u) { v[10] = x_at(bl, ih, iw0 + 10, c); }
  if (n > 11u) { v[11] = x_at(bl, ih, iw0 + 11, c); }
  return v;
}

// Pixel j of block row r (acc[8r + j]): Σ_kw x(column j+kw) · w(kh, kw).
fn fwd_px(acc: ptr<function, array<vec4<f32>, 32>>, r: u32, j: u32, v: array<f32, 12>,
          w: array<vec4<f32>, 25>, kh: u32) {
  if (j >= FPB) { return; }
  let t = kh * IKW;
  var s = (*acc)[8u * r + j] + v[j] * w[t];
  if (IKW > 1u) { s += v[j + 1u] * w[t + 1u]; }
  if (IKW > 2u) { s += v[j + 2u] * w[t + 2u]; }
  if (IKW > 3u) { s += v[j + 3u] * w[t + 3u]; }
  if (IKW > 4u) { s += v[j + 4u] * w[t + 4u]; }
  (*acc)[8u * r + j] = s;
}

// Block row r takes x row i with the taps of row kh = i - r, when that row exists.
fn fwd_row(acc: ptr<function, array<vec4<f32>, 32>>, r: u32, v: array<f32, 12>, i: u32,
           w: array<vec4<f32>, 25>) {
  if (r >= FRB || i < r || i >= r + IKH) { return; }
  let kh = i - r;
  fwd_px(acc, r, 0u, v, w, kh);
  fwd_px(acc, r, 1u, v, w, kh);
  fwd_px(acc, r, 2u, v, w, kh);
  fwd_px(acc, r, 3u, v, w, kh);
  fwd_px(acc, r, 4u, v, w, kh);
  fwd_px(acc, r, 5u, v, w, kh);
  fwd_px(acc, r, 6u, v, w, kh);
  fwd_px(acc, r, 7u, v, w, kh);
}

// x row i of the block (row ih0 + i), applied to every block row it reaches.
fn x_pass(acc: ptr<function, array<vec4<f32>, 32>>, i: u32, bl: u32, ih0: i32, iw0: i32, c: u32,
          w: array<vec4<f32>, 25>) {
  if (i >= FRB + IKH - 1u) { return; }
  let v = x_row(bl, ih0 + i32(i), iw0, c);
  fwd_row(acc, 0u, v, i, w);
  fwd_row(acc, 1u, v, i, w);
  fwd_row(acc, 2u, v, i, w);
  fwd_row(acc, 3u, v, i, w);
}

// Pixel j of a block row, stored with the bias when inside the block and the image.
fn fwd_put(v: vec4<f32>, base: u32, ow: u32, j: u32, o4: u32) {
  if (j < FPB && ow < ip.OW) { ty4[(base + ow) * ip.O4 + o4] = v; }
}

// Stores block row r.
fn fwd_store(acc: array<vec4<f32>, 32>, r: u32, b: u32, oh: u32, ow0: u32, o4: u32, bv: vec4<f32>) {
  if (r >= FRB || oh >= ip.OH) { return; }
  let base = (b * ip.OH + oh) * ip.OW;
  fwd_put(acc[8u * r + 0u] + bv, base, ow0 + 0u, 0u, o4);
  fwd_put(acc[8u * r + 1u] + bv, base, ow0 + 1u, 1u, o4);
  fwd_put(acc[8u * r + 2u] + bv, base, ow0 + 2u, 2u, o4);
  fwd_put(acc[8u * r + 3u] + bv, base, ow0 + 3u, 3u, o4);
  fwd_put(acc[8u * r + 4u] + bv, base, ow0 + 4u, 4u, o4);
  fwd_put(acc[8u * r + 5u] + bv, base, ow0 + 5u, 5u, o4);
  fwd_put(acc[8u * r + 6u] + bv, base, ow0 + 6u, 6u, o4);
  fwd_put(acc[8u * r + 7u] + bv, base, ow0 + 7u, 7u, o4);
}

@compute @workgroup_size(64)
fn forward_taps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let u = linear_index(wid, nwg, lid);
  if (u >= ip.units) { return; }
  // neighbouring invocations: the channel groups of one block (the same x)
  let o4 = u % ip.O4;
  var q = u / ip.O4;
  let ow0 = (q % ip.bw) * FPB;
  q = q / ip.bw;
  let oh0 = (q % ip.bh) * FRB;
  let bl = q / ip.bh;
  let b = ip.B0 + bl;
  let ih0 = i32(oh0) - ip.PT;
  let iw0 = i32(ow0) - ip.PL;
  var acc: array<vec4<f32>, 32>;
  for (var c = 0u; c < ip.C; c++) {
    let w = w_taps(c, o4);
    x_pass(&acc, 0u, bl, ih0, iw0, c, w);
    x_pass(&acc, 1u, bl, ih0, iw0, c, w);
    x_pass(&acc, 2u, bl, ih0, iw0, c, w);
    x_pass(&acc, 3u, bl, ih0, iw0, c, w);
    x_pass(&acc, 4u, bl, ih0, iw0, c, w);
    x_pass(&acc, 5u, bl, ih0, iw0, c, w);
    x_pass(&acc, 6u, bl, ih0, iw0, c, w);
    x_pass(&acc, 7u, bl, ih0, iw0, c, w);
  }
  var bv = vec4<f32>(0.0);
  if (BIAS) { bv = tbias4[o4]; }
  fwd_store(acc, 0u, b, oh0, ow0, o4, bv);
  fwd_store(acc, 1u, b, oh0 + 1u, ow0, o4, bv);
  fwd_store(acc, 2u, b, oh0 + 2u, ow0, o4, bv);
  fwd_store(acc, 3u, b, oh0 + 3u, ow0, o4, bv);
}
