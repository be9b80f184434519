/**
 * The GPU runtime: buffer pool, pipeline cache, batched dispatch and read-back.
 *
 * Every kernel launch is recorded into one open compute pass; the pass is submitted only
 * when data must cross to the CPU, when a host upload needs ordering, or when the
 * parameter arena is full. Parameters (shapes, scalars) of every dispatch live in one
 * uniform arena addressed with dynamic offsets, so a launch allocates no GPU memory.
 * @module
 */

import { acquireDevice, type DeviceOptions } from "./device.ts";
import { decideProfile, type DeviceProfile, type ProfileRequest } from "./profile.ts";
import commonWgsl from "../../shaders/common.wgsl" with { type: "text" };

/** A WebGPU validation or out-of-memory error, reported with the kernels involved. */
export class GpuKernelError extends Error {
  /** Creates the error. @param message description including the kernel names */
  constructor(message: string) {
    super(message);
    this.name = "GpuKernelError";
  }
}

/** A tensor or kernel request that exceeds a device limit. */
export class GpuLimitError extends Error {
  /** Creates the error. @param message description naming the limit and the requested size */
  constructor(message: string) {
    super(message);
    this.name = "GpuLimitError";
  }
}

/** Description of a compute kernel: WGSL source (without the common prelude) and entry point. */
export interface Kernel {
  /** Name used in labels and error messages, e.g. `conv2d_forward`. */
  name: string;
  /** WGSL source of the kernel family (the common prelude is prepended). */
  code: string;
  /** Entry point, default `main`. */
  entry?: string;
  /** Number of read-only storage bindings (bindings 1..nIn). */
  nIn: number;
  /** Number of read-write storage bindings following the inputs. */
  nOut: number;
  /** Pipeline-overridable constants. */
  constants?: Record<string, number>;
  /**
   * How many 64 KiB uniform-buffer windows (`var<uniform> U: array<vec4<f32>, 4096>`) follow
   * the storage bindings, each given per dispatch as a buffer and offset (default none).
   */
  windows?: number;
  /**
   * How many `texture_2d<f32>` bindings (`rgba32float` copies of tensors, see {@linkcode
   * Runtime.texels}) follow the windows, each given per dispatch (default none).
   */
  textures?: number;
}

/** Bytes of one uniform-buffer window (see {@linkcode Kernel.windows}). */
export const WINDOW_BYTES = 65536;

/** Cache key of the bind-group layout for these bindings. */
function layoutKey(nIn: number, nOut: number, windows = 0, textures = 0): string {
  return `${nIn}:${nOut}:${windows}:${textures}`;
}

/** One recorded dispatch (see {@linkcode Runtime.trace}). */
export interface DispatchRecord {
  /** The kernel launched. */
  kernel: Kernel;
  /** Its bound buffers. */
  buffers: GPUBuffer[];
  /** Its parameter words. */
  params: Uint32Array;
  /** Its workgroup grid. */
  groups: [number, number, number];
  /** Its uniform windows, if the kernel has any. */
  windows?: UniformWindow[];
  /** Its texture views, if the kernel has any. */
  textures?: GPUTextureView[];
}

/**
 * A copy of a tensor's data in an `rgba32float` texture, for kernels that read it with
 * `textureLoad`: texel t (floats 4t..4t+3) lies at `(t & (2^shift − 1), t >> shift)`.
 */
export interface Texels {
  /** The texture (`2^shift` texels wide, as many rows as the data needs). */
  texture: GPUTexture;
  /** The view to bind. */
  view: GPUTextureView;
  /** log2 of the texture's width in texels. */
  shift: number;
  /** Returns the texture to the pool; work already recorded still reads this copy. */
  dispose(): void;
}

/** A uniform window: {@linkcode WINDOW_BYTES} bytes of `buffer` from `offset`. */
export interface UniformWindow {
  /** The buffer (it needs UNIFORM usage; the pool's buffers have it). */
  buffer: GPUBuffer;
  /** Byte offset, a multiple of the device's minUniformBufferOffsetAlignment. */
  offset: number;
}

/** Pool statistics, for leak tests and diagnostics. */
export interface PoolStats {
  /** Buffers ever created and still alive (in use or free). */
  buffers: number;
  /** Bytes of those buffers. */
  bytes: number;
  /** Buffers currently handed out. */
  inUse: number;
  /** Bytes currently handed out. */
  inUseBytes: number;
}

