/**
 * @gpubench/webgpu: the WebGPU backend of gpubench through Dawn (npm `webgpu`): core's workloads
 * as WGSL kernels, users' own WGSL kernels, timed with timestamp queries.
 */
export { createWebgpuBackend, shutdownWebgpu, type WebgpuBackend, webgpuBackend } from './backend.ts'
export { describeAdapter } from './describe.ts'
export {
  DAWN_BACKENDS,
  type DawnBackend,
  DEFAULT_TIMEOUT_MS,
  dawnFlagsOf,
  ENV_ADAPTER,
  ENV_BACKEND,
  ENV_TIMEOUT_MS,
  type ResolvedOptions,
  resolveOptions,
  type WebgpuOptions,
} from './options.ts'
export type { BindingKind } from './plan.ts'
export { PlanRunnable as WebgpuRunnable, RUNS_PER_SUBMISSION } from './runnable.ts'
export {
  isWebgpuKernel,
  type WebgpuKernelBinding,
  type WebgpuKernelCheck,
  type WebgpuKernelSpec,
  type WebgpuKernelTarget,
  webgpuKernel,
} from './user-kernel.ts'
