// Data movement: strided copies (broadcast, slice, transpose) and zero padding.
// `copy`: out[i] = x[offset + sum_d idx_d * a_d] with idx the index of i in `shape`.
// `pad`:  out[i] = x[idx - a] when 0 <= idx_d - a_d < b_d for all d, else 0 (a = before, b = input shape).

struct Params {
  n: u32, rank: u32, offset: u32, _p: u32,
  shape: array<vec4<u32>, 2>,
  a: array<vec4<u32>, 2>,
  b: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  var rem = i;
  var src = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = at8(p.shape, u32(d));
    src += (rem % dim) * at8(p.a, u32(d));
    rem = rem / dim;
  }
  out[i] = x[src];
}

@compute @workgroup_size(64)
fn pad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  var rem = i;
  var src = 0u;
  var stride = 1u;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = at8(p.shape, u32(d));
    let idx = i32(rem % dim) - i32(at8(p.a, u32(d)));
    rem = rem / dim;
    let n_in = at8(p.b, u32(d));
    if (idx < 0 || idx >= i32(n_in)) { inside = false; }
    src += u32(max(idx, 0)) * stride;
    stride *= n_in;
  }
  out[i] = select(0.0, x[src], inside);
}
