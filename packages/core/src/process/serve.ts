/**
 * The device process's side of the protocol (protocol.ts): answers each operation with what
 * `perform` returns or throws, sends a heartbeat while its event loop is free, and ends itself the
 * moment its caller goes away (IPC disconnect), with SIGKILL: exit handlers of a driver may wait
 * on a queue that never drains.
 *
 * A backend's device process is a small module that builds its backend in this process and calls
 * serveDeviceProcess; the caller starts it with DeviceProcess.start (client.ts).
 */
import { BackendError, type BackendKind, type Runnable } from '../backend.ts'
import {
  type DeviceOperation,
  type DeviceRequest,
  type Failure,
  HEARTBEAT_MS,
  type ProcessMessage,
} from './protocol.ts'

export interface DeviceServer<Op extends DeviceOperation> {
  /** Does the operation; its value is the answer (structured-cloneable). */
  perform(operation: Op): Promise<unknown>
  /** Notes sent with the answer (a runnable's current notes), or undefined. */
  notesOf(operation: Op): readonly string[] | undefined
  /** Whether a wait on the device has timed out (the caller then kills this process). */
  hung(): boolean
}

function send(message: ProcessMessage): void {
  process.send?.(message)
}

/** Ends this process at once (SIGKILL to itself). */
export function killSelf(): never {
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable')
}

export function failureOf(error: unknown): Failure {
  if (!(error instanceof Error)) return { message: String(error), name: 'Error' }
  return {
    message: error.message,
    name: error.name,
    ...(error instanceof BackendError && error.deviceId !== undefined && { deviceId: error.deviceId }),
  }
}

/** Serves `server` on this process's IPC channel; `who` names the process in the refusal when there is none. */
export function serveDeviceProcess<Op extends DeviceOperation>(server: DeviceServer<Op>, who: string): void {
  if (!process.send) {
    console.error(`${who}: must be started by its backend with an IPC channel`)
    process.exit(2)
  }
  process.on('disconnect', killSelf)
  process.on('message', (message: Op & DeviceRequest) => {
    server.perform(message).then(
      (value) => {
        const notes = server.notesOf(message)
        send({ id: message.id, ok: true, value, ...(notes && { notes }) })
      },
      (error: unknown) => {
        const notes = server.notesOf(message)
        send({ id: message.id, ok: false, error: failureOf(error), hung: server.hung(), ...(notes && { notes }) })
      },
    )
  })
  setInterval(() => send({ heartbeat: true }), HEARTBEAT_MS)
  send({ ready: true })
}

/** The runnables a device process has prepared, by the handle its caller knows them by. */
export class RunnableTable<R extends Pick<Runnable, 'notes' | 'dispose'>> {
  readonly #backend: BackendKind
  readonly #runnables = new Map<number, R>()
  #next = 1

  constructor(backend: BackendKind) {
    this.#backend = backend
  }

  /** Keeps a prepared runnable; returns its handle. */
  add(runnable: R): number {
    const handle = this.#next++
    this.#runnables.set(handle, runnable)
    return handle
  }

  get(handle: number): R {
    const runnable = this.#runnables.get(handle)
    if (!runnable) throw new BackendError(`device process: no runnable ${handle}`, this.#backend)
    return runnable
  }

  /** Disposes and forgets a runnable; an unknown handle is ignored (dispose is safe twice). */
  async dispose(handle: number): Promise<void> {
    const runnable = this.#runnables.get(handle)
    this.#runnables.delete(handle)
    await runnable?.dispose()
  }

  /** The notes to send with the answer to an operation on a runnable (DeviceServer.notesOf). */
  notesOf(operation: DeviceOperation): readonly string[] | undefined {
    const handle = (operation as { handle?: unknown }).handle
    return typeof handle === 'number' ? this.#runnables.get(handle)?.notes : undefined
  }
}
