/**
 * The training contract between core and a backend. A backend that trains implements one
 * `TrainingSession` per prepared workload (its own buffers and kernels, parameters in core's flat
 * layout); core turns it into a `Runnable` (`trainingRunnable`): `run(n)` is n timed steps,
 * `verify()` is `verifyTraining` (verify.ts), and the notes carry the step's figures. A new backend
 * (WebGPU, CUDA, Metal) implements the session only.
 *
 * Benchmarks carry the workload in a backend target (`trainTarget`): the plugin then treats it as
 * any target with declared work counts (FLOP and bytes per step), and the backend named runs it.
 */
import type { BackendKind, BackendTarget, DeviceDescription, Runnable, TimingMethod } from '../backend.ts'
import { medianOf } from '../measure/statistics.ts'
import type { DurationNs } from '../units.ts'
import { formatBytes, formatDuration, formatFlops } from '../units.ts'
import { trainBytesOf, trainFlopsOf, trainMemoryEstimateOf, trainReferenceRefusal } from './counts.ts'
import { initParameters, trainData } from './data.ts'
import { type TrainVerifyOptions, type TrainVerifyReport, verifyByProxy, verifyTraining } from './verify.ts'
import { describeTrain, parameterCount, type TrainWorkload, train } from './workload.ts'

/** One timed training step, as a backend measures it. */
export interface TrainStepRecord {
  /** The whole step: forward, backward and optimizer, as one duration. */
  readonly stepNs: DurationNs
  readonly forwardNs: DurationNs
  readonly backwardNs: DurationNs
  readonly optimizerNs: DurationNs
  /** The loss of this step's forward pass (before its update). */
  readonly loss: number
  /** Resident set size of the process after the step, in bytes (NaN where the backend cannot tell). */
  readonly rssBytes: number
  /** Page faults of the process during the step (getrusage), NaN where unknown. */
  readonly minorFaults: number
  readonly majorFaults: number
  /** The loss scale the step ran with (1 without mixed precision). */
  readonly lossScale: number
  /** True when the update was skipped because the scaled gradients overflowed (mixed precision). */
  readonly skipped: boolean
  /** Energy of the step in joules, null where the device does not report it (see `energy` of the session). */
  readonly energyJoules: number | null
  /**
   * Device memory in use after the step, in bytes, as the backend's driver counts it (CUDA: the
   * whole device's, every process's; Metal: this process's allocations; the runnable's notes say
   * which); absent where the backend has no memory of its own to report (the CPU).
   */
  readonly deviceBytes?: number
}

/** A backend's prepared training step (see the module comment). Methods reject with a message naming the problem. */
export interface TrainingSession {
  readonly workload: TrainWorkload
  /** Uploads f32 master weights in core's layout, zeroes AdamW's moments and restarts the step count at 1. */
  setParameters(parameters: Float32Array): Promise<void>
  /** Uploads batch x (seq + 1) token ids. */
  setTokens(tokens: Int32Array): Promise<void>
  /** Fills every gradient with NaN, so a gradient the backward does not write shows. */
  poisonGradients(): Promise<void>
  /** Forward and backward on the uploaded batch, without an update; returns the loss. */
  forwardBackward(): Promise<number>
  readGradients(out: Float32Array): Promise<void>
  writeGradients(gradients: Float32Array): Promise<void>
  /** AdamW over the current gradients, then the step count advances. */
  optimizerStep(): Promise<void>
  readParameters(out: Float32Array): Promise<void>
  /** AdamW's first and second moments. */
  readMoments(m: Float32Array, v: Float32Array): Promise<void>
  /** n full steps (forward, backward, AdamW) on the uploaded batch, each timed by phase. */
  steps(n: number): Promise<TrainStepRecord[]>
  /** Energy per step: 'reported', or why not ("unavailable: ..."). */
  readonly energy: string
  /** What ran: kernels, threads, GEMM. */
  readonly notes: readonly string[]
  /** Peak resident set size of the process so far, in bytes; NaN where unknown. */
  peakRssBytes(): number
  /** The most device memory seen in use so far, in bytes, where the backend reports device memory (`deviceBytes`). */
  peakDeviceBytes?(): number
  dispose(): Promise<void>
}

/** A benchmark target for a training workload on one backend. */
export interface TrainTarget extends BackendTarget {
  readonly spec: TrainWorkload
  /** FLOP of one step (counts.ts), so the plugin reports FLOP/s. */
  readonly flops: number
  readonly bytes: number
}

