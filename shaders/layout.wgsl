// Data movement: strided copies (broadcast, slice, transpose) and zero padding.
// `copy`: out[i] = x[offset + sum_d idx_d * a_d] with idx the index of i in `shape`.
// `pad`:  out[i] = x[idx - a] when 0 <= idx_d - a_d < b_d for all d, else 0 (a = before, b = input shape).
// `tile4`, `blocks4`: two broadcasts four elements at a time, without decomposing indices:
// x repeated over leading dimensions, or each element of x over a block of trailing ones.
// `transpose4`: out[j·I + i] = x[i·a0 + j], 4 × 4 blocks at a time; `transpose4_tex` the same
// reading x from a texel copy (XT, Runtime.texels) where the device profile asks for it
// (measured in bench/RESULTS.md, "Kernel choices and their measurements").

struct Params {
  n: u32, rank: u32, offset: u32, TS: u32, // TS: log2 of XT's width in texels
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

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

// out4[q] = x4[q % offset]: x (offset vec4) repeated; n counts vec4 here
@compute @workgroup_size(64)
fn tile4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n) { return; }
  out4[q] = x4[q % p.offset];
}

// out4[q] = x[4q / offset] in every lane: each element of x over a block of `offset` elements
// (a multiple of 4); n counts vec4 here
@compute @workgroup_size(64)
fn blocks4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n) { return; }
  out4[q] = vec4<f32>(x[4u * q / p.offset]);
}

// out = xᵀ for x [I, J] with rows of a0 floats (shape = (I, J), a0 = a[0].x; I and a0 multiples
// of 4): each invocation moves a 4 × 4 block with four vec4 loads and up to four vec4 stores,
// where `copy` makes 16 scalar loads and stores with an index decomposition each. Neighbouring
// invocations take neighbouring blocks of an output row; n counts blocks.
@compute @workgroup_size(64)
fn transpose4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let b = block4(q);
  put_block4(b, x4[b.src], x4[b.src + b.s], x4[b.src + 2u * b.s], x4[b.src + 3u * b.s]);
}

@group(0) @binding(3) var XT: texture_2d<f32>;

@compute @workgroup_size(64)
fn transpose4_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let b = block4(q);
  put_block4(b, texel_at(XT, p.TS, b.src), texel_at(XT, p.TS, b.src + b.s),
             texel_at(XT, p.TS, b.src + 2u * b.s), texel_at(XT, p.TS, b.src + 3u * b.s));
}

// Block q of transpose4: its first input vec4 (src), the input row stride in vec4 (s), its
// block row (bi) and first output row (j0).
struct Block4 { src: u32, s: u32, bi: u32, j0: u32 }

fn block4(q: u32) -> Block4 {
  let I4 = p.shape[0].x / 4u;
  let s = p.a[0].x / 4u;
  let bi = q % I4;
  let j0 = 4u * (q / I4);
  return Block4(4u * bi * s + j0 / 4u, s, bi, j0);
}

// The stores of block b from its input rows r0..r3.
fn put_block4(b: Block4, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) {
  let I4 = p.shape[0].x / 4u;
  let J = p.shape[0].y;
  let j0 = b.j0;
  out4[j0 * I4 + b.bi] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
  if (j0 + 1u < J) { out4[(j0 + 1u) * I4 + b.bi] = vec4<f32>(r0.y, r1.y, r2.y, r3.y); }
  if (j0 + 2u < J) { out4[(j0 + 2u) * I4 + b.bi] = vec4<f32>(r0.z, r1.z, r2.z, r3.z); }
  if (j0 + 3u < J) { out4[(j0 + 3u) * I4 + b.bi] = vec4<f32>(r0.w, r1.w, r2.w, r3.w); }
}
