// Reductions (sum, max, min by the pipeline constant OP) over a set of axes.
// The input is described as kept dimensions (kshape/kstride, row-major over the output) and
// reduced dimensions (rshape/rstride); out[o] = alpha * reduce_j x[base(o) + offset(j)].
// `per_thread` gives each output one invocation; `per_group` gives it a workgroup of 64.

struct Params {
  n_out: u32, n_red: u32, krank: u32, rrank: u32,
  kshape: array<vec4<u32>, 2>,
  kstride: array<vec4<u32>, 2>,
  rshape: array<vec4<u32>, 2>,
  rstride: array<vec4<u32>, 2>,
  alpha: f32,
  chunk: u32, // per_group: reduced elements per workgroup; 0 = all of them
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override OP: u32;
// the values of OP (REDUCE in src/ops/codes.ts)
const OP_SUM = 0u;
const OP_MAX = 1u;
const OP_MIN = 2u;

fn identity() -> f32 {
  switch (OP) {
    case OP_MAX: { return -3.402823e38; }
    case OP_MIN: { return 3.402823e38; }
    default: { return 0.0; }
  }
}

fn combine(u: f32, v: f32) -> f32 {
  switch (OP) {
    case OP_MAX: { return max(u, v); }
    case OP_MIN: { return min(u, v); }
    default: { return u + v; }
  }
}

fn base_of(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var d = i32(p.krank) - 1; d >= 0; d--) {
    let dim = at8(p.kshape, u32(d));
    off += (rem % dim) * at8(p.kstride, u32(d));
    rem = rem / dim;
  }
  return off;
}

fn offset_of(j: u32) -> u32 {
  var rem = j;
  var off = 0u;
  for (var d = i32(p.rrank) - 1; d >= 0; d--) {
    let dim = at8(p.rshape, u32(d));
    off += (rem % dim) * at8(p.rstride, u32(d));
    rem = rem / dim;
  }
  return off;
}

@compute @workgroup_size(64)
fn per_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let o = linear_index(wid, nwg, lid);
  if (o >= p.n_out) { return; }
  let base = base_of(o);
  var acc = identity();
  if (p.rrank == 1u) {
    let s = p.rstride[0].x;
    for (var j = 0u; j < p.n_red; j++) { acc = combine(acc, x[base + j * s]); }
  } else {
    for (var j = 0u; j < p.n_red; j++) { acc = combine(acc, x[base + offset_of(j)]); }
  }
  out[o] = p.alpha * acc;
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn per_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  // Workgroup g reduces chunk g % n_chunks of output g / n_chunks into out[g], so that no
  // invocation loops more than chunk / 64 times: llvmpipe ends shader loops after 65535
  // iterations (shared by nested loops), which silently truncated long reductions.
  let g = linear_group(wid, nwg);
  let len = select(p.n_red, p.chunk, p.chunk != 0u);
  let n_chunks = (p.n_red + len - 1u) / len;
  let o = g / n_chunks;
  let j0 = (g % n_chunks) * len;
  let j1 = min(j0 + len, p.n_red);
  let live = o < p.n_out;
  var acc = identity();
  if (live) {
    let base = base_of(o);
    if (p.rrank == 1u) {
      let s = p.rstride[0].x;
      for (var j = j0 + lid; j < j1; j += 64u) { acc = combine(acc, x[base + j * s]); }
    } else {
      for (var j = j0 + lid; j < j1; j += 64u) { acc = combine(acc, x[base + offset_of(j)]); }
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && live) { out[g] = p.alpha * partial[0]; }
}

// sum_rows: partial sums over chunks of `chunk` rows of x as [rows, 4·C4] (vec4 columns):
// out4[q·C4 + c] = Σ_{r in chunk q} x[r·C4 + c] (vec4 index). Neighbouring invocations read
// neighbouring vec4s; the caller then adds up the partial sums. x is read as texels of a copy of
// its buffer (XT, Runtime.texels): on llvmpipe a texel fetch costs about a seventh of a storage
// vec4 load (a per-lane loop per component there).
struct RowsParams { n_out: u32, rows: u32, C4: u32, chunk: u32, TS: u32 }
@group(0) @binding(0) var<uniform> rp: RowsParams;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(3) var XT: texture_2d<f32>;

@compute @workgroup_size(64)
fn sum_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let e = linear_index(wid, nwg, lid);
  if (e >= rp.n_out) { return; }
  let q = e / rp.C4;
  let c = e % rp.C4;
  let r1 = min((q + 1u) * rp.chunk, rp.rows);
  var acc = vec4<f32>(0.0);
  for (var r = q * rp.chunk; r < r1; r++) { acc += texel_at(XT, rp.TS, r * rp.C4 + c); }
  out4[e] = acc;
}
