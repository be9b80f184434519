// Row-wise kernels over a [rows, cols] matrix (last axis): softmax, log-softmax, arg-max,
// one-hot encoding of integer labels, constant fill and hashed uniform random numbers.

struct Params { n: u32, rows: u32, cols: u32, seed: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> idx_out: array<i32>;
@group(0) @binding(1) var<storage, read_write> fill_out: array<f32>;

fn row_max(base: u32) -> f32 {
  var m = x[base];
  for (var j = 1u; j < p.cols; j++) { m = max(m, x[base + j]); }
  return m;
}

@compute @workgroup_size(64)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let r = linear_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let m = row_max(base);
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(x[base + j] - m); }
  for (var j = 0u; j < p.cols; j++) { y[base + j] = exp(x[base + j] - m) / s; }
}

@compute @workgroup_size(64)
fn log_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let r = linear_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let m = row_max(base);
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(x[base + j] - m); }
  let lse = m + log(s);
  for (var j = 0u; j < p.cols; j++) { y[base + j] = x[base + j] - lse; }
}

// First index of the row maximum.
@compute @workgroup_size(64)
fn argmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let r = linear_index(wid, nwg, lid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var best = 0u;
  var m = x[base];
  for (var j = 1u; j < p.cols; j++) {
    if (x[base + j] > m) { m = x[base + j]; best = j; }
  }
  idx_out[r] = i32(best);
}

// y[r, j] = alpha if labels[r] == j else beta.
@compute @workgroup_size(64)
fn one_hot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let r = i / p.cols;
  let j = i % p.cols;
  y[i] = select(p.beta, p.alpha, labels[r] == i32(j));
}

@compute @workgroup_size(64)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  fill_out[i] = p.alpha;
}

// The engine's integer hash (hash01 in src/io/hash.ts): uniform in [0, 1).
fn hash01(s: u32, i: u32) -> f32 {
  var h = i * 0x9E3779B1u + s * 0x85EBCA77u;
  h ^= h >> 15u;
  h *= 0x2C1B3C6Du;
  h ^= h >> 12u;
  h *= 0x297A2D39u;
  h ^= h >> 15u;
  return f32(h >> 8u) / 16777216.0;
}

// Uniform random numbers in [alpha, beta) from (seed, element index).
@compute @workgroup_size(64)
fn random_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  fill_out[i] = p.alpha + (p.beta - p.alpha) * hash01(p.seed, i);
}

// Normal random numbers (Box–Muller on hashed uniforms) with mean alpha and deviation beta;
// when `cols` is 1, values beyond two deviations are redrawn (a truncated normal).
@compute @workgroup_size(64)
fn random_normal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  var z = 0.0;
  for (var r = 0u; r < 64u; r++) {
    let j = 2u * (i + r * p.n);
    let u1 = hash01(p.seed, j);
    let u2 = hash01(p.seed, j + 1u);
    z = sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
    if (p.cols == 0u || abs(z) <= 2.0) { break; }
  }
  fill_out[i] = p.alpha + p.beta * z;
}

// 1 for the `seed` (= k) largest entries of each row, else 0; ties go to the lower index.
@compute @workgroup_size(64)
fn topk_mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let r = i / p.cols;
  let j = i % p.cols;
  let base = r * p.cols;
  let v = x[i];
  var rank = 0u;
  for (var t = 0u; t < p.cols; t++) {
    let u = x[base + t];
    if (u > v || (u == v && t < j)) { rank++; }
  }
  y[i] = select(0.0, 1.0, rank < p.seed);
}
