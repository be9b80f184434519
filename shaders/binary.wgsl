// Elementwise binary operations with broadcasting: out = f(a, b). The operation is the
// pipeline constant OP. MODE selects the indexing: 0 general (the output index is decomposed
// over `shape`, rank <= 8, and mapped through the input strides `sa`, `sb`, 0 on broadcast
// dimensions); 1 both inputs have the output's shape; 2 a has it and b repeats over the
// trailing `period` elements (e.g. a bias); 3 a has it and b is constant over blocks of
// `period` elements (e.g. per-image scalars); 4 and 5 the same with a and b swapped; 6 an outer
// combination: a constant over blocks of `period` elements and b repeating over them (e.g.
// per-path-point coefficients times a batch of images), 7 the same with a and b swapped.
// `main4` computes four elements per invocation in modes 1–7 (n and period multiples of 4):
// on a software adapter every storage access costs about the same for one float or four.
// `main4_tex` (modes 1–5) and `main4_tex2` (mode 1) do the same reading the inputs of the
// output's size from texel copies (T0, T1; Runtime.texels), which on llvmpipe made large
// operations 2.6-2.8x faster, copies included: a storage vec4 load there is a loop over the lanes
// per component.

struct Params {
  n: u32, rank: u32, period: u32, TS: u32, // TS: log2 of T0's and T1's width in texels
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>; // main4's views of a, b, out
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
// main4_tex: T0 is a in modes 1–3, b in modes 4 and 5; main4_tex2: T0 is a and T1 is b.
@group(0) @binding(4) var T0: texture_2d<f32>;
@group(0) @binding(5) var T1: texture_2d<f32>;

override OP: u32;
override MODE: u32 = 0u;

fn apply(u: f32, v: f32) -> f32 {
  switch (OP) {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return max(u, v); }
    case 5u: { return min(u, v); }
    case 6u: { return select(0.0, 1.0, u > v); }
    case 7u: { return select(0.0, 1.0, u >= v); }
    case 8u: { return select(0.0, 1.0, u == v); }
    case 9u: { return select(u / v, 0.0, v == 0.0); }
    case 10u: { return select(0.0, 1.0, u < v); }
    case 11u: { return select(0.0, u, v > 0.0); } // relu's backward: u = gy, v = x
    default: { return u; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  switch (MODE) {
    case 1u: { out[i] = apply(a[i], b[i]); return; }
    case 2u: { out[i] = apply(a[i], b[i % p.period]); return; }
    case 3u: { out[i] = apply(a[i], b[i / p.period]); return; }
    case 4u: { out[i] = apply(a[i % p.period], b[i]); return; }
    case 5u: { out[i] = apply(a[i / p.period], b[i]); return; }
    case 6u: { out[i] = apply(a[i / p.period], b[i % p.period]); return; }
    case 7u: { out[i] = apply(a[i % p.period], b[i / p.period]); return; }
    default: {}
  }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = at8(p.shape, u32(d));
    let idx = rem % dim;
    rem = rem / dim;
    ia += idx * at8(p.sa, u32(d));
    ib += idx * at8(p.sb, u32(d));
  }
  out[i] = apply(a[ia], b[ib]);
}

fn apply4(u: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}

@compute @workgroup_size(64)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n / 4u) { return; }
  let i = 4u * q;
  let s = i / p.period; // modes 6 and 7: the block's scalar
  let r = (i % p.period) / 4u; // modes 6 and 7: the repeating input's vec4
  switch (MODE) {
    case 1u: { out4[q] = apply4(a4[q], b4[q]); }
    case 2u, 3u: { out4[q] = with_full(q, a4[q]); }
    case 4u, 5u: { out4[q] = with_full(q, b4[q]); }
    case 6u: { out4[q] = apply4(vec4<f32>(a4[s / 4u][s % 4u]), b4[r]); }
    case 7u: { out4[q] = apply4(a4[r], vec4<f32>(b4[s / 4u][s % 4u])); }
    default: {}
  }
}

@compute @workgroup_size(64)
fn main4_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n / 4u) { return; }
  out4[q] = with_full(q, texel_at(T0, p.TS, q));
}

// Modes 2–5, vec4 q of the output: f, the vec4 q of the input of the output's size (a in modes 2
// and 3, b in 4 and 5), combined with the other input's repeating vec4 (2, 4) or block scalar
// (3, 5).
fn with_full(q: u32, f: vec4<f32>) -> vec4<f32> {
  let i = 4u * q;
  let s = i / p.period;
  let r = (i % p.period) / 4u;
  switch (MODE) {
    case 2u: { return apply4(f, b4[r]); }
    case 3u: { return apply4(f, vec4<f32>(b4[s / 4u][s % 4u])); }
    case 4u: { return apply4(a4[r], f); }
    case 5u: { return apply4(vec4<f32>(a4[s / 4u][s % 4u]), f); }
    default: { return f; }
  }
}

@compute @workgroup_size(64)
fn main4_tex2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n / 4u) { return; }
  out4[q] = apply4(texel_at(T0, p.TS, q), texel_at(T1, p.TS, q));
}
