/**
 * How the WebGPU backend times runs of a plan (as the native backends keep theirs in a timer file):
 *
 * - 'webgpu-timestamps' (TimestampTimer): each run is one compute pass with timestamp writes at
 *   its start and end; up to RUNS_PER_SUBMISSION runs go back to back into one command buffer and
 *   one submission, resolved and read back together. The host clock is read beside it (submit to
 *   readback, per run).
 * - 'host-submit-wait' (SubmitWaitTimer, without 'timestamp-query'): each run is its own
 *   submission, timed on the host from submit to completion, so it includes the submit-and-wait
 *   cost; that cost for an empty submission is measured once and stated in the notes.
 */
import { type DurationNs, medianOf, type TimingMethod } from '@gpubench/core'
import { BufferUsage, MAX_QUERIES_PER_SET, MapMode } from './constants.ts'
import type { Session } from './session.ts'

/** Runs per submission when timing with timestamps: two queries each fill one query set. */
export const RUNS_PER_SUBMISSION = MAX_QUERIES_PER_SET / 2

/**
 * While a WebGPU promise is pending, Dawn's Node binding polls the device from the main thread
 * without pause: on a software adapter that is one core taken from the rasteriser's own threads
 * (measured on 2 cores: 850 ms of main-thread CPU in a 1.2 s GEMM submission, samples spread
 * 44-88 ms). So after a timed submission the host sleeps through most of the device time the
 * previous submission took, and only then asks for the result. Device timestamps are unaffected
 * by how the host waits; only submissions expected to last longer than SLEEP_MIN_NS sleep, for
 * SLEEP_FRACTION of the expected time.
 */
export const SLEEP_MIN_NS = 2e6
export const SLEEP_FRACTION = 0.85

const EMPTY_SUBMISSIONS_MEASURED = 7

export function nowNs(): bigint {
  return process.hrtime.bigint()
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Records one run (all its repetitions) into a compute pass. */
export type RecordRun = (pass: GPUComputePassEncoder) => void

/** Durations of `count` runs: the device's per run, and the host clock's per run beside it. */
export interface TimedRuns {
  readonly device: DurationNs[]
  readonly host: DurationNs[]
}

export interface PassTimer {
  readonly method: TimingMethod
  /** `count` runs of `record`, each divided by `repeat` (the dispatches a run repeats). */
  time(count: number, repeat: number, record: RecordRun): Promise<TimedRuns>
  /** What the durations include, for the runnable's notes. */
  describe(): Promise<string>
}

/** The timer for a session: timestamps where the device has them. `hostNote` says why not, otherwise. */
export function timerFor(session: Session, label: string, hostNote: string): PassTimer {
  return session.timestamps ? new TimestampTimer(session, label) : new SubmitWaitTimer(session, label, hostNote)
}

export class TimestampTimer implements PassTimer {
  readonly method = 'webgpu-timestamps' as const
  readonly #session: Session
  readonly #label: string
  #querySet: GPUQuerySet | undefined
  #resolve: GPUBuffer | undefined
  #readback: GPUBuffer | undefined
  /** Device time of one run in the latest submission, from its timestamps (how long to sleep next). */
  #recentRunNs: number | undefined

  constructor(session: Session, label: string) {
    this.#session = session
    this.#label = label
  }

  async describe(): Promise<string> {
    return `webgpu-timestamps: timestamp queries at the start and end of each compute pass (Dawn's quantization disabled); up to ${RUNS_PER_SUBMISSION} runs back to back per submission`
  }

  async time(count: number, repeat: number, record: RecordRun): Promise<TimedRuns> {
    const gpu = this.#session.device
    const label = this.#label
    const bytes = 16 * count
    const submission = await this.#session.scoped(`${label}: timed runs`, () => {
      this.#querySet ??= gpu.createQuerySet({ label: 'timestamps', type: 'timestamp', count: MAX_QUERIES_PER_SET })
      this.#resolve ??= gpu.createBuffer({
        label: 'timestamps resolved',
        size: 8 * MAX_QUERIES_PER_SET,
        usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
      })
      this.#readback ??= gpu.createBuffer({
        label: 'timestamps readback',
        size: 8 * MAX_QUERIES_PER_SET,
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      })
      const querySet = this.#querySet
      const encoder = gpu.createCommandEncoder({ label })
      for (let i = 0; i < count; i++) {
        const pass = encoder.beginComputePass({
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        })
        record(pass)
        pass.end()
      }
      encoder.resolveQuerySet(querySet, 0, 2 * count, this.#resolve, 0)
      encoder.copyBufferToBuffer(this.#resolve, 0, this.#readback, 0, bytes)
      return { commands: encoder.finish(), buffer: this.#readback }
    })
    const t0 = nowNs()
    const expectedNs = (this.#recentRunNs ?? 0) * count
    await this.#session.scoped(`${label}: submitting timed runs`, async () => {
      gpu.queue.submit([submission.commands])
      if (expectedNs > SLEEP_MIN_NS) await sleep((SLEEP_FRACTION * expectedNs) / 1e6)
      await this.#session.wait(submission.buffer.mapAsync(MapMode.READ, 0, bytes), `${label}: timestamps readback`)
    })
    const hostPerRun = Number(nowNs() - t0) / count / repeat
    const stamps = new BigUint64Array(submission.buffer.getMappedRange(0, bytes).slice(0))
    submission.buffer.unmap()
    const device: DurationNs[] = []
    let totalNs = 0
    for (let i = 0; i < count; i++) {
      const begin = stamps[2 * i] ?? 0n
      const end = stamps[2 * i + 1] ?? 0n
      if (end < begin) {
        throw this.#session.error(
          `${label}: timestamps went backwards (begin ${begin}, end ${end}); this device's timer cannot be trusted`,
        )
      }
      totalNs += Number(end - begin)
      device.push(Number(end - begin) / repeat)
    }
    this.#recentRunNs = totalNs / count
    return { device, host: device.map(() => hostPerRun) }
  }
}

