// The L reader of gemm.wgsl from texels (prepended to it where the device profile reads L from a
// texel copy, Runtime.texels): on llvmpipe a texel fetch at a lane-varying address costs about a
// seventh of a storage vec4 load (a loop over the lanes per component), and the entries that read
// four neighbouring values of L at a time (the _vk ones, conv_input_seg) take them from one
// texel. (Binding 8 is XW in conv_forward_xw, which reads x from there and has no LT.)
@group(0) @binding(8) var LT: texture_2d<f32>;

// Texel i of LT: floats 4i..4i+3 of L's buffer.
fn l_texel(i: u32) -> vec4<f32> {
  return texel_at(LT, p.TS, i);
}