const PARAM_SLOT = 256;
const ARENA_SLOTS = 512;
/** Workgroup size used by all one-dimensional kernels (see shaders/common.wgsl). */
export const WG = 64;

/** The GPU runtime bound to one device. Obtain it with {@linkcode initRuntime}. */
export class Runtime {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** Adapter description. */
  readonly adapterName: string;
  /** The device profile the ops follow (see `src/gpu/profile.ts`). */
  readonly profile: DeviceProfile;
  /** Device limits the engine respects. */
  readonly limits: GPUSupportedLimits;
  private free = new Map<number, GPUBuffer[]>();
  private stats = { buffers: 0, bytes: 0, inUse: 0, inUseBytes: 0 };
  private stagingFree = new Map<number, GPUBuffer[]>();
  // pooled textures with the one view each is bound through
  private textureFree = new Map<string, { texture: GPUTexture; view: GPUTextureView }[]>();
  private modules = new Map<string, GPUShaderModule>();
  private codeIds = new Map<string, number>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private pipelineLayouts = new Map<string, GPUPipelineLayout>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchKernels = new Set<string>();
  private arena: GPUBuffer;
  private arenaHost = new ArrayBuffer(PARAM_SLOT * ARENA_SLOTS);
  private arenaSlot = 0;
  private errorChecks: Promise<void>[] = [];
  private errors: string[] = [];
  private lost: string | null = null;
  private compileErrors = new Map<string, string>();
  private destroyed = false;
  /** Number of dispatches recorded since creation (diagnostics). */
  dispatchCount = 0;
  /** Number of queue submissions since creation (diagnostics). */
  submitCount = 0;
  /**
   * When set, every dispatch is also appended here (kernel, buffers, parameter words, grid),
   * so a profiler can replay a step's launches one by one (see `bench/profile.ts`).
   */
  trace: DispatchRecord[] | null = null;

