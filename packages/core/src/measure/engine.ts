/**
 * The measurement engine: one cold run kept apart, warm-up, then samples taken in batches of
 * `runnable.run(n)` until the stopping rule holds.
 *
 * Invariants of a Measurement: every sample is a duration the runnable returned (none made up,
 * none dropped), finite and > 0; `samplesNs.length === stats.n`, between 1 and the rule's
 * maxSamples; the cold run is never among the samples, nor are warm-up runs.
 *
 * Batching: one JS call and one promise per run would dominate runs of a few µs, so runs are
 * requested in batches. With `batch: 'auto'` the batch is sized from the wall time per run seen
 * so far (warm-up included) so that one call takes about 10 ms; a batch never grows more than
 * 16-fold from one call to the next, never asks for more samples than maxSamples allows, and
 * never plans to run past the time cap.
 *
 * Noise checks: once minSamples and minTimeNs are reached, the median's bootstrap interval is
 * computed and the measurement stops when its half-width relative to the median is at most
 * maxNoise. After a failed check, the next one waits for the sample count the noise predicts
 * (the half-width shrinks as 1/√n, so n·(noise/maxNoise)²), but for at least 10% and at most
 * 100% more samples. Checks therefore cost a constant factor of one final summary, and a
 * measurement takes somewhat more samples than the first point where the target held (at most
 * twice as many).
 */
import type { Runnable } from '../backend.ts'
import { MeasurementError } from './errors.ts'
import { type SortedSamples, sortSamples } from './sample.ts'
import { type SampleStats, summarizeSorted } from './statistics.ts'
import { isFixedCount, type StoppingRule, stoppingRule } from './stopping-rule.ts'

export interface Measurement {
  /** The first run, kept apart (null if the runnable was already warm: measured before by `measure`). */
  coldNs: number | null
  /** Warm samples, sorted. */
  samplesNs: SortedSamples
  stats: SampleStats
  warmupRuns: number
  /** Host time the whole measurement took (cold run and warm-up included). */
  wallTimeNs: number
  stoppedBy: 'noise' | 'max-time' | 'max-samples' | 'fixed-count'
  /** Half-width of the median's confidence interval relative to the median, at stop. */
  relativeNoise: number
}

export interface MeasureHooks {
  /** A monotonic clock in ns; the host's high-resolution clock by default. Tests inject a virtual one. */
  now?: () => number
}

/** Wall time one auto-sized run(n) call aims at. */
export const TARGET_CALL_NS = 10e6
const MAX_BATCH_GROWTH = 16
const MIN_CHECK_GROWTH = 1.1
const MAX_CHECK_GROWTH = 2

/** Runnables whose cold run this module has already made: measuring one again reports coldNs null. */
const warmed = new WeakSet<Runnable>()

/** A monotonic clock in ns from process.hrtime, relative to its creation so it stays exact as a double. */
export function hostClockNs(): () => number {
  const origin = process.hrtime.bigint()
  return () => Number(process.hrtime.bigint() - origin)
}

