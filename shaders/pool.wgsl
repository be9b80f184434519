// 2-D pooling over NHWC with a K×K window, stride S and TensorFlow padding (PT/PL before).
//   max_forward:  y[o]  = max over the window (padded cells never win)
//   max_backward: gx[i] = Σ gy[o] over windows o whose first arg-max (row-major) is i
//   max_gather:   y[o]  = v[argmax(o)] (the adjoint of max_backward in its gradient argument)
//   avg_forward:  y[o]  = mean over the window's cells inside the input
//   avg_backward: gx[i] = Σ gy[o] / count(o) over windows o containing i
// With the pipeline constant RELU (the `…4` max-pool entries): relu of the max-pool, fused: the
// forward pass stores max(m, 0), the backward routes gy only where m > 0 and the gather keeps
// v only there, with m the window's maximum these kernels find anyway.

struct Params {
  B: u32, H: u32, W: u32, C: u32,
  OH: u32, OW: u32, K: u32, S: u32,
  PT: u32, PL: u32, n: u32, TS: u32, // TS: log2 of the width in texels of XT, VT (`…4` forms)
}

@group(0) @binding(0) var<uniform> p: Params;
// The window size, a pipeline constant (equal to p.K) so the window loops unroll.
override K: u32 = 2u;
override RELU: bool = false;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out1: array<f32>;
@group(0) @binding(2) var<storage, read> second: array<f32>;
@group(0) @binding(3) var<storage, read_write> out2: array<f32>;

// Input index of cell (kh, kw) of window (b, oh, ow, c), or -1 when it lies in the padding.
fn window_cell(b: u32, oh: u32, ow: u32, c: u32, kh: u32, kw: u32) -> i32 {
  let ih = i32(oh * p.S + kh) - i32(p.PT);
  let iw = i32(ow * p.S + kw) - i32(p.PL);
  if (ih < 0 || ih >= i32(p.H) || iw < 0 || iw >= i32(p.W)) { return -1; }
  return i32(((b * p.H + u32(ih)) * p.W + u32(iw)) * p.C + c);
}

// Input index of the first maximum of window (b, oh, ow, c).
fn window_argmax(b: u32, oh: u32, ow: u32, c: u32) -> u32 {
  var best = 0u;
  var m = 0.0;
  var found = false;
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(b, oh, ow, c, kh, kw);
      if (cell < 0) { continue; }
      let v = x[cell];
      if (!found || v > m) { m = v; best = u32(cell); found = true; }
    }
  }
  return best;
}

fn window_count(oh: u32, ow: u32) -> f32 {
  let h0 = max(i32(oh * p.S) - i32(p.PT), 0);
  let h1 = min(i32(oh * p.S + K) - i32(p.PT), i32(p.H));
  let w0 = max(i32(ow * p.S) - i32(p.PL), 0);
  let w1 = min(i32(ow * p.S + K) - i32(p.PL), i32(p.W));
  return f32(max(h1 - h0, 0) * max(w1 - w0, 0));
}

struct Out { b: u32, oh: u32, ow: u32, c: u32 }

fn out_coords(o: u32) -> Out {
  var r: Out;
  r.c = o % p.C;
  let q = o / p.C;
  r.ow = q % p.OW;
  let q2 = q / p.OW;
  r.oh = q2 % p.OH;
  r.b = q2 / p.OH;
  return r;
}

@compute @workgroup_size(64)
fn max_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let o = linear_index(wid, nwg, lid);
  if (o >= p.n) { return; }
  let q = out_coords(o);
  out1[o] = x[window_argmax(q.b, q.oh, q.ow, q.c)];
}

@compute @workgroup_size(64)
fn max_gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let o = linear_index(wid, nwg, lid);
  if (o >= p.n) { return; }
  let q = out_coords(o);
  out2[o] = second[window_argmax(q.b, q.oh, q.ow, q.c)];
}

@compute @workgroup_size(64)
fn max_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let c = i % p.C;
  let q = i / p.C;
  let iw = q % p.W;
  let q2 = q / p.W;
  let ih = q2 % p.H;
  let b = q2 / p.H;
  let S = i32(p.S);
  var acc = 0.0;
  for (var kh = 0u; kh < K; kh++) {
    let th = i32(ih + p.PT) - i32(kh);
    if (th < 0 || th % S != 0 || th / S >= i32(p.OH)) { continue; }
    let oh = u32(th / S);
    for (var kw = 0u; kw < K; kw++) {
      let tw = i32(iw + p.PL) - i32(kw);
      if (tw < 0 || tw % S != 0 || tw / S >= i32(p.OW)) { continue; }
      let ow = u32(tw / S);
      if (window_argmax(b, oh, ow, c) == i) {
        acc += second[((b * p.OH + oh) * p.OW + ow) * p.C + c];
      }
    }
  }
  out2[i] = acc;
}

@compute @workgroup_size(64)
fn avg_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let o = linear_index(wid, nwg, lid);
  if (o >= p.n) { return; }
  let q = out_coords(o);
  var acc = 0.0;
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(q.b, q.oh, q.ow, q.c, kh, kw);
      if (cell >= 0) { acc += x[cell]; }
    }
  }
  out1[o] = acc / window_count(q.oh, q.ow);
}