/** The target `bench.gpu` measures: one training step of `w` on `backend`. */
export function trainTarget(w: TrainWorkload, backend: BackendKind): TrainTarget {
  return Object.freeze({
    kind: 'custom' as const,
    backend,
    name: describeTrain(w),
    spec: w,
    flops: trainFlopsOf(w).total,
    bytes: trainBytesOf(w),
  })
}

/** The training workload a target carries, validated again (a hand-made object may be malformed), or null when it carries none. */
export function trainWorkloadOf(target: unknown): TrainWorkload | null {
  if (typeof target !== 'object' || target === null) return null
  const t = target as { kind?: unknown; spec?: unknown }
  if (t.kind !== 'custom' || typeof t.spec !== 'object' || t.spec === null) return null
  if ((t.spec as { kind?: unknown }).kind !== 'train') return null
  const s = t.spec as TrainWorkload
  return train({ ...s })
}

/** The median of a run's figures; NaN for no steps. */
function median(values: readonly number[]): number {
  return medianOf(values) ?? Number.NaN
}

/** Figures of a run of steps, for notes and reports. */
export interface TrainFigures {
  readonly steps: number
  readonly medianStepNs: number
  readonly medianForwardNs: number
  readonly medianBackwardNs: number
  readonly medianOptimizerNs: number
  readonly samplesPerSecond: number
  readonly tokensPerSecond: number
  readonly flopPerSecond: number
  readonly modelFlopPerSecond: number
  readonly firstLoss: number
  readonly lastLoss: number
  readonly minorFaultsPerStep: number
  readonly majorFaultsPerStep: number
  readonly lastRssBytes: number
  /** Device memory in use after the last step (TrainStepRecord.deviceBytes), null where not reported. */
  readonly lastDeviceBytes: number | null
  /** Steps whose update was skipped for an overflow (mixed precision), and the last loss scale. */
  readonly skippedSteps: number
  readonly lastLossScale: number
  /** Mean energy per step in joules, null where not reported. */
  readonly joulesPerStep: number | null
}

/** Medians and rates of the steps recorded (at least one). Time: O(steps · log steps). */
export function trainFigures(w: TrainWorkload, records: readonly TrainStepRecord[]): TrainFigures {
  if (records.length === 0) throw new Error('trainFigures: no steps recorded')
  const step = median(records.map((r) => r.stepNs))
  const flops = trainFlopsOf(w)
  const energies = records.map((r) => r.energyJoules)
  const joules = energies.every((e) => e !== null)
    ? (energies as number[]).reduce((a, b) => a + b, 0) / records.length
    : null
  return {
    steps: records.length,
    medianStepNs: step,
    medianForwardNs: median(records.map((r) => r.forwardNs)),
    medianBackwardNs: median(records.map((r) => r.backwardNs)),
    medianOptimizerNs: median(records.map((r) => r.optimizerNs)),
    samplesPerSecond: (w.batch * 1e9) / step,
    tokensPerSecond: (w.batch * w.seq * 1e9) / step,
    flopPerSecond: (flops.total * 1e9) / step,
    modelFlopPerSecond: (flops.model * 1e9) / step,
    firstLoss: records[0]!.loss,
    lastLoss: records[records.length - 1]!.loss,
    minorFaultsPerStep: records.reduce((s, r) => s + r.minorFaults, 0) / records.length,
    majorFaultsPerStep: records.reduce((s, r) => s + r.majorFaults, 0) / records.length,
    lastRssBytes: records[records.length - 1]!.rssBytes,
    lastDeviceBytes: records[records.length - 1]!.deviceBytes ?? null,
    skippedSteps: records.filter((r) => r.skipped).length,
    lastLossScale: records[records.length - 1]!.lossScale,
    joulesPerStep: joules,
  }
}

