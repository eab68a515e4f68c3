/**
 * The WebGPU backend (core's `Backend` contract) through Dawn, with its device work in a device
 * process by default (process/isolated-backend.ts), or in this process with isolation 'none'
 * (in-process-backend.ts).
 *
 * Why a process by default: Dawn cannot cancel submitted work. A kernel that never ends (or runs
 * for hours) outlasts its timeout, and destroying its device then blocks inside Dawn until the
 * queue is idle, so in-process the whole run would hang. In a device process the benchmark fails
 * with the timeout, the process is killed, and the next benchmark gets a fresh one.
 *
 * `shutdown()` / `shutdownWebgpu()` end the device work and drop Dawn's instances: Dawn keeps a
 * Node process alive while they live, so test files and scripts call it at the end.
 */
import { createInProcessBackend, shutdownInProcess, type WebgpuBackend } from './in-process-backend.ts'
import { requestedIsolation, type WebgpuOptions } from './options.ts'
import { stopDeviceProcesses } from './process/client.ts'
import { createIsolatedBackend } from './process/isolated-backend.ts'

export type { WebgpuBackend } from './in-process-backend.ts'
export { f16Support } from './support.ts'

/** Ends every device process and in-process device of this package, and drops Dawn's instances; later use starts afresh. */
export async function shutdownWebgpu(): Promise<void> {
  stopDeviceProcesses()
  shutdownInProcess()
}

/**
 * The WebGPU backend for these options. The isolation is chosen here, from `options.isolation`
 * or $GPUBENCH_WEBGPU_ISOLATION; an invalid value gives the isolated backend, whose probe then
 * reports it as the reason the backend is unavailable.
 */
export function createWebgpuBackend(options: WebgpuOptions = {}): WebgpuBackend {
  return requestedIsolation(options) === 'none' ? createInProcessBackend(options) : createIsolatedBackend(options)
}

/** The WebGPU backend with options from the environment ($GPUBENCH_WEBGPU_BACKEND, _ADAPTER, _TIMEOUT_MS, _ISOLATION). */
export const webgpuBackend: WebgpuBackend = createWebgpuBackend()
