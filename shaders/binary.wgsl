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
// output's size from texel copies (T0, T1; Runtime.texels) where the device profile asks for them:
// on llvmpipe a storage vec4 load is a loop over the lanes per component
// (measured in bench/RESULTS.md, "Kernel choices and their measurements").

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
// the values of OP (BINARY in src/ops/codes.ts)
const OP_ADD = 0u;
const OP_SUB = 1u;
const OP_MUL = 2u;
const OP_DIV = 3u;
const OP_MAXIMUM = 4u;
const OP_MINIMUM = 5u;
const OP_GREATER = 6u;
const OP_GREATER_EQUAL = 7u;
const OP_EQUAL = 8u;
const OP_DIV_NO_NAN = 9u;
const OP_LESS = 10u;
const OP_RELU_GRAD = 11u;
// the values of MODE (BINARY_MODE in src/ops/codes.ts)
const MODE_GENERAL = 0u;
const MODE_SAME = 1u;
const MODE_B_REPEATS = 2u;
const MODE_B_BLOCKS = 3u;
const MODE_A_REPEATS = 4u;
const MODE_A_BLOCKS = 5u;
const MODE_A_BLOCKS_B_REPEATS = 6u;
const MODE_A_REPEATS_B_BLOCKS = 7u;

fn apply(u: f32, v: f32) -> f32 {
  switch (OP) {
    case OP_ADD: { return u + v; }
    case OP_SUB: { return u - v; }
    case OP_MUL: { return u * v; }
    case OP_DIV: { return u / v; }
    case OP_MAXIMUM: { return max(u, v); }
    case OP_MINIMUM: { return min(u, v); }
    case OP_GREATER: { return select(0.0, 1.0, u > v); }
    case OP_GREATER_EQUAL: { return select(0.0, 1.0, u >= v); }
    case OP_EQUAL: { return select(0.0, 1.0, u == v); }
    case OP_DIV_NO_NAN: { return select(u / v, 0.0, v == 0.0); }
    case OP_LESS: { return select(0.0, 1.0, u < v); }
    case OP_RELU_GRAD: { return select(0.0, u, v > 0.0); } // relu's backward: u = gy, v = x
    default: { return u; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  switch (MODE) {
    case MODE_SAME: { out[i] = apply(a[i], b[i]); return; }
    case MODE_B_REPEATS: { out[i] = apply(a[i], b[i % p.period]); return; }
    case MODE_B_BLOCKS: { out[i] = apply(a[i], b[i / p.period]); return; }
    case MODE_A_REPEATS: { out[i] = apply(a[i % p.period], b[i]); return; }
    case MODE_A_BLOCKS: { out[i] = apply(a[i / p.period], b[i]); return; }
    case MODE_A_BLOCKS_B_REPEATS: { out[i] = apply(a[i / p.period], b[i % p.period]); return; }
    case MODE_A_REPEATS_B_BLOCKS: { out[i] = apply(a[i % p.period], b[i / p.period]); return; }
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
    case MODE_SAME: { out4[q] = apply4(a4[q], b4[q]); }
    case MODE_B_REPEATS, MODE_B_BLOCKS: { out4[q] = with_full(q, a4[q]); }
    case MODE_A_REPEATS, MODE_A_BLOCKS: { out4[q] = with_full(q, b4[q]); }
    case MODE_A_BLOCKS_B_REPEATS: { out4[q] = apply4(vec4<f32>(a4[s / 4u][s % 4u]), b4[r]); }
    case MODE_A_REPEATS_B_BLOCKS: { out4[q] = apply4(a4[r], vec4<f32>(b4[s / 4u][s % 4u])); }
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
    case MODE_B_REPEATS: { return apply4(f, b4[r]); }
    case MODE_B_BLOCKS: { return apply4(f, vec4<f32>(b4[s / 4u][s % 4u])); }
    case MODE_A_REPEATS: { return apply4(a4[r], f); }
    case MODE_A_BLOCKS: { return apply4(vec4<f32>(a4[s / 4u][s % 4u]), f); }
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