/** The figures as note lines: phases, rates, memory, page faults, energy. */
export function trainFigureNotes(w: TrainWorkload, f: TrainFigures, session: TrainingSession): string[] {
  const mem = trainMemoryEstimateOf(w)
  const rate = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3))
  return [
    `training step (median of ${f.steps}): ${formatDuration(f.medianStepNs)}; forward ${formatDuration(f.medianForwardNs)}, backward ${formatDuration(f.medianBackwardNs)}, optimizer ${formatDuration(f.medianOptimizerNs)}`,
    `throughput: ${rate(f.samplesPerSecond)} samples/s, ${rate(f.tokensPerSecond)} tokens/s, ${formatFlops(f.flopPerSecond)} (model ${formatFlops(f.modelFlopPerSecond)})`,
    `model: ${parameterCount(w.model)} parameters; memory estimate ${formatBytes(mem.totalBytes)} (weights ${formatBytes(mem.weightsBytes)}, gradients ${formatBytes(mem.gradientsBytes)}, AdamW state ${formatBytes(mem.optimizerBytes)}, activations ${formatBytes(mem.activationsBytes)})`,
    `process memory: RSS ${formatBytes(f.lastRssBytes)} after the last step, peak ${formatBytes(session.peakRssBytes())}; page faults per step: ${f.minorFaultsPerStep.toFixed(1)} minor, ${f.majorFaultsPerStep.toFixed(1)} major (getrusage)`,
    ...(f.lastDeviceBytes === null
      ? []
      : [
          `device memory: ${formatBytes(f.lastDeviceBytes)} in use after the last step, peak ${formatBytes(session.peakDeviceBytes?.() ?? f.lastDeviceBytes)}`,
        ]),
    `loss: ${f.firstLoss.toFixed(4)} at the first step measured, ${f.lastLoss.toFixed(4)} at the last${w.dtype === 'f16' ? `; loss scale ${f.lastLossScale}, ${f.skippedSteps} of ${f.steps} steps skipped for overflow` : ''}`,
    f.joulesPerStep === null ? `energy: ${session.energy}` : `energy: ${f.joulesPerStep.toPrecision(4)} J per step`,
  ]
}

/**
 * Core's Runnable over a backend's training session: `cold()` is the first step after uploading
 * the seeded parameters and data (which are not timed), `run(n)` n more steps, `verify()` core's
 * verification on a fresh upload (parameters and data are uploaded again after it, so timing
 * continues from a known state). Every step's record is kept (`records`) for the figures.
 */
export class TrainingRunnable implements Runnable {
  readonly target: TrainTarget
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  readonly workload: TrainWorkload
  /** Every step measured so far, cold first. */
  readonly records: TrainStepRecord[] = []
  private session: TrainingSession | null
  private uploaded = false
  private readonly verifyOptions: TrainVerifyOptions

  constructor(
    target: TrainTarget,
    device: DeviceDescription,
    timing: TimingMethod,
    session: TrainingSession,
    verifyOptions: TrainVerifyOptions = {},
  ) {
    this.target = target
    this.device = device
    this.timing = timing
    this.workload = session.workload
    this.session = session
    this.verifyOptions = verifyOptions
  }

  private live(): TrainingSession {
    if (!this.session) throw new Error(`${describeTrain(this.workload)}: the runnable was disposed`)
    return this.session
  }

  private async upload(): Promise<void> {
    const s = this.live()
    await s.setParameters(initParameters(this.workload.model, this.workload.initSeed))
    await s.setTokens(trainData(this.workload))
    this.uploaded = true
  }

  async cold(): Promise<DurationNs> {
    if (!this.uploaded) await this.upload()
    const [record] = await this.live().steps(1)
    if (!record) throw new Error(`${describeTrain(this.workload)}: the backend returned no step`)
    this.records.push(record)
    return record.stepNs
  }

  async run(n: number): Promise<DurationNs[]> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`run(n): n must be a positive integer, got ${n}`)
    if (!this.uploaded) await this.upload()
    const records = await this.live().steps(n)
    this.records.push(...records)
    return records.map((r) => r.stepNs)
  }

  /** n more steps, returning their records (for a series over a longer run). */
  async steps(n: number): Promise<TrainStepRecord[]> {
    if (!this.uploaded) await this.upload()
    const records = await this.live().steps(n)
    this.records.push(...records)
    return records
  }

  async verify(): Promise<TrainVerifyReport> {
    const { proxy } = this.verifyOptions
    const report =
      proxy && trainReferenceRefusal(this.workload) !== null
        ? await verifyByProxy(this.live(), proxy, this.verifyOptions)
        : await verifyTraining(this.live(), this.verifyOptions)
    await this.upload()
    return report
  }

  get notes(): readonly string[] {
    if (!this.session) return this.frozenNotes
    const base = this.session.notes
    if (this.records.length === 0) return base
    // The cold step is left out of the figures: it includes first-touch page faults and pool start-up.
    const warm = this.records.length > 1 ? this.records.slice(1) : this.records
    return [...base, ...trainFigureNotes(this.workload, trainFigures(this.workload, warm), this.session)]
  }

  async dispose(): Promise<void> {
    const s = this.session
    if (!s) return
    // Notes stay readable after dispose, as they were then.
    this.frozenNotes = this.notes
    this.session = null
    await s.dispose()
  }

  private frozenNotes: readonly string[] = []
}