export class SubmitWaitTimer implements PassTimer {
  readonly method = 'host-submit-wait' as const
  readonly #session: Session
  readonly #label: string
  readonly #why: string

  constructor(session: Session, label: string, why: string) {
    this.#session = session
    this.#label = label
    this.#why = why
  }

  async describe(): Promise<string> {
    const costNs = await this.#emptySubmissionNs()
    return `host-submit-wait (${this.#why}): each duration includes submitting and waiting for completion; an empty submission costs about ${(costNs / 1e3).toFixed(1)} µs here (median of ${EMPTY_SUBMISSIONS_MEASURED})`
  }

  async #emptySubmissionNs(): Promise<number> {
    const { device } = this.#session
    const costs: number[] = []
    for (let i = 0; i < EMPTY_SUBMISSIONS_MEASURED; i++) {
      const t0 = nowNs()
      device.queue.submit([device.createCommandEncoder().finish()])
      await this.#session.wait(device.queue.onSubmittedWorkDone(), 'an empty submission')
      costs.push(Number(nowNs() - t0))
    }
    return medianOf(costs) ?? 0
  }

  async time(count: number, repeat: number, record: RecordRun): Promise<TimedRuns> {
    const gpu = this.#session.device
    const label = this.#label
    const device: DurationNs[] = []
    await this.#session.scoped(`${label}: timed runs`, async () => {
      for (let i = 0; i < count; i++) {
        const encoder = gpu.createCommandEncoder({ label })
        const pass = encoder.beginComputePass()
        record(pass)
        pass.end()
        const commands = encoder.finish()
        const t0 = nowNs()
        gpu.queue.submit([commands])
        await this.#session.wait(gpu.queue.onSubmittedWorkDone(), `${label}: completion`)
        device.push(Number(nowNs() - t0) / repeat)
      }
    })
    return { device, host: device.slice() }
  }
}
