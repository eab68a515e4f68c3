/**
 * Training on the native backends: core's TrainingSession over the addon's TrainSession (the step
 * in src/cpu/train.cpp, src/cuda/train.cu, src/metal/train.mm), and the Runnable core builds from
 * it. f32, and f16 as mixed precision (f16 operands of every product, f32 master weights and AdamW
 * state, a loss scale with overflow skip), on every backend alike.
 *
 * Energy per step: on the CPU from RAPL (Linux's powercap, package 0) when its counter is readable,
 * read here around each call of `steps(n)` and divided evenly among its steps (it covers the whole
 * CPU package, not only this process); on CUDA from NVML's total-energy counter, read the same way
 * by the addon; Metal says why it has none. Device memory in use after each step comes from the
 * GPU backends (TrainStepRecord.deviceBytes).
 */
import { readFileSync } from 'node:fs'
import {
  BackendUnavailableError,
  type DeviceDescription,
  type Probe,
  type Target,
  type TimingMethod,
  TrainingRunnable,
  type TrainingSession,
  type TrainStepRecord,
  type TrainTarget,
  type TrainWorkload,
  trainMemoryRefusal,
  trainWorkloadOf,
} from '@gpubench/core'
import type { NativeCpuOptions, NativeCudaOptions, NativeTrainBackend, NativeTrainSession } from './addon-types.ts'
import { loadAddon } from './load.ts'
import { messageOf, workloadError } from './native-runnable.ts'

/** The training workload of a target for `backend` (core's trainTarget), or what is wrong with it; null for any other target. */
export function trainingOf(
  target: Target,
  backend: NativeTrainBackend,
): { workload: TrainWorkload; error?: undefined } | { workload?: undefined; error: string } | null {
  if (target.kind !== 'custom' || target.backend !== backend) return null
  try {
    const workload = trainWorkloadOf(target)
    return workload ? { workload } : null
  } catch (error) {
    return { error: messageOf(error) }
  }
}

/**
 * Why a GPU backend will not train `w`, or null: the step's buffers over the safe share of the
 * device's memory (verification's float64 copies live in host memory and are not counted; a step
 * too large for the reference is verified by proxy, core's verifyByProxy, so it is not refused for
 * that). Decided before anything is allocated.
 */
export function gpuTrainRefusal(w: TrainWorkload, deviceMemoryBytes: number | undefined): string | null {
  if (deviceMemoryBytes === undefined || !(deviceMemoryBytes > 0)) return null
  return trainMemoryRefusal(w, { verify: false, availableBytes: deviceMemoryBytes })
}

/** RAPL's package-0 energy counter, or why it cannot be read. */
export type EnergyCounter = { readonly read: () => number; readonly rangeJoules: number } | { readonly reason: string }

const RAPL = '/sys/class/powercap/intel-rapl:0'

/** Opens RAPL's package counter (microjoules, wrapping at max_energy_range_uj); `root` for tests. */
export function raplCounter(root: string = RAPL): EnergyCounter {
  try {
    const range = Number(readFileSync(`${root}/max_energy_range_uj`, 'utf8')) / 1e6
    const read = () => Number(readFileSync(`${root}/energy_uj`, 'utf8')) / 1e6
    const first = read()
    if (!Number.isFinite(first) || !(range > 0)) return { reason: `unavailable: ${root} holds no energy counter` }
    return { read, rangeJoules: range }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? `no RAPL counter at ${root} (not an Intel or AMD CPU with powercap, or a virtual machine that hides it)`
        : code === 'EACCES'
          ? `${root}/energy_uj is readable only by root on this system`
          : messageOf(error)
    return { reason: `unavailable: ${why}` }
  }
}

/** Columns of a row of the addon's steps(n) (train-addon.h). */
const STEP_COLUMNS = 12

class NativeTrainingSession implements TrainingSession {
  readonly workload: TrainWorkload
  readonly energy: string
  private native: NativeTrainSession | null
  /** A counter read here (RAPL for the CPU), or null when the addon reads energy itself. */
  private readonly counter: EnergyCounter | null

  constructor(workload: TrainWorkload, native: NativeTrainSession, counter: EnergyCounter | null) {
    this.workload = workload
    this.native = native
    this.counter = counter
    this.energy = counter
      ? 'read' in counter
        ? 'reported (RAPL package 0, whole CPU package)'
        : counter.reason
      : native.energySource()
  }

  private live(): NativeTrainSession {
    if (!this.native) throw new Error('the training session was disposed')
    return this.native
  }

  get notes(): readonly string[] {
    return this.native ? this.native.notes() : []
  }

  async setParameters(parameters: Float32Array): Promise<void> {
    this.live().write('parameters', parameters)
  }
  async setTokens(tokens: Int32Array): Promise<void> {
    this.live().setTokens(tokens)
  }
  async poisonGradients(): Promise<void> {
    this.live().poisonGradients()
  }
  async forwardBackward(): Promise<number> {
    return this.live().forwardBackward()
  }
  async readGradients(out: Float32Array): Promise<void> {
    this.live().read('gradients', out)
  }
  async writeGradients(gradients: Float32Array): Promise<void> {
    this.live().write('gradients', gradients)
  }
  async optimizerStep(): Promise<void> {
    this.live().optimizerStep()
  }
  async readParameters(out: Float32Array): Promise<void> {
    this.live().read('parameters', out)
  }
  async readMoments(m: Float32Array, v: Float32Array): Promise<void> {
    this.live().read('m', m)
    this.live().read('v', v)
  }

