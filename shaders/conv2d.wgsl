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