/** Runs cold once, warm-up, then samples with runnable.run(batch) until the rule holds. */
export async function measure(
  runnable: Runnable,
  rule?: Partial<StoppingRule>,
  hooks: MeasureHooks = {},
): Promise<Measurement> {
  const r = stoppingRule(rule)
  const now = hooks.now ?? hostClockNs()
  const who = describeRunnable(runnable)
  const startNs = now()

  let coldNs: number | null = null
  if (!warmed.has(runnable)) {
    warmed.add(runnable)
    const value: unknown = await runnable.cold()
    coldNs = checkDuration(value, `${who}: cold() returned`)
  }

  let perRunWallNs: number | null = null
  if (r.warmupRuns > 0) {
    const t0 = now()
    checkDurations(await runnable.run(r.warmupRuns), r.warmupRuns, `${who}: warm-up run(${r.warmupRuns})`)
    perRunWallNs = positiveOrNull((now() - t0) / r.warmupRuns)
  }

  const fixed = isFixedCount(r)
  const samples: number[] = []
  let deviceTimeNs = 0
  let lastBatch = 0
  let nextCheckAt = 0
  let checked: { n: number; sorted: SortedSamples; stats: SampleStats } | null = null
  let stoppedBy: Measurement['stoppedBy']
  for (;;) {
    const n = samples.length
    const elapsedNs = now() - startNs
    if (fixed && n >= r.maxSamples) {
      stoppedBy = 'fixed-count'
      break
    }
    if (n >= r.maxSamples) {
      stoppedBy = 'max-samples'
      break
    }
    if (n > 0 && elapsedNs >= r.maxTimeNs) {
      stoppedBy = 'max-time'
      break
    }
    if (!fixed && n >= r.minSamples && deviceTimeNs >= r.minTimeNs && n >= nextCheckAt) {
      const sorted = sortSamples(samples)
      const stats = summarizeSorted(sorted)
      checked = { n, sorted, stats }
      const noise = relativeNoiseOf(stats)
      if (noise <= r.maxNoise) {
        stoppedBy = 'noise'
        break
      }
      const growth = Math.min(MAX_CHECK_GROWTH, Math.max(MIN_CHECK_GROWTH, (noise / r.maxNoise) ** 2))
      nextCheckAt = Math.max(n + 1, Math.ceil(n * growth))
    }
    const batch = nextBatch(r, n, lastBatch, perRunWallNs, r.maxTimeNs - elapsedNs)
    const t0 = now()
    const durations = checkDurations(await runnable.run(batch), batch, `${who}: run(${batch})`)
    const callNs = now() - t0
    for (const d of durations) {
      samples.push(d)
      deviceTimeNs += d
    }
    lastBatch = batch
    perRunWallNs = positiveOrNull(callNs / batch) ?? perRunWallNs
  }

  const reuse = checked !== null && checked.n === samples.length
  const sorted = reuse && checked ? checked.sorted : sortSamples(samples)
  const stats = reuse && checked ? checked.stats : summarizeSorted(sorted)
  return {
    coldNs,
    samplesNs: sorted,
    stats,
    warmupRuns: r.warmupRuns,
    wallTimeNs: now() - startNs,
    stoppedBy,
    relativeNoise: relativeNoiseOf(stats),
  }
}

/** Half-width of the median's confidence interval relative to the median. */
export function relativeNoiseOf(stats: SampleStats): number {
  return (stats.ciHighNs - stats.ciLowNs) / 2 / stats.medianNs
}

function nextBatch(
  rule: StoppingRule,
  n: number,
  lastBatch: number,
  perRunWallNs: number | null,
  remainingTimeNs: number,
): number {
  const room = rule.maxSamples - n
  if (rule.batch !== 'auto') return Math.min(rule.batch, room)
  if (perRunWallNs === null) return 1
  let batch = Math.floor(TARGET_CALL_NS / perRunWallNs)
  if (lastBatch > 0) batch = Math.min(batch, lastBatch * MAX_BATCH_GROWTH)
  if (Number.isFinite(remainingTimeNs)) batch = Math.min(batch, Math.floor(remainingTimeNs / perRunWallNs))
  return Math.max(1, Math.min(batch, room))
}

function positiveOrNull(value: number): number | null {
  return Number.isFinite(value) && value > 0 ? value : null
}

function describeRunnable(runnable: Runnable): string {
  const device = runnable.device as Runnable['device'] | undefined
  return device ? `${device.backend} device '${device.id}'` : 'runnable without a device'
}

function checkDuration(value: unknown, where: string, index?: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    const at = index === undefined ? '' : ` at index ${index}`
    const shown =
      typeof value === 'number' ? `${value} ns` : `${JSON.stringify(value) ?? String(value)} (${typeof value})`
    throw new MeasurementError(
      `${where} an invalid duration${at}: ${shown}; durations must be finite and > 0 (a backend that cannot time a run must report itself unavailable)`,
    )
  }
  return value
}

function checkDurations(values: unknown, expected: number, where: string): number[] {
  if (!Array.isArray(values) && !(values instanceof Float64Array) && !(values instanceof Float32Array)) {
    throw new MeasurementError(`${where} returned ${typeof values}, expected an array of ${expected} durations in ns`)
  }
  if (values.length !== expected) {
    throw new MeasurementError(`${where} returned ${values.length} durations, expected ${expected}`)
  }
  const out = new Array<number>(expected)
  for (let i = 0; i < expected; i++) out[i] = checkDuration(values[i], `${where} returned`, i)
  return out
}
