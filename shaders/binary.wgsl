// Elementwise binary operations with broadcasting: out = f(a, b). The operation is the
// pipeline constant OP. When SAME is true both inputs have the output's shape; otherwise the
// output index is decomposed over `shape` (rank <= 8) and mapped through the input strides
// `sa`, `sb` (0 on broadcast dimensions).

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override OP: u32;
override SAME: bool = false;

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
    default: { return u; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  if (SAME) {
    out[i] = apply(a[i], b[i]);
    return;
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