  /**
   * Wraps a device. @param device a device from {@linkcode acquireDevice}
   * @param adapterName its description
   * @param isFallback whether the adapter said it is a fallback (software) adapter
   * @param request a forced profile kind, if any (see {@linkcode decideProfile})
   */
  constructor(
    device: GPUDevice,
    adapterName: string,
    isFallback = false,
    request: ProfileRequest = {},
  ) {
    this.device = device;
    this.adapterName = adapterName;
    this.profile = decideProfile(adapterName, isFallback, request);
    this.limits = device.limits;
    this.arena = device.createBuffer({
      label: "param-arena",
      size: PARAM_SLOT * ARENA_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.lost.then((info) => {
      this.lost = `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
    device.addEventListener("uncapturederror", (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(`uncaptured WebGPU error: ${err.message}`);
    });
  }

  /** Largest size in bytes of one tensor buffer. */
  get maxTensorBytes(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
  }

  // ---------------------------------------------------------------- buffers

  /**
   * Takes a storage buffer of at least `bytes` bytes from the pool (allocating when none is free).
   * @param what names the tensor or kernel output, for the limit error
   */
  acquire(bytes: number, what: string): GPUBuffer {
    if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) {
      throw new Error(
        `${what}: cannot allocate a buffer of ${String(bytes)} bytes ` +
          "(expected a finite, non-negative byte count; a shape with a NaN or negative size?)",
      );
    }
    // whole 256-byte units (the uniform offset alignment): a uniform window that ends at the
    // end of a buffer then starts at an aligned offset (see imageWindows in src/ops/conv/windows.ts)
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    if (size > this.maxTensorBytes) {
      throw new GpuLimitError(
        `${what} needs ${bytes} bytes, but this device allows at most ` +
          `${this.maxTensorBytes} bytes per buffer (maxStorageBufferBindingSize=` +
          `${this.limits.maxStorageBufferBindingSize}, maxBufferSize=${this.limits.maxBufferSize}); ` +
          "use a smaller batch or chunk size",
      );
    }
    let buf = this.free.get(size)?.pop();
    if (!buf) {
      this.device.pushErrorScope("out-of-memory");
      buf = this.device.createBuffer({
        label: what,
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC |
          GPUBufferUsage.COPY_DST,
      });
      this.track(this.device.popErrorScope(), `allocating ${size} bytes for ${what}`);
      this.stats.buffers++;
      this.stats.bytes += size;
    }
    this.stats.inUse++;
    this.stats.inUseBytes += size;
    return buf;
  }

  /** Returns a buffer to the pool. Pending GPU work that reads it still sees its contents. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, list = []);
    list.push(buf);
    this.stats.inUse--;
    this.stats.inUseBytes -= size;
  }

  /** Current pool statistics. */
  poolStats(): PoolStats {
    return { ...this.stats };
  }

  /** Destroys every free pooled buffer (memory handed out stays). */
  trimPool(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.buffers--;
        this.stats.bytes -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
    for (const list of this.textureFree.values()) for (const t of list) t.texture.destroy();
    this.textureFree.clear(); // the textures go with the device
  }

  /**
   * Copies the first `bytes` bytes of `buf` into a pooled `rgba32float` texture, ordered after
   * every kernel recorded so far, for kernels that read it with `textureLoad` (see
   * {@linkcode Texels}). On llvmpipe a texel fetch at a lane-varying address costs about a
   * seventh of a storage-buffer vec4 load, which is a loop over the lanes per component.
   * @param what names the tensor, for the limit error
   */
  texels(buf: GPUBuffer, bytes: number, what: string): Texels {
    const n = Math.max(1, Math.ceil(bytes / 16));
    const maxDim = this.limits.maxTextureDimension2D;
    // rows of 16 texels at least: 256 bytes, the copy's row alignment
    let shift = 4;
    while (Math.ceil(n / 2 ** shift) > maxDim && 2 ** shift < maxDim) shift++;
    const width = 2 ** shift, height = Math.ceil(n / width);
    if (n * 16 > buf.size) {
      throw new Error(`${what}: ${bytes} bytes asked for from a buffer of ${buf.size} bytes`);
    }
    if (height > maxDim) {
      throw new GpuLimitError(
        `${what}: ${bytes} bytes do not fit one ${maxDim}×${maxDim} texture ` +
          `(maxTextureDimension2D=${maxDim}); use a smaller batch or chunk size`,
      );
    }
    const key = `${width}x${height}`;
    let entry = this.textureFree.get(key)?.pop();
    if (!entry) {
      const texture = this.device.createTexture({
        label: what,
        size: [width, height],
        format: "rgba32float",
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST |
          GPUTextureUsage.COPY_SRC,
      });
      entry = { texture, view: texture.createView() };
    }
    const tex = entry.texture;
    this.endPass();
    this.openEncoder();
    const full = Math.floor(n / width), rest = n - full * width;
    if (full > 0) {
      this.encoder!.copyBufferToTexture(
        { buffer: buf, bytesPerRow: width * 16 },
        { texture: tex },
        [width, full],
      );
    }
    if (rest > 0) {
      this.encoder!.copyBufferToTexture(
        { buffer: buf, offset: full * width * 16, bytesPerRow: width * 16 },
        { texture: tex, origin: [0, full] },
        [rest, 1],
      );
    }
    const e = entry;
    let live = true;
    return {
      texture: e.texture,
      view: e.view,
      shift,
      dispose: () => {
        if (!live) return;
        live = false;
        let list = this.textureFree.get(key);
        if (!list) this.textureFree.set(key, list = []);
        list.push(e);
      },
    };
  }

  /** Uploads host data into `buf`, ordered after every kernel recorded so far. */
  write(buf: GPUBuffer, data: ArrayBufferView): void {
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(
      buf,
      0,
      data.buffer as ArrayBuffer,
      data.byteOffset,
      Math.ceil(data.byteLength / 4) * 4,
    );
  }

  /** Copies `bytes` bytes of `buf` to the CPU, submitting pending work first. */
  async read(buf: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    if (!Number.isFinite(bytes) || bytes < 0 || bytes > buf.size) {
      throw new Error(
        `reading ${String(bytes)} bytes back from a buffer of ${buf.size} bytes ` +
          `(${buf.label || "unnamed"}): expected a byte count in 0 … ${buf.size}`,
      );
    }
    if (this.lost) throw new GpuKernelError(this.lost);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const staging = this.stagingFree.get(size)?.pop() ?? await this.createStaging(size);
    this.endPass();
    this.openEncoder();
    this.encoder!.copyBufferToBuffer(buf, 0, staging, 0, Math.min(size, buf.size));
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      await this.checkErrors();
      throw new GpuKernelError(`reading data back failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.stagingFree.get(size);
    if (!list) this.stagingFree.set(size, list = []);
    list.push(staging);
    await this.checkErrors();
    return out;
  }

  /**
   * Creates a read-back staging buffer inside its own error scopes, so that a failure (out
   * of memory) is reported here, as such, instead of spoiling the next batch's error check.
   */
  private async createStaging(size: number): Promise<GPUBuffer> {
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    const staging = this.device.createBuffer({
      label: "readback",
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const [invalid, oom] = await Promise.all([
      this.device.popErrorScope(),
      this.device.popErrorScope(),
    ]);
    const err = oom ?? invalid;
    if (err) {
      staging.destroy();
      const kind = oom ? "out of GPU memory" : "WebGPU validation error";
      throw new GpuKernelError(
        `${kind} in allocating the read-back staging buffer of ${size} bytes: ${err.message}`,
      );
    }
    return staging;
  }

  // ---------------------------------------------------------------- kernels

  /** The pipeline layout for `nIn` read-only and `nOut` writable storage bindings. */
  private layoutFor(nIn: number, nOut: number, windows = 0, textures = 0): GPUPipelineLayout {
    const key = layoutKey(nIn, nOut, windows, textures);
    let pl = this.pipelineLayouts.get(key);
    if (pl) return pl;
    const entries: GPUBindGroupLayoutEntry[] = [{
      binding: 0,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: PARAM_SLOT },
    }];
    for (let i = 0; i < nIn + nOut; i++) {
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: i < nIn ? "read-only-storage" : "storage" },
      });
    }
    for (let w = 0; w < windows; w++) {
      entries.push({
        binding: nIn + nOut + 1 + w,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", minBindingSize: WINDOW_BYTES },
      });
    }
    for (let t = 0; t < textures; t++) {
      entries.push({
        binding: nIn + nOut + 1 + windows + t,
        visibility: GPUShaderStage.COMPUTE,
        texture: { sampleType: "unfilterable-float", viewDimension: "2d" },
      });
    }
    const bgl = this.device.createBindGroupLayout({ label: `layout ${key}`, entries });
    this.layouts.set(key, bgl);
    pl = this.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
    this.pipelineLayouts.set(key, pl);
    return pl;
  }

  /** The cached compute pipeline of a kernel (compiled on first use). */
  private pipeline(k: Kernel): GPUComputePipeline {
    const entry = k.entry ?? "main";
    const consts = k.constants ?? {};
    // the source by identity: two variants of a kernel family may share a name and a length
    let codeId = this.codeIds.get(k.code);
    if (codeId === undefined) this.codeIds.set(k.code, codeId = this.codeIds.size);
    const key = `${k.name}|${entry}|${JSON.stringify(consts)}|${codeId}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let mod = this.modules.get(k.code);
    if (!mod) {
      mod = this.device.createShaderModule({ label: k.name, code: commonWgsl + "\n" + k.code });
      this.modules.set(k.code, mod);
      const name = k.name;
      this.errorChecks.push(
        mod.getCompilationInfo().then((info) => {
          const msgs = info.messages.filter((m) => m.type === "error");
          if (msgs.length) {
            this.compileErrors.set(
              name,
              msgs.map((m) => `line ${m.lineNum}: ${m.message}`).join("; "),
            );
          }
        }, () => {}),
      );
    }
    p = this.device.createComputePipeline({
      label: k.name,
      layout: this.layoutFor(k.nIn, k.nOut, k.windows, k.textures),
      compute: { module: mod, entryPoint: entry, constants: consts },
    });
    this.pipelines.set(key, p);
    return p;
  }

  /** Starts a command encoder (and error scopes) for a new batch. */
  private openEncoder(): void {
    if (this.encoder) return;
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    this.encoder = this.device.createCommandEncoder({ label: "rar-batch" });
  }

  /** Ends the open compute pass, if any. */
  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /**
   * Records one dispatch of `kernel` over `groups` workgroups (already split over dimensions
   * with {@linkcode Runtime.grid}). `params` are 32-bit words (use {@linkcode Params}).
   * `windows` binds the kernel's uniform windows (each `offset` bytes into its `buffer`, which
   * must hold {@linkcode WINDOW_BYTES} bytes from there), as many as {@linkcode Kernel.windows},
   * and `textures` its texture bindings, as many as {@linkcode Kernel.textures}.
   */
  dispatch(
    kernel: Kernel,
    buffers: GPUBuffer[],
    params: Uint32Array,
    groups: [number, number, number],
    windows: UniformWindow[] = [],
    textures: GPUTextureView[] = [],
  ): void {
    if (this.lost) throw new GpuKernelError(this.lost);
    if (buffers.length !== kernel.nIn + kernel.nOut) {
      throw new Error(
        `kernel ${kernel.name}: expected ${
          kernel.nIn + kernel.nOut
        } buffers, got ${buffers.length}`,
      );
    }
    const maxG = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups.some((g) => g > maxG)) {
      throw new GpuLimitError(
        `kernel ${kernel.name}: dispatch of [${groups}] workgroups exceeds ` +
          `maxComputeWorkgroupsPerDimension=${maxG}`,
      );
    }
    if (groups.some((g) => g === 0)) return;
    if (this.arenaSlot === ARENA_SLOTS) this.flush();
    this.openEncoder();
    const p = this.pipeline(kernel);
    const slot = this.arenaSlot++;
    new Uint32Array(this.arenaHost, slot * PARAM_SLOT, params.length).set(params);
    const entries: GPUBindGroupEntry[] = [{
      binding: 0,
      resource: { buffer: this.arena, size: PARAM_SLOT },
    }];
    for (let i = 0; i < buffers.length; i++) {
      entries.push({ binding: i + 1, resource: { buffer: buffers[i] } });
    }
    const nw = kernel.windows ?? 0;
    if (windows.length !== nw) {
      throw new Error(
        `kernel ${kernel.name}: expected ${nw} uniform windows, got ${windows.length}`,
      );
    }
    windows.forEach((w, i) =>
      entries.push({
        binding: buffers.length + 1 + i,
        resource: { buffer: w.buffer, offset: w.offset, size: WINDOW_BYTES },
      })
    );
    if (textures.length !== (kernel.textures ?? 0)) {
      throw new Error(
        `kernel ${kernel.name}: expected ${kernel.textures ?? 0} textures, got ${textures.length}`,
      );
    }
    textures.forEach((view, i) =>
      entries.push({ binding: buffers.length + 1 + nw + i, resource: view })
    );
    const bg = this.device.createBindGroup({
      label: kernel.name,
      layout: this.layouts.get(
        layoutKey(kernel.nIn, kernel.nOut, kernel.windows, kernel.textures),
      )!,
      entries,
    });
    if (!this.pass) this.pass = this.encoder!.beginComputePass({ label: "rar-pass" });
    this.pass.setPipeline(p);
    this.pass.setBindGroup(0, bg, [slot * PARAM_SLOT]);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.batchKernels.add(kernel.name);
    this.dispatchCount++;
    this.trace?.push({
      kernel,
      buffers: [...buffers],
      params: params.slice(),
      groups,
      windows,
      textures,
    });
  }

  /**
   * Splits `n` workgroups over up to three dimensions within `maxComputeWorkgroupsPerDimension`.
   * Kernels recover the linear index with `linear_group()` from shaders/common.wgsl.
   */
  grid(n: number): [number, number, number] {
    const maxG = this.limits.maxComputeWorkgroupsPerDimension;
    if (n <= maxG) return [n, 1, 1];
    const y = Math.ceil(n / maxG);
    if (y <= maxG) return [maxG, y, 1];
    const z = Math.ceil(y / maxG);
    if (z > maxG) throw new GpuLimitError(`${n} workgroups exceed the device's dispatch limits`);
    return [maxG, maxG, z];
  }

  /** Submits all recorded work. Cheap when nothing is pending. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaSlot > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, this.arenaSlot * PARAM_SLOT);
    }
    const cmd = this.encoder.finish();
    this.device.queue.submit([cmd]);
    this.submitCount++;
    const names = [...this.batchKernels].join(", ");
    this.track(this.device.popErrorScope(), `kernels [${names}]`);
    this.track(this.device.popErrorScope(), `kernels [${names}]`);
    this.encoder = null;
    this.arenaSlot = 0;
    this.batchKernels.clear();
  }

  /** Records the outcome of an error scope, reported by {@linkcode Runtime.checkErrors}. */
  private track(p: Promise<GPUError | null>, context: string): void {
    this.errorChecks.push(p.then((err) => {
      if (err) {
        const kind = err.constructor?.name === "GPUOutOfMemoryError"
          ? "out of GPU memory"
          : "WebGPU validation error";
        let msg = `${kind} in ${context}: ${err.message}`;
        for (const [name, text] of this.compileErrors) {
          if (context.includes(name)) msg += `\n(shader of ${name} failed to compile: ${text})`;
        }
        this.errors.push(msg);
      }
    }));
  }

  /** Why the device was lost (`null` while it works); nothing runs on a lost device. */
  get lostReason(): string | null {
    return this.lost;
  }

  /**
   * After a fault: drops the work recorded but not yet submitted (a failed step's
   * remainder) and the errors already reported, so that buffers whose contents are intact
   * can still be read back.
   *
   * @returns whether the device still works (it was not lost).
   */
  async recover(): Promise<boolean> {
    if (this.encoder) {
      try {
        this.pass?.end();
      } catch {
        // An invalid pass: it is dropped anyway.
      }
      this.pass = null;
      this.encoder = null;
      this.arenaSlot = 0;
      this.batchKernels.clear();
      this.errorChecks.push(
        this.device.popErrorScope().then(() => {}, () => {}),
        this.device.popErrorScope().then(() => {}, () => {}),
      );
    }
    const checks = this.errorChecks;
    this.errorChecks = [];
    await Promise.allSettled(checks);
    this.errors = [];
    return this.lost === null;
  }

  /** Waits for outstanding error checks and throws the first error seen, naming its kernels. */
  async checkErrors(): Promise<void> {
    const checks = this.errorChecks;
    this.errorChecks = [];
    await Promise.all(checks);
    if (this.lost) throw new GpuKernelError(this.lost);
    if (this.errors.length) {
      const msg = this.errors.join("\n");
      this.errors = [];
      throw new GpuKernelError(msg);
    }
  }

  /**
   * Releases every GPU resource of this runtime and the device itself. Called automatically
   * when the module unloads; tensors must not be used afterwards.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    for (const list of [...this.free.values(), ...this.stagingFree.values()]) {
      for (const b of list) b.destroy();
    }
    this.free.clear();
    this.stagingFree.clear();
    this.textureFree.clear(); // the textures go with the device
    this.arena.destroy();
    this.device.destroy();
  }

  /** Submits pending work and waits until the GPU has finished it. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }
}

/** Builder for the 32-bit parameter words of one dispatch. */
export class Params {
  private words: number[] = [];
  private f = new Float32Array(1);
  private u = new Uint32Array(this.f.buffer);
  /** Appends unsigned integers. */
  u32(...v: number[]): this {
    for (const x of v) this.words.push(x >>> 0);
    return this;
  }
  /** Appends 32-bit floats. */
  f32(...v: number[]): this {
    for (const x of v) {
      this.f[0] = x;
      this.words.push(this.u[0]);
    }
    return this;
  }
  /** Pads to a multiple of four words (a WGSL `vec4` boundary). */
  align4(): this {
    while (this.words.length % 4) this.words.push(0);
    return this;
  }
  /** Appends `v` padded with `fill` to `len` words (a WGSL `array<vec4<u32>, len/4>`). */
  vec(v: readonly number[], len: number, fill = 0): this {
    this.align4();
    for (let i = 0; i < len; i++) this.words.push((i < v.length ? v[i] : fill) >>> 0);
    return this;
  }
  /** The words. */
  build(): Uint32Array {
    return new Uint32Array(this.words);
  }
}

let current: Runtime | null = null;
let pending: Promise<Runtime> | null = null;

/**
 * Initialises the engine on the default WebGPU adapter (once; later calls return the same runtime).
 * @throws {WebGPUUnavailableError} when no adapter is available
 */
export function initRuntime(options: DeviceOptions = {}): Promise<Runtime> {
  if (current) {
    if (options.profile !== undefined && options.profile !== current.profile.kind) {
      return Promise.reject(
        new Error(
          `the GPU engine is already initialised with the "${current.profile.kind}" device ` +
            `profile; it cannot switch to "${options.profile}" (pass \`profile\` to the first init)`,
        ),
      );
    }
    return Promise.resolve(current);
  }
  if (!pending) {
    // an unknown forced profile fails here, before any device is acquired
    decideProfile("", false, options);
    pending = acquireDevice(options).then(({ device, adapterName, isFallback }) => {
      const rt = new Runtime(device, adapterName, isFallback, options);
      current = rt;
      // release GPU memory and the device deterministically when the program ends
      globalThis.addEventListener?.("unload", () => rt.destroy());
      return rt;
    }).catch((e) => {
      pending = null;
      throw e;
    });
  }
  return pending;
}

/** The initialised runtime; throws a clear error when {@linkcode initRuntime} was not awaited. */
export function runtime(): Runtime {
  if (!current) {
    throw new Error("the GPU engine is not initialised: call `await init()` before using tensors");
  }
  return current;
}