// x here is the upstream gradient gy (shape of the pooled output); out1 is gx.
@compute @workgroup_size(64)
fn avg_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let c = i % p.C;
  let q = i / p.C;
  let iw = q % p.W;
  let q2 = q / p.W;
  let ih = q2 % p.H;
  let b = q2 / p.H;
  let S = i32(p.S);
  var acc = 0.0;
  for (var kh = 0u; kh < K; kh++) {
    let th = i32(ih + p.PT) - i32(kh);
    if (th < 0 || th % S != 0 || th / S >= i32(p.OH)) { continue; }
    let oh = u32(th / S);
    for (var kw = 0u; kw < K; kw++) {
      let tw = i32(iw + p.PL) - i32(kw);
      if (tw < 0 || tw % S != 0 || tw / S >= i32(p.OW)) { continue; }
      let ow = u32(tw / S);
      acc += x[((b * p.OH + oh) * p.OW + ow) * p.C + c] / window_count(oh, ow);
    }
  }
  out1[i] = acc;
}

// max_backward for windows that tile the input exactly (K == S, every cell in one window):
// one invocation per window writes gy to its first arg-max and zero to its other cells, so
// each x value is read once instead of once per candidate window. second = gy, out2 = gx.
@compute @workgroup_size(64)
fn max_backward_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let o = linear_index(wid, nwg, lid);
  if (o >= p.n) { return; }
  let q = out_coords(o);
  let best = window_argmax(q.b, q.oh, q.ow, q.c);
  let g = second[o];
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(q.b, q.oh, q.ow, q.c, kh, kw);
      if (cell >= 0) { out2[cell] = select(0.0, g, u32(cell) == best); }
    }
  }
}

// Four channels c..c+3 per invocation (C % 4 = 0; `o4`, `i4` count vec4): one read per cell for
// four channels. The window's cells are the same for the four, each channel keeps its own first
// maximum. Padded cells read element 0 and never win (no branch around a load).
// x (and gather's v) are read as texels of a copy of the buffer (Runtime.texels): on llvmpipe a
// texel fetch costs about a seventh of a storage vec4 load, which is a per-lane loop per
// component there. XT is bound after the storage buffers: binding 3 in max_forward4 (one input),
// 4 in the others (two inputs), and VT at 5.
@group(0) @binding(2) var<storage, read_write> out14: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> second4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out24: array<vec4<f32>>;
@group(0) @binding(3) var XT3: texture_2d<f32>;
@group(0) @binding(4) var XT: texture_2d<f32>;
@group(0) @binding(5) var VT: texture_2d<f32>;

// Per channel: the vec4 index of its first maximum's cell, and the maximum.
struct Max4 { best: vec4<u32>, m: vec4<f32> }

fn window_argmax4(t: texture_2d<f32>, q: Out) -> Max4 {
  var r: Max4;
  var found = vec4<bool>(false);
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(q.b, q.oh, q.ow, q.c, kh, kw);
      let inside = cell >= 0;
      let i4 = select(0u, u32(cell) / 4u, inside);
      let v = texel_at(t, p.TS, i4);
      let take = vec4<bool>(inside) & (!found | (v > r.m));
      r.m = select(r.m, v, take);
      r.best = select(r.best, vec4<u32>(i4), take);
      found = found | vec4<bool>(inside);
    }
  }
  return r;
}

@compute @workgroup_size(64)
fn max_forward4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let o4 = linear_index(wid, nwg, lid);
  if (o4 >= p.n) { return; }
  let m = window_argmax4(XT3, out_coords(o4 * 4u)).m;
  out14[o4] = select(m, max(m, vec4<f32>(0.0)), RELU);
}

@compute @workgroup_size(64)
fn max_gather4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let o4 = linear_index(wid, nwg, lid);
  if (o4 >= p.n) { return; }
  let q = out_coords(o4 * 4u);
  let mx = window_argmax4(XT, q);
  let best = mx.best;
  var r = vec4<f32>(0.0);
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(q.b, q.oh, q.ow, q.c, kh, kw);
      let i4 = select(0u, u32(cell) / 4u, cell >= 0);
      r = select(r, texel_at(VT, p.TS, i4), (best == vec4<u32>(i4)) & vec4<bool>(cell >= 0));
    }
  }
  out24[o4] = select(r, select(vec4<f32>(0.0), r, mx.m > vec4<f32>(0.0)), RELU);
}

@compute @workgroup_size(64)
fn max_backward_tiled4(@builtin(workgroup_id) wid: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let o4 = linear_index(wid, nwg, lid);
  if (o4 >= p.n) { return; }
  let q = out_coords(o4 * 4u);
  let mx = window_argmax4(XT, q);
  let best = mx.best;
  let gy = second4[o4];
  let g = select(gy, select(vec4<f32>(0.0), gy, mx.m > vec4<f32>(0.0)), RELU);
  for (var kh = 0u; kh < K; kh++) {
    for (var kw = 0u; kw < K; kw++) {
      let cell = window_cell(q.b, q.oh, q.ow, q.c, kh, kw);
      if (cell >= 0) {
        let i4 = u32(cell) / 4u;
        out24[i4] = select(vec4<f32>(0.0), g, best == vec4<u32>(i4));
      }
    }
  }
}
