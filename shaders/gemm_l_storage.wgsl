// The L reader of gemm.wgsl from its storage buffer (prepended to it where the device profile
// reads L in place, as GPUs do natively): vec4 i holds floats 4i..4i+3 of L's buffer.
@group(0) @binding(1) var<storage, read> L4: array<vec4<f32>>;

// Floats 4i..4i+3 of L's buffer.
fn l_texel(i: u32) -> vec4<f32> {
  return L4[i];
}
