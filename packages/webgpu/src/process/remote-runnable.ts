/**
 * A runnable whose device work happens in a device process (see client.ts): every operation is
 * one request, answered with the durations measured there (device timestamps as in this process,
 * and the host clock beside them). A user kernel's check() runs here, on buffers read back
 * through the process; a core workload is verified inside the process, where its float64
 * reference is computed without moving its buffers.
 *
 * Once its process has ended (killed after a timeout, or crashed), every call fails with the
 * reason, and dispose() has nothing left to free.
 */
import {
  BackendError,
  type DeviceDescription,
  type DurationNs,
  type Target,
  type TimingMethod,
  type VerifyReport,
} from '@gpubench/core'
import type { Verifier, WebgpuRunnable } from '../webgpu-runnable.ts'
import type { DeviceProcess } from './client.ts'
import type { Operation, Results } from './protocol.ts'

type HandleOperation = Extract<Operation, { handle: number }>

export class RemoteRunnable implements WebgpuRunnable {
  readonly target: Target
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  notes: readonly string[]
  hostDurationsNs: readonly DurationNs[] = []
  readonly #process: DeviceProcess
  readonly #handle: number
  readonly #label: string
  /** Undefined: verified inside the process. */
  readonly #verifier: Verifier | undefined
  #disposed = false

  constructor(
    process: DeviceProcess,
    handle: number,
    prepared: { target: Target; device: DeviceDescription; timing: TimingMethod; notes: readonly string[] },
    label: string,
    verifier: Verifier | undefined,
  ) {
    this.#process = process
    this.#handle = handle
    this.target = prepared.target
    this.device = prepared.device
    this.timing = prepared.timing
    this.notes = prepared.notes
    this.#label = label
    this.#verifier = verifier
  }

  #error(message: string): BackendError {
    return new BackendError(`webgpu ${this.device.id}: ${message}`, 'webgpu', this.device.id)
  }

  async #call<K extends HandleOperation['op']>(
    operation: Extract<HandleOperation, { op: K }>,
    what: string,
  ): Promise<Results[K]> {
    if (this.#disposed) throw this.#error(`${this.#label}: ${what} after dispose()`)
    const ended = this.#process.ended
    if (ended !== undefined) {
      const reason = ended.startsWith('webgpu ') ? ended : `webgpu ${this.device.id}: ${this.#label}: ${ended}`
      throw new BackendError(`${reason} (this benchmark cannot continue)`, 'webgpu', this.device.id)
    }
    const answer = await this.#process.request<K>(operation, `${this.#label}: ${what}`)
    if (answer.notes) this.notes = answer.notes
    return answer.value
  }

  cold(): Promise<DurationNs> {
    return this.#call({ op: 'cold', handle: this.#handle }, 'cold()')
  }

  async run(n: number): Promise<DurationNs[]> {
    const { deviceNs, hostNs } = await this.#call({ op: 'run', handle: this.#handle, n }, 'run()')
    this.hostDurationsNs = hostNs
    return deviceNs
  }

  runOnce(): Promise<void> {
    return this.#call({ op: 'run-once', handle: this.#handle }, 'a verification run')
  }

  upload(name: string, data: ArrayBufferView): Promise<void> {
    // A copy of exactly the view's bytes: a view would carry its whole underlying buffer across.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
    return this.#call({ op: 'upload', handle: this.#handle, name, data: bytes }, 'upload()')
  }

  readback(name: string): Promise<ArrayBuffer> {
    return this.#call({ op: 'readback', handle: this.#handle, name }, 'readback()')
  }

  verify(): Promise<VerifyReport> {
    if (this.#verifier) {
      if (this.#disposed) return Promise.reject(this.#error(`${this.#label}: verify() after dispose()`))
      return this.#verifier(this)
    }
    return this.#call({ op: 'verify', handle: this.#handle }, 'verify()')
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    if (this.#process.ended !== undefined) return // the process and its device are gone already
    await this.#process.request({ op: 'dispose', handle: this.#handle }, `${this.#label}: dispose()`)
  }
}
