/**
 * The messages between a WebGPU backend and its device process (Node IPC with the 'advanced'
 * serialization, so typed arrays, ArrayBuffers and Infinity cross as they are).
 *
 * The backend sends requests with an id; the process answers each id once. Besides answers the
 * process sends `ready` once its modules are loaded and a heartbeat every HEARTBEAT_MS, so the
 * backend can tell a process blocked in native code (silent) from one waiting on a slow kernel.
 */
import type { DurationNs, Probe, TrainTarget, VerifyReport, Workload } from '@gpubench/core'
import type { ResolvedOptions } from '../options.ts'
import type { Plan } from '../plan.ts'

/** How often the device process says it is alive. */
export const HEARTBEAT_MS = 250

/** What the device process prepares: a core workload (planned there) or a user kernel's plan (made here, where its `init` functions live). */
export type PrepareJob =
  | { readonly kind: 'workload'; readonly workload: Workload }
  | { readonly kind: 'kernel'; readonly name: string; readonly plan: Plan }
  /** A training step (core's trainTarget): built, run and verified in the process like a core workload. */
  | { readonly kind: 'train'; readonly target: TrainTarget }

export type Operation =
  | { readonly op: 'probe' }
  | { readonly op: 'prepare'; readonly job: PrepareJob }
  | { readonly op: 'cold'; readonly handle: number }
  | { readonly op: 'run-once'; readonly handle: number }
  | { readonly op: 'verify'; readonly handle: number }
  | { readonly op: 'dispose'; readonly handle: number }
  | { readonly op: 'run'; readonly handle: number; readonly n: number }
  | { readonly op: 'upload'; readonly handle: number; readonly name: string; readonly data: Uint8Array }
  | { readonly op: 'readback'; readonly handle: number; readonly name: string }

export type Request = Operation & { readonly id: number }

/** What each operation answers. */
export interface Results {
  probe: Probe
  prepare: { handle: number; timing: 'webgpu-timestamps' | 'host-submit-wait'; notes: readonly string[] }
  cold: DurationNs
  run: { deviceNs: DurationNs[]; hostNs: DurationNs[] }
  'run-once': undefined
  verify: VerifyReport
  dispose: undefined
  upload: undefined
  readback: ArrayBuffer
}

export interface Failure {
  readonly message: string
  readonly name: string
  readonly deviceId?: string
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly notes?: readonly string[] }
  | {
      readonly id: number
      readonly ok: false
      readonly error: Failure
      readonly notes?: readonly string[]
      /** A wait on the device timed out: its queue may never drain, so the process must be killed. */
      readonly hung: boolean
    }

export type ProcessMessage = Reply | { readonly ready: true } | { readonly heartbeat: true }

/** The options the process is started with, as its one argument (JSON). */
export type StartOptions = Omit<ResolvedOptions, 'isolation'>
