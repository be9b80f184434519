/**
 * WebGPU adapter and device acquisition.
 *
 * Uses only the standard WebGPU API (`navigator.gpu`), so it runs in Deno and in browsers.
 * @module
 */

import type { ProfileKind } from "./profile.ts";

/** Raised when no usable WebGPU adapter or device can be obtained. */
export class WebGPUUnavailableError extends Error {
  /** Creates the error. @param message what is missing and how to get it */
  constructor(message: string) {
    super(message);
    this.name = "WebGPUUnavailableError";
  }
}

/** Options for {@linkcode acquireDevice}. */
export interface DeviceOptions {
  /** Power preference passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /**
   * Forces the device profile (see `src/gpu/profile.ts`): `"gpu"` runs the kernels chosen for
   * GPUs, `"cpu"` those chosen for software adapters. Default: the environment variable
   * `RAR_DEVICE_PROFILE` where set, else what the adapter is.
   */
  profile?: ProfileKind;
}

/** A device together with the adapter description it came from. */
export interface AcquiredDevice {
  /** The WebGPU device, created with the adapter's own (maximal) limits. */
  device: GPUDevice;
  /** Human-readable adapter description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  adapterName: string;
  /** Whether the adapter is a software/fallback adapter. */
  isFallback: boolean;
}

const LIMITS_WANTED = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupStorageSize",
  "maxStorageBuffersPerShaderStage",
  "maxTextureDimension2D",
  "maxBindGroups",
] as const;

/**
 * Requests a WebGPU adapter and a device with the adapter's largest limits for the
 * limits this engine depends on (storage binding size, buffer size, workgroup counts).
 *
 * @throws {WebGPUUnavailableError} with a clear description when WebGPU or an adapter is missing.
 */
export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGPUUnavailableError(
      "WebGPU is not available in this runtime: navigator.gpu is undefined. " +
        "Use Deno >= 2 (e.g. `npx -y deno@2.9.6 ...`) or a browser with WebGPU enabled.",
    );
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (e) {
    throw new WebGPUUnavailableError(
      `requesting a WebGPU adapter failed: ${(e as Error).message}. ` + ADAPTER_HINT,
    );
  }
  if (!adapter) {
    throw new WebGPUUnavailableError("no WebGPU adapter was found. " + ADAPTER_HINT);
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of LIMITS_WANTED) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === "number") requiredLimits[key] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: "rar" });
  } catch (e) {
    throw new WebGPUUnavailableError(
      `the WebGPU adapter refused to create a device: ${(e as Error).message}`,
    );
  }
  const info = (adapter as unknown as { info?: GPUAdapterInfo }).info;
  const adapterName = info
    ? [info.description, info.vendor, info.architecture].filter((s) => s).join(" / ")
    : "unknown adapter";
  const isFallback = Boolean(
    (info as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter,
  );
  return { device, adapterName, isFallback };
}

const ADAPTER_HINT =
  "A GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows) support is needed; on a " +
  "Linux machine without a GPU, Mesa's software rasteriser provides one " +
  "(Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`).";
