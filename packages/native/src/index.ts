/**
 * @gpubench/native: the CPU, CUDA and Metal backends over one Node-API addon, and the loader that
 * says what loaded and why not.
 */
export type * from './addon-types.ts'
export { type CpuBackendOptions, cpuBackend, createCpuBackend, resolveCpuOptions } from './cpu-backend.ts'
export { type CudaBackendOptions, createCudaBackend, cudaBackend, cudaDeviceDescription } from './cuda-backend.ts'
export {
  type AddonLoad,
  type AddonLocation,
  DEFAULT_ADDON_PATH,
  loadAddon,
  loadAddonFrom,
  locateAddon,
  PREBUILT_PLATFORMS,
  platformKey,
} from './load.ts'
export { createMetalBackend, metalBackend } from './metal-backend.ts'
export { NativeRunnableAdapter } from './native-runnable.ts'
export {
  ContainedBackend,
  DEFAULT_NATIVE_TIMEOUT_MS,
  ENV_NATIVE_ISOLATION,
  ENV_NATIVE_TIMEOUT_MS,
  type IsolationOptions,
  NATIVE_ISOLATIONS,
  type NativeIsolation,
} from './process/contained.ts'

import type { Backend } from '@gpubench/core'
import { cpuBackend } from './cpu-backend.ts'
import { cudaBackend } from './cuda-backend.ts'
import { metalBackend } from './metal-backend.ts'

/** Every native backend, in a fixed order. */
export const nativeBackends: readonly Backend[] = [cpuBackend, cudaBackend, metalBackend]
