/**
 * @gpubench/webgpu: the WebGPU backend of gpubench through Dawn (npm `webgpu`): core's workloads
 * as WGSL kernels, users' own WGSL kernels, timed with timestamp queries.
 *
 * The reference keeps WebGPU's global types (GPUAdapter, GPUDevice, ...) in the published .d.ts,
 * which name them, so a user's compiler finds them without importing `webgpu` itself.
 */
/// <reference types="@webgpu/types" preserve="true" />

export type { DeviceProcessInfo } from '@gpubench/core'
export { describeAdapter } from './describe.ts'
export {
  DAWN_BACKENDS,
  type DawnBackend,
  DEFAULT_TIMEOUT_MS,
  dawnFlagsOf,
  ENV_ADAPTER,
  ENV_BACKEND,
  ENV_ISOLATION,
  ENV_TIMEOUT_MS,
  ISOLATIONS,
  type Isolation,
  type ResolvedOptions,
  resolveOptions,
  type WebgpuOptions,
} from './options.ts'
export type { BindingKind } from './plan.ts'
export { DAWN_LIMIT_NOTICE, SILENCE_GRACE_MS } from './process/client.ts'
export type { IsolatedWebgpuBackend } from './process/isolated-backend.ts'
export { RUNS_PER_SUBMISSION } from './timer.ts'
export {
  isWebgpuKernel,
  type WebgpuKernelBinding,
  type WebgpuKernelCheck,
  type WebgpuKernelSpec,
  type WebgpuKernelTarget,
  webgpuKernel,
} from './user-kernel.ts'
export { createWebgpuBackend, shutdownWebgpu, type WebgpuBackend, webgpuBackend } from './webgpu-backend.ts'
export type { WebgpuRunnable } from './webgpu-runnable.ts'
