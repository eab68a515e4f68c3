/**
 * A WebGPU runnable whose device work happens in a device process: core's RemoteRunnable (one
 * request per operation, the process's durations, the host clock's beside them) plus what a user
 * kernel's check() needs, buffers in and out and a verification run. That check() runs here, on
 * buffers read back through the process; a core workload is verified inside the process.
 */
import { RemoteRunnable as CoreRemoteRunnable, type Prepared, type VerifyReport } from '@gpubench/core'
import type { Verifier, WebgpuRunnable } from '../webgpu-runnable.ts'
import type { WebgpuProcess } from './client.ts'

export class RemoteRunnable extends CoreRemoteRunnable implements WebgpuRunnable {
  /** Undefined: verified inside the process. */
  readonly #verifier: Verifier | undefined

  constructor(
    process: WebgpuProcess,
    handle: number,
    prepared: Prepared,
    label: string,
    verifier: Verifier | undefined,
  ) {
    super(process, handle, prepared, label)
    this.#verifier = verifier
  }

  runOnce(): Promise<void> {
    return this.call({ op: 'run-once', handle: this.handle }, 'a verification run')
  }

  upload(name: string, data: ArrayBufferView): Promise<void> {
    // A copy of exactly the view's bytes: a view would carry its whole underlying buffer across.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
    return this.call({ op: 'upload', handle: this.handle, name, data: bytes }, 'upload()')
  }

  readback(name: string): Promise<ArrayBuffer> {
    return this.call({ op: 'readback', handle: this.handle, name }, 'readback()')
  }

  override verify(): Promise<VerifyReport> {
    if (!this.#verifier) return super.verify()
    if (this.disposed) return Promise.reject(this.error(`${this.label}: verify() after dispose()`))
    return this.#verifier(this)
  }
}
