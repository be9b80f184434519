// The gy readers of conv2d.wgsl from gy's storage buffer at binding 1, prepended to it where the
// device profile reads streamed operands in place (as GPUs do natively).
@group(0) @binding(1) var<storage, read> gy4: array<vec4<f32>>;

// filter_taps, filter_rows: floats 4i..4i+3 of gy.
fn gy_texel(i: u32) -> vec4<f32> {
  return gy4[i];
}

// input_taps: floats 4t..4t+3 of gy.
fn input_gy(t: u32) -> vec4<f32> {
  return gy4[t];
}
