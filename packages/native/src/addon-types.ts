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
  /**
   * Back-to-back runs per timed sample (event pair): planned from the warm-up when absent (many for
   * runs under 100 µs); an integer 1..1000 fixes it, e.g. to compare one run per pair with several.
   */
  readonly runsPerSample?: number
}

export type NativeCudaProbe =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true
      readonly name: string
      readonly computeCapability: string
      readonly smCount: number
      readonly memoryBytes: number
      readonly l2CacheBytes: number
      /** The maximum SM clock the runtime reports. */
      readonly clockKHz: number
      readonly memoryClockKHz: number
      readonly memoryBusWidthBits: number
      /** cudaDriverGetVersion: the CUDA API version the driver supports (13000), not its release. */
      readonly driverApiVersion: number
      /** The driver's release ("580.65.06") from NVML or /proc/driver/nvidia/version; "" when neither says. */
      readonly driverRelease: string
      readonly runtimeVersion: number
      /** The cuBLAS library that loads, or "not loaded: <why>" (cublasCreate is tried at prepare). */
      readonly cublas: string
      /** NVML's state: the library loaded, or why energy is not reported. */
      readonly nvml: string
    }

/**
 * The CUDA part's host-side decisions (src/cuda/host_bindings.cpp), for tests that run without a
 * GPU; each calls the function the backend itself uses. Present only when the CUDA part was built.
 */
export interface NativeCudaHost {
  gemvRowsGeometry(m: number, smCount: number): { blocks: number; warpsPerBlock: number }
  gemvColsGeometry(
    m: number,
    n: number,
    smCount: number,
  ): {
    colBlocks: number
    rowSplits: number
    rowsPerSplit: number
    workspaceFloats: number
    colsPerBlock: number
    rowLanes: number
  }
  gemmGrid(
    m: number,
    n: number,
    batch: number,
    tileM: number,
    tileN: number,
  ): { x: number; y: number; z: number; rowTiles: number }
  planTiming(
    estimatedNsPerRun: number,
    workingSetBytes: number,
    cacheBytes: number,
    canFlush: boolean,
  ): { runsPerSample: number; flushL2: boolean; cache: string }
  needsWarmup(lastRunEndNs: number, nowNs: number): boolean
  cublasCandidates(env: Readonly<Record<string, string>>, runtimeMajor: number): string[]
  /** Files named in `failures` fail with that reason, the others succeed. */
  chooseCublas(
    candidates: readonly string[],
    failures: Readonly<Record<string, string>>,
  ): { index: number; failures: string[] }
  /** Each call: [counter change in mJ (negative: no reading), executions, host ns]. */
  energyWindow(
    calls: readonly (readonly [number, number, number])[],
    unit: string,
  ): { joulesPerExecution: number | null; note: string }
  minimumDriverBranch(runtimeVersion: number): number
  driverReleaseFromProcText(text: string): string
  insufficientDriverReason(runtimeWords: string, runtimeVersion: number, installed: string): string
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
  /**
   * Energy per execution in joules, or null when the device does not report it (CPU and Metal do
   * not). CUDA: summed over every run(n) so far, once they span at least a second (NVML's counter
   * is coarse); per launch for the launch workload; the notes say what it covers.
   */
  energyJoulesPerRun(): number | null
  /** Frees the buffers; safe to call twice. */
  dispose(): void
}

/** Buffers of a training session, each in core's parameter layout (parameterLayout). */
export type NativeTrainBuffer = 'parameters' | 'gradients' | 'm' | 'v'

/** The backends whose training step the addon can hold. */
export type NativeTrainBackend = 'cpu' | 'cuda' | 'metal'

/**
 * A native training step over core's flat parameter layout (core's TrainingSession, synchronous).
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
  /**
   * n steps: rows of 12 (step, forward, backward, optimizer in ns; loss; RSS bytes; minor, major
   * page faults; loss scale; 1 when skipped for overflow; device memory in use, NaN without a
   * device of its own; energy in J, NaN where the addon does not read it).
   */
  steps(n: number): Float64Array
  notes(): string[]
  /** The process's peak resident set size in bytes (getrusage). */
  peakRssBytes(): number
  /** The most device memory seen in use, in bytes; NaN without a device of its own. */
  peakDeviceBytes(): number
  /** Where the addon's per-step energy comes from ("reported (…)"), or "unavailable: why"; "" where the caller reads it (the CPU). */
  energySource(): string
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
  /**
   * The training step of a backend built into the addon (an error names one that is not); absent
   * from addons built before it existed. `fault` is for tests only (core's TRAIN_FAULTS).
   */
  readonly TrainSession?: new (
    backend: NativeTrainBackend,
    workload: object,
    options?: NativeCpuOptions | NativeCudaOptions,
    fault?: string,
  ) => NativeTrainSession
  /** Present only when the CUDA part was built. */
  readonly cudaProbe?: () => NativeCudaProbe
  /** Present only when the CUDA part was built. */
  readonly cudaHost?: NativeCudaHost
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
