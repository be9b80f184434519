// Prelude shared by every kernel family (prepended by src/gpu/runtime.ts).
// Binding 0 of every kernel is its parameter block in the uniform arena.

const WG: u32 = 64u;

// Linear invocation index of a one-dimensional kernel whose workgroups were spread over up to
// three dispatch dimensions (see Runtime.grid).
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * WG + lid;
}

// Linear workgroup index, for kernels that give one workgroup to each output.
fn linear_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
}

// Texel i of a copy made by Runtime.texels (an rgba32float texture 2^shift texels wide): floats
// 4i..4i+3 of the copied buffer.
fn texel_at(t: texture_2d<f32>, shift: u32, i: u32) -> vec4<f32> {
  return textureLoad(t, vec2<u32>(i & ((1u << shift) - 1u), i >> shift), 0);
}

// Component `i` (0..7) of an eight-entry array packed as two vec4s.
fn at8(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}
