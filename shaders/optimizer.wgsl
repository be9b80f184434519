// In-place optimiser updates over n parameters.
//   adam:     m = b1·m + (1−b1)·g;  v = b2·v + (1−b2)·g²;  θ −= lr_t·m / (sqrt(v) + eps)
//   momentum: acc = mu·acc + g;  θ −= lr·acc

// Both work on four parameters per invocation (n4 = ceil(n / 4) vec4s; buffers hold whole
// vec4s, and the lanes past n update padding that no tensor reads). They read g, θ and the
// slots from texel copies of their buffers (Runtime.texels, width 2^TS) and write the buffers:
// on llvmpipe a texel fetch costs about a seventh of a storage vec4 load (a per-lane loop per
// component there). The copies are bound after the storage buffers, in the order g, θ, slots.

struct Params { n4: u32, TS: u32, _p1: u32, _p2: u32, lr: f32, b1: f32, b2: f32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read_write> theta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> s1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> s2: array<vec4<f32>>;
// adam's copies (after its four buffers)
@group(0) @binding(5) var AG: texture_2d<f32>;
@group(0) @binding(6) var AT: texture_2d<f32>;
@group(0) @binding(7) var AS1: texture_2d<f32>;
@group(0) @binding(8) var AS2: texture_2d<f32>;
// momentum's copies (after its three buffers)
@group(0) @binding(4) var MG: texture_2d<f32>;
@group(0) @binding(5) var MT: texture_2d<f32>;
@group(0) @binding(6) var MS1: texture_2d<f32>;

@compute @workgroup_size(64)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n4) { return; }
  let gi = texel_at(AG, p.TS, i);
  let m = p.b1 * texel_at(AS1, p.TS, i) + (1.0 - p.b1) * gi;
  let v = p.b2 * texel_at(AS2, p.TS, i) + (1.0 - p.b2) * gi * gi;
  s1[i] = m;
  s2[i] = v;
  theta[i] = texel_at(AT, p.TS, i) - p.lr * m / (sqrt(v) + p.eps);
}

// b1 holds the momentum mu.
@compute @workgroup_size(64)
fn momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n4) { return; }
  let acc = p.b1 * texel_at(MS1, p.TS, i) + texel_at(MG, p.TS, i);
  s1[i] = acc;
  theta[i] = texel_at(MT, p.TS, i) - p.lr * acc;
}
