// C[M,N] = op(A) · op(B) (+ bias[N]), op = optional transpose (pipeline constants TA, TB).
// A is [M,K] (or [K,M] when TA), B is [K,N] (or [N,K] when TB). Each invocation computes a
// 4×4 register block; a workgroup of 64 covers a 32×32 tile of C.

struct Params { M: u32, N: u32, K: u32, tiles_n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

override TA: bool = false;
override TB: bool = false;
override BIAS: bool = false;

fn load_a(i: u32, k: u32) -> f32 {
  if (TA) { return A[k * p.M + i]; }
  return A[i * p.K + k];
}

fn load_b(k: u32, j: u32) -> f32 {
  if (TB) { return B[j * p.K + k]; }
  return B[k * p.N + j];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = linear_group(wid, nwg);
  let r0 = (g / p.tiles_n) * 32u + (lid / 8u) * 4u;
  let c0 = (g % p.tiles_n) * 32u + (lid % 8u) * 4u;
  if (r0 >= p.M || c0 >= p.N) { return; }
  let r = min(vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u), vec4<u32>(p.M - 1u));
  let c = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(p.N - 1u));
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let a = vec4<f32>(load_a(r.x, k), load_a(r.y, k), load_a(r.z, k), load_a(r.w, k));
    let b = vec4<f32>(load_b(k, c.x), load_b(k, c.y), load_b(k, c.z), load_b(k, c.w));
    acc0 += a.x * b;
    acc1 += a.y * b;
    acc2 += a.z * b;
    acc3 += a.w * b;
  }
  var bv = vec4<f32>(0.0);
  if (BIAS) { bv = vec4<f32>(bias[c.x], bias[c.y], bias[c.z], bias[c.w]); }
  let rows = array<vec4<f32>, 4>(acc0 + bv, acc1 + bv, acc2 + bv, acc3 + bv);
  for (var i = 0u; i < 4u; i++) {
    if (r0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (c0 + j < p.N) { C[(r0 + i) * p.N + c0 + j] = rows[i][j]; }
    }
  }
}
