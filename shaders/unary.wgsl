// Elementwise unary operations: y = f(x). The operation is the pipeline constant OP.
// Parameters: n elements, two scalars alpha and beta used by some operations. `main4` does
// four elements per invocation (n a multiple of 4), and `main4_tex` does so reading x from a
// texel copy (XT, Runtime.texels) where the device profile asks for it: on llvmpipe a storage vec4
// load is a loop over the lanes per component (measured in bench/RESULTS.md, "Kernel choices and their measurements").

struct Params { n: u32, alpha: f32, beta: f32, TS: u32 } // TS: log2 of XT's width in texels

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>; // main4's views of x, y
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(3) var XT: texture_2d<f32>; // main4_tex's x

override OP: u32;
// the values of OP (UNARY in src/ops/codes.ts)
const OP_NEG = 0u;
const OP_ABS = 1u;
const OP_SIGN = 2u;
const OP_EXP = 3u;
const OP_LOG = 4u;
const OP_SQRT = 5u;
const OP_RELU = 6u;
const OP_STEP = 7u;
const OP_LEAKY_RELU = 8u;
const OP_LEAKY_STEP = 9u;
const OP_SOFTPLUS = 10u;
const OP_SIGMOID = 11u;
const OP_AFFINE = 12u;
const OP_CLIP = 13u;
const OP_INSIDE = 14u;
const OP_SQUARE = 15u;
const OP_RECIPROCAL = 16u;
const OP_FLOOR = 17u;

// log(1 + u) accurate for small u.
fn log1p(u: f32) -> f32 {
  let v = 1.0 + u;
  if (v == 1.0) { return u; }
  return log(v) * u / (v - 1.0);
}

fn softplus(v: f32) -> f32 {
  return max(v, 0.0) + log1p(exp(-abs(v)));
}

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}

fn apply(v: f32) -> f32 {
  switch (OP) {
    case OP_NEG: { return -v; }
    case OP_ABS: { return abs(v); }
    case OP_SIGN: { return sign(v); }
    case OP_EXP: { return exp(v); }
    case OP_LOG: { return log(v); }
    case OP_SQRT: { return sqrt(v); }
    case OP_RELU: { return max(v, 0.0); }
    case OP_STEP: { return select(0.0, 1.0, v > 0.0); }
    case OP_LEAKY_RELU: { return select(p.alpha * v, v, v >= 0.0); }
    case OP_LEAKY_STEP: { return select(p.alpha, 1.0, v > 0.0); }
    case OP_SOFTPLUS: { return softplus(v); }
    case OP_SIGMOID: { return sigmoid(v); }
    case OP_AFFINE: { return p.alpha * v + p.beta; }
    case OP_CLIP: { return clamp(v, p.alpha, p.beta); }
    case OP_INSIDE: { return select(0.0, 1.0, v >= p.alpha && v <= p.beta); }
    case OP_SQUARE: { return v * v; }
    case OP_RECIPROCAL: { return 1.0 / v; }
    case OP_FLOOR: { return floor(v); }
    default: { return v; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  y[i] = apply(x[i]);
}

@compute @workgroup_size(64)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n / 4u) { return; }
  y4[q] = apply4(x4[q]);
}

@compute @workgroup_size(64)
fn main4_tex(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let q = linear_index(wid, nwg, lid);
  if (q >= p.n / 4u) { return; }
  y4[q] = apply4(texel_at(XT, p.TS, q));
}

fn apply4(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
}
