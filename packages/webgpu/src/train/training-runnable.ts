/**
 * The runnable the WebGPU backend prepares for a training target: core's TrainingRunnable over
 * the WGSL step (training-session.ts), with the host clock beside the device's as every WebGPU
 * runnable has. A training step has no named buffers, so the plain-buffer operations a user
 * kernel's verifier needs are refused; core's verifyTraining runs inside verify().
 */
import {
  BackendError,
  type DeviceDescription,
  type DurationNs,
  type TimingMethod,
  TrainingRunnable,
  type TrainStepRecord,
  type TrainTarget,
  type TrainVerifyReport,
  type TrainWorkload,
} from '@gpubench/core'
import type { ResolvedOptions } from '../options.ts'
import type { WebgpuRunnable } from '../webgpu-runnable.ts'
import { WebgpuTrainingSession, type WebgpuTrainOptions } from './training-session.ts'

export class WebgpuTrainingRunnable implements WebgpuRunnable {
  readonly target: TrainTarget
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  readonly #inner: TrainingRunnable
  readonly #session: WebgpuTrainingSession

  private constructor(target: TrainTarget, device: DeviceDescription, session: WebgpuTrainingSession) {
    this.target = target
    this.device = device
    this.timing = session.timestamps ? 'webgpu-timestamps' : 'host-submit-wait'
    this.#session = session
    this.#inner = new TrainingRunnable(target, device, this.timing, session)
  }

  static async create(
    target: TrainTarget,
    workload: TrainWorkload,
    device: DeviceDescription,
    settings: ResolvedOptions,
    options: WebgpuTrainOptions = {},
  ): Promise<WebgpuTrainingRunnable> {
    const session = await WebgpuTrainingSession.open(workload, settings, device.id, options)
    return new WebgpuTrainingRunnable(target, device, session)
  }

  /** Every step measured so far, cold first (core's TrainingRunnable.records). */
  get records(): readonly TrainStepRecord[] {
    return this.#inner.records
  }

  get notes(): readonly string[] {
    return this.#inner.notes
  }

  get hostDurationsNs(): readonly DurationNs[] {
    return this.#session.hostStepNs
  }

  cold(): Promise<DurationNs> {
    return this.#inner.cold()
  }

  run(n: number): Promise<DurationNs[]> {
    return this.#inner.run(n)
  }

  /** n more steps, with their records (for a per-step series). */
  steps(n: number): Promise<TrainStepRecord[]> {
    return this.#inner.steps(n)
  }

  verify(): Promise<TrainVerifyReport> {
    return this.#inner.verify()
  }

  dispose(): Promise<void> {
    return this.#inner.dispose()
  }

  #refuse(what: string): never {
    throw new BackendError(
      `webgpu ${this.device.id}: ${this.target.name}: a training step has no named buffers (${what}); it is verified by verify()`,
      'webgpu',
      this.device.id,
    )
  }

  async upload(name: string): Promise<void> {
    this.#refuse(`upload of '${name}'`)
  }

  async runOnce(): Promise<void> {
    this.#refuse('runOnce()')
  }

  async readback(name: string): Promise<ArrayBuffer> {
    this.#refuse(`readback of '${name}'`)
  }
}
