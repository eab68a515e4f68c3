/**
 * A runnable whose device work happens in a device process (client.ts): every operation is one
 * request, answered with the durations measured there (device timing as in the calling process;
 * the host clock beside them where the backend takes it). Core workloads and training steps are
 * verified inside the process, where the float64 reference is computed without moving buffers.
 *
 * Once its process has ended (killed after a timeout, or crashed), every call fails with the
 * reason, and dispose() has nothing left to free.
 */
import {
  BackendError,
  type BackendKind,
  type DeviceDescription,
  type Runnable,
  type Target,
  type TimingMethod,
} from '../backend.ts'
import type { VerifyReport } from '../reference.ts'
import type { DurationNs } from '../units.ts'
import type { Answer } from './client.ts'
import type { AnyOperation } from './protocol.ts'

/** The operations every remote runnable sends: core's Runnable, by handle. */
export type RunnableOperation =
  | { readonly op: 'cold'; readonly handle: number }
  | { readonly op: 'run'; readonly handle: number; readonly n: number }
  | { readonly op: 'verify'; readonly handle: number }
  | { readonly op: 'dispose'; readonly handle: number }

/** What `run` answers: device durations, and host durations where the backend takes them. */
export interface RemoteRun {
  readonly deviceNs: DurationNs[]
  readonly hostNs?: DurationNs[]
}

export interface RunnableResults {
  cold: DurationNs
  run: RemoteRun
  verify: VerifyReport
  dispose: undefined
}

/** What a remote runnable needs of its process (a DeviceProcess). */
export interface RemoteChannel {
  readonly ended: string | undefined
  send(operation: AnyOperation, what: string): Promise<Answer<unknown>>
}

/** What the process said of the runnable it prepared. */
export interface Prepared {
  readonly target: Target
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  readonly notes: readonly string[]
}

export class RemoteRunnable implements Runnable {
  readonly target: Target
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  notes: readonly string[]
  /** The host clock's durations of the last run(), where the process takes them; else empty. */
  hostDurationsNs: readonly DurationNs[] = []
  protected readonly handle: number
  protected readonly label: string
  readonly #channel: RemoteChannel
  #disposed = false

  constructor(channel: RemoteChannel, handle: number, prepared: Prepared, label: string) {
    this.#channel = channel
    this.handle = handle
    this.target = prepared.target
    this.device = prepared.device
    this.timing = prepared.timing
    this.notes = prepared.notes
    this.label = label
  }

  get backend(): BackendKind {
    return this.device.backend
  }

  get disposed(): boolean {
    return this.#disposed
  }

  protected error(message: string): BackendError {
    return new BackendError(`${this.backend} ${this.device.id}: ${message}`, this.backend, this.device.id)
  }

  /** Sends one operation on this runnable's handle; its answer's notes become the runnable's. */
  protected async call<T>(operation: AnyOperation & { readonly handle: number }, what: string): Promise<T> {
    if (this.#disposed) throw this.error(`${this.label}: ${what} after dispose()`)
    const ended = this.#channel.ended
    if (ended !== undefined) {
      const prefix = `${this.backend} `
      const reason = ended.startsWith(prefix) ? ended : `${prefix}${this.device.id}: ${this.label}: ${ended}`
      throw new BackendError(`${reason} (this benchmark cannot continue)`, this.backend, this.device.id)
    }
    let answer: Answer<unknown>
    try {
      answer = await this.#channel.send(operation, `${this.label}: ${what}`)
    } catch (error) {
      // Every failure names the device, as an in-process runnable's do.
      if (error instanceof BackendError && !error.message.includes(this.device.id)) {
        throw new BackendError(`${this.backend} ${this.device.id}: ${error.message}`, this.backend, this.device.id)
      }
      throw error
    }
    if (answer.notes) this.notes = answer.notes
    return answer.value as T
  }

  cold(): Promise<DurationNs> {
    return this.call({ op: 'cold', handle: this.handle }, 'cold()')
  }

  async run(n: number): Promise<DurationNs[]> {
    const { deviceNs, hostNs } = await this.call<RemoteRun>({ op: 'run', handle: this.handle, n }, 'run()')
    this.hostDurationsNs = hostNs ?? []
    return deviceNs
  }

  verify(): Promise<VerifyReport> {
    return this.call({ op: 'verify', handle: this.handle }, 'verify()')
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    if (this.#channel.ended !== undefined) return // the process and its device are gone already
    await this.#channel.send({ op: 'dispose', handle: this.handle }, `${this.label}: dispose()`)
  }
}
