/**
 * The CPU backend's training: core's TrainingSession over the addon's TrainSession (the step in
 * src/cpu/train.cpp), and the Runnable core builds from it. f32, and f16 as mixed precision (f16
 * operands of every product on the own f16 GEMM, f32 master weights and AdamW state, a loss scale
 * with overflow skip).
 *
 * Energy per step comes from RAPL (Linux's powercap, package 0) when its counter is readable:
 * read around each call of `steps(n)` and divided evenly among its steps, and it covers the whole
 * CPU package, not only this process. Otherwise every step's energy is null and the session says why.
 */
import { readFileSync } from 'node:fs'
import {
  BackendUnavailableError,
  type DeviceDescription,
  TrainingRunnable,
  type TrainingSession,
  type TrainStepRecord,
  type TrainTarget,
  type TrainWorkload,
} from '@gpubench/core'
import type { NativeCpuOptions, NativeTrainSession } from './addon-types.ts'
import { loadAddon } from './load.ts'
import { messageOf } from './native-runnable.ts'

/** True when the CPU backend can train this workload, else the reason (both dtypes are implemented; kept as the one place to say otherwise). */
export function cpuTrainSupport(w: TrainWorkload): true | string {
  return w.dtype === 'f32' || w.dtype === 'f16' ? true : `the CPU backend does not train in ${String(w.dtype)}`
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

class CpuTrainingSession implements TrainingSession {
  readonly workload: TrainWorkload
  readonly energy: string
  private native: NativeTrainSession | null
  private readonly counter: EnergyCounter

  constructor(workload: TrainWorkload, native: NativeTrainSession, counter: EnergyCounter) {
    this.workload = workload
    this.native = native
    this.counter = counter
    this.energy = 'read' in counter ? 'reported (RAPL package 0, whole CPU package)' : counter.reason
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
    const counter = 'read' in this.counter ? this.counter : null
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
      const r = rows.subarray(i * 10, i * 10 + 10)
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
        energyJoules: joules,
      })
    }
    return out
  }

  peakRssBytes(): number {
    return this.native ? this.native.peakRssBytes() : Number.NaN
  }

  async dispose(): Promise<void> {
    this.native?.dispose()
    this.native = null
  }
}

export interface CpuTrainOptions {
  /** Tests only: flips the sign of one kernel's backward (core's TRAIN_FAULTS). */
  readonly fault?: string
  /** Energy counter; RAPL's by default. */
  readonly energy?: EnergyCounter
}

/** A training session on the CPU, without the Runnable around it (for tests and scripts). */
export async function cpuTrainingSession(
  workload: TrainWorkload,
  options: NativeCpuOptions,
  extra: CpuTrainOptions = {},
): Promise<TrainingSession> {
  const support = cpuTrainSupport(workload)
  if (support !== true) throw new BackendUnavailableError(support, 'cpu')
  const load = await loadAddon()
  if (!load.ok) throw new BackendUnavailableError(`cpu backend unavailable: ${load.reason}`, 'cpu')
  const Session = load.addon.TrainSession
  if (!Session) {
    throw new BackendUnavailableError(
      'cpu backend cannot train: this addon was built without the training step; rebuild it (scripts/build.mjs)',
      'cpu',
    )
  }
  const native = new Session('cpu', workload, options, extra.fault)
  return new CpuTrainingSession(workload, native, extra.energy ?? raplCounter())
}

/** The Runnable the CPU backend prepares for a training target. */
export async function prepareCpuTraining(
  target: TrainTarget,
  workload: TrainWorkload,
  device: DeviceDescription,
  options: NativeCpuOptions,
  extra: CpuTrainOptions = {},
): Promise<TrainingRunnable> {
  const session = await cpuTrainingSession(workload, options, extra)
  return new TrainingRunnable(target, device, 'steady-clock', session)
}
