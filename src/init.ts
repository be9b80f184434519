/**
 * Engine initialisation.
 * @module
 */

import type { DeviceOptions } from "./gpu/device.ts";
import { initRuntime, type Runtime } from "./gpu/runtime.ts";

/**
 * Acquires the WebGPU device; call once (awaited) before creating tensors.
 * @throws {WebGPUUnavailableError} naming what is missing when there is no adapter
 */
export function init(options: DeviceOptions = {}): Promise<Runtime> {
  return initRuntime(options);
}
