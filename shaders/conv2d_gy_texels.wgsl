// The gy readers of conv2d.wgsl from texel copies (Runtime.texels), prepended to it where the
// device profile reads streamed operands from texels: FGT for filter_taps and filter_rows, GYT for
// input_taps.
@group(0) @binding(4) var FGT: texture_2d<f32>;
@group(0) @binding(5) var GYT: texture_2d<f32>;

// filter_taps, filter_rows: floats 4i..4i+3 of gy.
fn gy_texel(i: u32) -> vec4<f32> {
  return texel_at(FGT, fp.TS, i);
}

// input_taps: floats 4t..4t+3 of gy.
fn input_gy(t: u32) -> vec4<f32> {
  return texel_at(GYT, ip.TS, t);
}
