/**
 * Core's Runnable over a native one. The native side owns the buffers and times the work; this
 * adapter checks the call order (cold once, before run), turns native errors into BackendErrors
 * naming the workload and the device, and verifies by running the very same native kernel on the
 * inputs core generates, with the outputs poisoned in native memory before the run.
 */
import {
  BackendError,
  type BackendKind,
  type DeviceDescription,
  type DurationNs,
  describeWorkload,
  messageOf,
  type Runnable,
  type TimingMethod,
  type VerifyReport,
  verifyWorkload,
  type Workload,
} from '@gpubench/core'
import type { NativeRunnable } from './addon-types.ts'

export { messageOf }

/** A BackendError whose message names the workload and the device: "gemm 1x8x8x8 f32 on cpu-amd-epyc-2c: <why>". */
export function workloadError(
  workload: Workload | string,
  backend: BackendKind,
  deviceId: string | undefined,
  why: string,
): BackendError {
  const what = typeof workload === 'string' ? workload : describeWorkload(workload)
  return new BackendError(`${what} on ${deviceId ?? backend}: ${why}`, backend, deviceId)
}

export class NativeRunnableAdapter implements Runnable {
  readonly target: Workload
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  private native: NativeRunnable | null
  private coldDone = false
  /** The native notes, read again after each run: how samples are timed and what energy covers are settled by the runs. */
  private nativeNotes: string[]
  /** Device energy per run in joules (what it covers is in the notes); null when the device does not report it. */
  energyJoulesPerRun: number | null = null

  constructor(target: Workload, device: DeviceDescription, timing: TimingMethod, native: NativeRunnable) {
    this.target = target
    this.device = device
    this.timing = timing
    this.native = native
    this.nativeNotes = native.notes()
  }

  get notes(): readonly string[] {
    return this.nativeNotes
  }

  private fail(why: string): BackendError {
    return workloadError(this.target, this.device.backend, this.device.id, why)
  }

  private live(): NativeRunnable {
    if (!this.native) throw this.fail('the runnable was disposed')
    return this.native
  }

  private call<T>(f: (native: NativeRunnable) => T): T {
    const native = this.live()
    try {
      return f(native)
    } catch (error) {
      throw this.fail(messageOf(error))
    }
  }

  async cold(): Promise<DurationNs> {
    if (this.coldDone) throw this.fail('cold() may run only once, before run()')
    this.coldDone = true
    return this.call((n) => n.cold())
  }

  async run(n: number): Promise<DurationNs[]> {
    if (!Number.isInteger(n) || n < 1) throw this.fail(`run(n): n must be a positive integer, got ${n}`)
    this.coldDone = true
    const durations = this.call((native) => Array.from(native.run(n)))
    this.energyJoulesPerRun = this.call((native) => native.energyJoulesPerRun())
    this.nativeNotes = this.call((native) => native.notes())
    return durations
  }

  async verify(): Promise<VerifyReport> {
    this.live()
    return verifyWorkload(this.target, (io) => {
      this.call((native) => {
        for (const [name, data] of Object.entries(io.inputs)) native.write(name, data)
        for (const [name, data] of Object.entries(io.outputs)) native.write(name, data)
        native.run(1)
        for (const [name, data] of Object.entries(io.outputs)) native.read(name, data)
      })
    })
  }

  async dispose(): Promise<void> {
    const native = this.native
    this.native = null
    native?.dispose()
  }
}
