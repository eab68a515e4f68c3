/**
 * The backend contract. A backend is probed once (available with a device description, or
 * unavailable with a reason: never a stub that returns zeros), then prepares runnables: one per
 * benchmark, owning its buffers and kernels until disposed.
 */
import type { VerifyReport } from './reference.ts'
import type { BytesPerSecond, DurationNs, FlopPerSecond } from './units.ts'
import type { Dtype, Workload } from './workloads.ts'

export const BACKEND_KINDS = ['host', 'cpu', 'cuda', 'metal', 'webgpu'] as const
export type BackendKind = (typeof BACKEND_KINDS)[number]

/** How a runnable's durations are taken. */
export const TIMING_METHODS = [
  'steady-clock', // a monotonic host clock around the work (CPU backends, JS functions)
  'cuda-events', // cudaEventRecord/cudaEventElapsedTime around the kernels
  'metal-command-buffer', // MTLCommandBuffer GPUStartTime/GPUEndTime
  'webgpu-timestamps', // timestamp-query writes at the start and end of the compute pass
  'host-submit-wait', // host clock around submit and completion, where the device has no timer
] as const
export type TimingMethod = (typeof TIMING_METHODS)[number]

export type DetailValue = string | number | boolean

/** What a backend knows of the device it runs on. */
export interface DeviceDescription {
  /** Stable, filesystem-safe id, used as the baseline file name (see device.ts). */
  readonly id: string
  readonly backend: BackendKind
  /** Human-readable name: "NVIDIA H100 80GB HBM3", "AMD EPYC 7B13 (2 cores)", "llvmpipe (LLVM 19.1.7, 256 bits)". */
  readonly name: string
  readonly vendor?: string
  readonly architecture?: string
  readonly driver?: string
  /** True for a software rasteriser or emulator (e.g. lavapipe): timings say little about a GPU. */
  readonly software?: boolean
  /** Peak rates where known, for roofline fractions. */
  readonly peak?: {
    readonly flopPerSecond?: Partial<Readonly<Record<Dtype, FlopPerSecond>>>
    readonly bytesPerSecond?: BytesPerSecond
  }
  /** Anything else worth recording: implementation that ran (e.g. `gemm: 'openblas'`), SM count, clocks. */
  readonly details: Readonly<Record<string, DetailValue>>
}

export type Probe =
  | { readonly available: true; readonly device: DeviceDescription }
  | { readonly available: false; readonly reason: string }

/** A user's own JavaScript code measured by the host backend. */
export interface HostFunctionTarget {
  readonly kind: 'function'
  readonly name: string
  readonly fn: () => unknown | Promise<unknown>
  /** Optional work counts so throughput can be asserted on JS code too. */
  readonly flops?: number
  readonly bytes?: number
}

/** What a benchmark measures: one of core's workloads, or a target a backend defines (a JS function, a user's pipeline). */
export type Target = Workload | HostFunctionTarget | BackendTarget

/** A backend-specific target (e.g. a user's WGSL pipeline); `backend` names the only backend that can run it. */
export interface BackendTarget {
  readonly kind: 'custom'
  readonly backend: BackendKind
  readonly name: string
  readonly flops?: number
  readonly bytes?: number
  /** Opaque to core: the backend that owns it knows its shape. */
  readonly spec: unknown
}

export interface Runnable {
  readonly target: Target
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  /**
   * Runs the target once, the very first time: compilation, module load, first-touch allocation
   * included. Returns that one duration. Called at most once, before `run`.
   */
  cold(): Promise<DurationNs>
  /**
   * Runs the target n times and returns n device-side durations in nanoseconds, one per run
   * (for launch workloads, the time per launch averaged over `launchesPerSample` launches done natively).
   */
  run(n: number): Promise<DurationNs[]>
  /** Checks the kernel's results against core's float64 reference on fresh random inputs. */
  verify(): Promise<VerifyReport>
  /** Frees buffers and kernels. Safe to call twice. */
  dispose(): Promise<void>
  /** Facts a reader of the result needs: e.g. "host-submit-wait: submit and wait cost of ~45 µs included". */
  readonly notes: readonly string[]
}

export interface Backend {
  readonly kind: BackendKind
  /** Available with a device description, or unavailable with a reason. Cached by the implementation. */
  probe(): Promise<Probe>
  /** True if this backend can run the target, else the reason it cannot. */
  supports(target: Target): true | string
  /** Allocates, uploads and compiles. Throws a BackendError naming the workload and the device on failure. */
  prepare(target: Target): Promise<Runnable>
}

export class BackendError extends Error {
  override name = 'BackendError'
  readonly backend: BackendKind
  readonly deviceId: string | undefined
  constructor(message: string, backend: BackendKind, deviceId?: string) {
    super(message)
    this.backend = backend
    this.deviceId = deviceId
  }
}

/** An error's message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export class BackendUnavailableError extends BackendError {
  override name = 'BackendUnavailableError'
}
