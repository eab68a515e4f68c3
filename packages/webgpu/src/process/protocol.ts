/**
 * The operations between the WebGPU backend and its device process, on core's protocol
 * (core's process/protocol.ts: ids, answers, `ready`, heartbeats): core's runnable operations
 * (cold, run, verify, dispose) and WebGPU's own (probe, prepare, a verification run, buffers in
 * and out for a user kernel's check()).
 */
import type { DurationNs, Probe, RunnableOperation, RunnableResults, TrainTarget, Workload } from '@gpubench/core'
import type { ResolvedOptions } from '../options.ts'
import type { Plan } from '../plan.ts'

/** What the device process prepares: a core workload (planned there) or a user kernel's plan (made here, where its `init` functions live). */
export type PrepareJob =
  | { readonly kind: 'workload'; readonly workload: Workload }
  | { readonly kind: 'kernel'; readonly name: string; readonly plan: Plan }
  /** A training step (core's trainTarget): built, run and verified in the process like a core workload. */
  | { readonly kind: 'train'; readonly target: TrainTarget }

export type Operation =
  | RunnableOperation
  | { readonly op: 'probe' }
  | { readonly op: 'prepare'; readonly job: PrepareJob }
  | { readonly op: 'run-once'; readonly handle: number }
  | { readonly op: 'upload'; readonly handle: number; readonly name: string; readonly data: Uint8Array }
  | { readonly op: 'readback'; readonly handle: number; readonly name: string }

/** What each operation answers. */
export interface Results extends RunnableResults {
  probe: Probe
  prepare: { handle: number; timing: 'webgpu-timestamps' | 'host-submit-wait'; notes: readonly string[] }
  run: { deviceNs: DurationNs[]; hostNs: DurationNs[] }
  'run-once': undefined
  upload: undefined
  readback: ArrayBuffer
}

/** The options the process is started with, as its one argument (JSON). */
export type StartOptions = Omit<ResolvedOptions, 'isolation'>
