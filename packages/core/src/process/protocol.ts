/**
 * The messages between a backend and its device process (Node IPC with the 'advanced'
 * serialization, so typed arrays, ArrayBuffers and Infinity cross as they are).
 *
 * The backend sends operations with an id; the process answers each id once. Besides answers the
 * process sends `ready` once its modules are loaded and a heartbeat every HEARTBEAT_MS while its
 * event loop is free, so the backend can tell a process blocked (silent) from one waiting on a
 * slow kernel. A backend names its own operations; two names carry meaning here: 'prepare' (its
 * answer holds a runnable's `handle`) and 'dispose' (that runnable is gone).
 */

/** How often a device process says it is alive. */
export const HEARTBEAT_MS = 250

/** How long a silent process gets beyond its timeout before it is taken for blocked (heartbeats are HEARTBEAT_MS apart). */
export const SILENCE_GRACE_MS = 2_000

/** One operation: its name and its arguments (structured-cloneable). */
export interface DeviceOperation {
  readonly op: string
}

/** Any operation, with its arguments unknown: what code serving several backends passes on. */
export type AnyOperation = DeviceOperation & { readonly [argument: string]: unknown }

export type DeviceRequest = DeviceOperation & { readonly id: number }

/** An error, as it crosses the process boundary. */
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
