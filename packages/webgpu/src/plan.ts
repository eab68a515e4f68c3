/**
 * A plan: everything one benchmark puts on the device, as plain data. Core's workloads and users'
 * own kernels both become plans, so one runnable (runnable.ts) allocates, compiles, times,
 * verifies and frees both the same way.
 *
 * Invariants: buffer names are unique; every program binding names a plan buffer; a run records
 * `dispatches` in order into one compute pass, `repeat` times over, and its duration is divided
 * by `repeat` (launch latency reports time per dispatch).
 */
import type { Workgroups } from './kernels/wgsl.ts'

/** How a buffer is bound: read-write storage, read-only storage, or a uniform block. */
export const BINDING_KINDS = ['storage', 'read-only-storage', 'uniform'] as const
export type BindingKind = (typeof BINDING_KINDS)[number]

export interface PlanBuffer {
  readonly name: string
  /** Bytes the kernel sees; the GPU buffer is rounded up to a multiple of 4. */
  readonly sizeBytes: number
  readonly kind: BindingKind
  /** Initial contents (at most sizeBytes); zeros when absent. */
  readonly init?: Uint8Array
}

export interface PlanProgram {
  readonly label: string
  readonly wgsl: string
  readonly entryPoint: string
  /** Pipeline-overridable constants (`override` declarations), by name. */
  readonly constants?: Readonly<Record<string, number>>
  /** Buffer names bound at @group(0) @binding(0), @binding(1), … in order. */
  readonly bindings: readonly string[]
}

export interface PlanDispatch {
  /** Index into `programs`. */
  readonly program: number
  readonly workgroups: Workgroups
}

export interface Plan {
  readonly label: string
  /** Needs the `shader-f16` feature. */
  readonly f16: boolean
  readonly buffers: readonly PlanBuffer[]
  readonly programs: readonly PlanProgram[]
  readonly dispatches: readonly PlanDispatch[]
  /** Times the dispatch list is recorded per run; durations are reported per repetition. */
  readonly repeat: number
  /** Facts about the kernels a reader of the results needs (e.g. which GEMM kernel ran). */
  readonly notes?: readonly string[]
}

/** The bytes of a typed array, without copying. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}
