/**
 * The native addon's surface, typed once. Everything the addon exports is declared here and
 * nowhere else; load.ts checks the loaded object against it before handing it out.
 * Sizes are in bytes, times in nanoseconds, rates per second, as the field names say.
 */
import type { DeviceArray } from '@gpubench/core'

/** What the build put in (fixed at build time; see build/build-info.json for why a part is missing). */
export interface NativeBuildFlags {
  readonly cuda: boolean
  readonly metal: boolean
  readonly napiVersion: number
}

export interface NativeCpuOptions {
  /** 'auto' (best the CPU supports) or 'portable' (the fallback kernels). */
  readonly isa?: 'auto' | 'portable'
  /** 'auto' (system BLAS for f32 GEMM where present), 'system' (required) or 'own'. */
  readonly blas?: 'auto' | 'system' | 'own'
  /** Refuse workloads whose buffers need more; default: the memory available when preparing. */
  readonly memoryLimitBytes?: number
}

export interface NativeCpuDescription {
  readonly model: string
  readonly threads: number
  readonly isa: 'avx2-fma-f16c' | 'neon' | 'portable'
  readonly features: readonly string[]
  /** What f32 GEMM runs on under the options: 'openblas', 'blis', 'accelerate' or 'own-<isa>'. */
  readonly gemm: string
  /** The system BLAS file loaded, or why none was. */
  readonly systemBlas: string
  readonly systemBlasAvailable: boolean
  readonly memoryBytes: number
}

export interface NativeCudaOptions {
  /** 'auto' (cuBLAS when it loads), 'cublas' (required) or 'own'. */
  readonly gemm?: 'auto' | 'cublas' | 'own'
}

export type NativeCudaProbe =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true
      readonly name: string
      readonly computeCapability: string
      readonly smCount: number
      readonly memoryBytes: number
      readonly clockKHz: number
      readonly memoryClockKHz: number
      readonly memoryBusWidthBits: number
      readonly driverVersion: number
      readonly runtimeVersion: number
      readonly peakF32FlopPerSecond?: number
      readonly peakF16FlopPerSecond?: number
      readonly peakBytesPerSecond?: number
      /** The cuBLAS library loaded, or why none was. */
      readonly cublas: string
      /** NVML's state: the library loaded, or why energy is not reported. */
      readonly nvml: string
    }

export type NativeMetalProbe =
  | { readonly available: false; readonly reason: string }
  | { readonly available: true; readonly name: string; readonly memoryBytes: number; readonly unifiedMemory: boolean }

/** A workload as the addon reads it: core's workload objects as they are. */
export type NativeWorkload = object

export type NativeBackendKind = 'cpu' | 'cuda' | 'metal'

/** A prepared workload owning native buffers. Every method throws an Error with a native message on failure. */
export interface NativeRunnable {
  /** Copies into a named buffer (inputs; outputs too, to poison them before a check). Byte sizes must match. */
  write(name: string, data: DeviceArray): void
  read(name: string, out: DeviceArray): void
  /** The first execution, alone, in ns. */
  cold(): number
  /** n executions, one device-side duration each, in ns. */
  run(n: number): Float64Array
  notes(): string[]
  /** Energy per execution over the last run(n), in joules, or null when the device does not report it. */
  energyJoulesPerRun(): number | null
  /** Frees the buffers; safe to call twice. */
  dispose(): void
}

/** Buffers of a training session, each in core's parameter layout (parameterLayout). */
export type NativeTrainBuffer = 'parameters' | 'gradients' | 'm' | 'v'

/**
 * A CPU training step over core's flat parameter layout (core's TrainingSession, synchronous).
 * `write('parameters', …)` also zeroes AdamW's moments and restarts the step count.
 */
export interface NativeTrainSession {
  write(name: 'parameters' | 'gradients', data: Float32Array): void
  read(name: NativeTrainBuffer, out: Float32Array): void
  setTokens(tokens: Int32Array): void
  poisonGradients(): void
  /** Forward and backward without an update; the loss. */
  forwardBackward(): number
  optimizerStep(): void
  /** n steps: rows of 8 (step, forward, backward, optimizer in ns; loss; RSS bytes; minor, major page faults). */
  steps(n: number): Float64Array
  notes(): string[]
  /** The process's peak resident set size in bytes (getrusage). */
  peakRssBytes(): number
  dispose(): void
}

export interface NativeAddon {
  readonly build: NativeBuildFlags
  readonly Runnable: new (
    backend: NativeBackendKind,
    workload: NativeWorkload,
    options?: NativeCpuOptions | NativeCudaOptions,
  ) => NativeRunnable
  cpuDescribe(options?: NativeCpuOptions): NativeCpuDescription
  /** The CPU training step; absent from addons built before it existed. `fault` is for tests only (core's TRAIN_FAULTS). */
  readonly TrainSession?: new (
    backend: 'cpu',
    workload: object,
    options?: NativeCpuOptions,
    fault?: string,
  ) => NativeTrainSession
  /** Present only when the CUDA part was built. */
  readonly cudaProbe?: () => NativeCudaProbe
  /** Present only when the Metal part was built. */
  readonly metalProbe?: () => NativeMetalProbe
}

/** build/build-info.json, written by scripts/build.mjs. */
export interface NativeBuildInfo {
  readonly cpu: { readonly built: boolean }
  readonly cuda: { readonly built: boolean; readonly reason: string; readonly nvcc?: string; readonly archs?: string }
  readonly metal: { readonly built: boolean; readonly reason: string }
  readonly builtAt?: string
  readonly compiler?: string
}