  async steps(n: number): Promise<TrainStepRecord[]> {
    const counter = this.counter && 'read' in this.counter ? this.counter : null
    const before = counter?.read()
    const rows = this.live().steps(n)
    let joules: number | null = null
    if (counter && before !== undefined) {
      let spent = counter.read() - before
      if (spent < 0) spent += counter.rangeJoules // the counter wrapped
      joules = spent / n
    }
    const out: TrainStepRecord[] = []
    for (let i = 0; i < n; i++) {
      const r = rows.subarray(i * STEP_COLUMNS, (i + 1) * STEP_COLUMNS)
      const deviceBytes = r[10]!
      const nativeJoules = r[11]!
      out.push({
        stepNs: r[0]!,
        forwardNs: r[1]!,
        backwardNs: r[2]!,
        optimizerNs: r[3]!,
        loss: r[4]!,
        rssBytes: r[5]!,
        minorFaults: r[6]!,
        majorFaults: r[7]!,
        lossScale: r[8]!,
        skipped: r[9] === 1,
        energyJoules: joules ?? (Number.isFinite(nativeJoules) ? nativeJoules : null),
        ...(Number.isFinite(deviceBytes) ? { deviceBytes } : {}),
      })
    }
    return out
  }

  peakRssBytes(): number {
    return this.native ? this.native.peakRssBytes() : Number.NaN
  }

  peakDeviceBytes(): number {
    return this.native ? this.native.peakDeviceBytes() : Number.NaN
  }

  async dispose(): Promise<void> {
    this.native?.dispose()
    this.native = null
  }
}

export interface NativeTrainOptions {
  /** Tests only: flips the sign of one kernel's backward (core's TRAIN_FAULTS). */
  readonly fault?: string
  /** CPU only: the energy counter; RAPL's by default. */
  readonly energy?: EnergyCounter
}

/** A training session on a native backend, without the Runnable around it (for tests and scripts). */
export async function nativeTrainingSession(
  backend: NativeTrainBackend,
  workload: TrainWorkload,
  options: NativeCpuOptions | NativeCudaOptions = {},
  extra: NativeTrainOptions = {},
): Promise<TrainingSession> {
  const load = await loadAddon()
  if (!load.ok) throw new BackendUnavailableError(`${backend} backend unavailable: ${load.reason}`, backend)
  const Session = load.addon.TrainSession
  if (!Session) {
    throw new BackendUnavailableError(
      `${backend} backend cannot train: this addon was built without the training step; rebuild it (scripts/build.mjs)`,
      backend,
    )
  }
  const native = new Session(backend, workload, options, extra.fault)
  return new NativeTrainingSession(workload, native, backend === 'cpu' ? (extra.energy ?? raplCounter()) : null)
}

/** The CPU's training session (nativeTrainingSession on 'cpu'). */
export function cpuTrainingSession(
  workload: TrainWorkload,
  options: NativeCpuOptions,
  extra: NativeTrainOptions = {},
): Promise<TrainingSession> {
  return nativeTrainingSession('cpu', workload, options, extra)
}

/**
 * The Runnable a native backend prepares for a training target. On the GPU backends a step too
 * large for verification's reference is verified by proxy, on a session of the same backend.
 */
export async function prepareNativeTraining(
  backend: NativeTrainBackend,
  target: TrainTarget,
  workload: TrainWorkload,
  device: DeviceDescription,
  timing: TimingMethod,
  options: NativeCpuOptions | NativeCudaOptions = {},
): Promise<TrainingRunnable> {
  const session = await nativeTrainingSession(backend, workload, options)
  const proxy = (w: TrainWorkload) => nativeTrainingSession(backend, w, options)
  return new TrainingRunnable(target, device, timing, session, backend === 'cpu' ? {} : { proxy })
}

/**
 * A native backend's `supports` for a training target: what is wrong with the target, else the
 * backend's refusal (memory, verification's budget), else true; null when `target` is not a
 * training target of this backend.
 */
export function trainingSupport(
  backend: NativeTrainBackend,
  target: Target,
  refusal: (w: TrainWorkload) => string | null,
): true | string | null {
  const training = trainingOf(target, backend)
  if (!training) return null
  return training.error ?? refusal(training.workload) ?? true
}

/**
 * A native backend's `prepare` for a training target (null when `target` is not one): refused
 * when the backend is unavailable, the target malformed or the backend's refusal says so, all
 * before allocating; a native failure becomes a BackendError naming the step and the device.
 */
export async function prepareTrainingTarget(
  backend: NativeTrainBackend,
  probe: Probe,
  target: Target,
  refusal: (w: TrainWorkload) => string | null,
  timing: TimingMethod,
  options: NativeCpuOptions | NativeCudaOptions = {},
): Promise<TrainingRunnable | null> {
  const training = trainingOf(target, backend)
  if (!training) return null
  const name = (target as TrainTarget).name
  if (!probe.available) throw new BackendUnavailableError(`${backend} backend unavailable: ${probe.reason}`, backend)
  if (training.error !== undefined) throw workloadError(name, backend, probe.device.id, training.error)
  const refused = refusal(training.workload)
  if (refused !== null) throw workloadError(name, backend, probe.device.id, refused)
  try {
    return await prepareNativeTraining(backend, target as TrainTarget, training.workload, probe.device, timing, options)
  } catch (error) {
    throw workloadError(name, backend, probe.device.id, messageOf(error))
  }
}
