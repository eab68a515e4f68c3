/**
 * What the WebGPU backend hands out, whether the device work runs in this process
 * (runnable.ts) or in a device process (process/remote-runnable.ts): core's Runnable plus the
 * host clock beside the device's, and the plain operations a verifier needs.
 */
import type { DeviceDescription, DurationNs, Runnable, VerifyReport } from '@gpubench/core'

/** What a verifier needs of a runnable: its device, uploads, one run and readbacks. */
export interface KernelIO {
  readonly device: DeviceDescription
  /** Overwrites a buffer's contents (at most its size). */
  upload(name: string, data: ArrayBufferView): Promise<void>
  /** Runs the plan once (one repetition), waited for. */
  runOnce(): Promise<void>
  /** Copies a buffer back to the host (exactly its size in the plan). */
  readback(name: string): Promise<ArrayBuffer>
}

export type Verifier = (io: KernelIO) => Promise<VerifyReport>

export interface WebgpuRunnable extends Runnable, KernelIO {
  /** Host-clock duration per run of the last `run(n)` (submission to readback, divided evenly), beside the device's. */
  readonly hostDurationsNs: readonly DurationNs[]
}
