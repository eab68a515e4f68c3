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
import { interpolate, type SortedSamples, sortSamples } from './sample.ts'
import { type SampleStats, summarizeRounds, summarizeSorted } from './statistics.ts'
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
  /**
   * Why sampling stopped; 'round-spread' (measureRounds only): every round reached its share of
   * the noise target but the rounds disagree, so the pooled interval stays wider than maxNoise.
   */
  stoppedBy: 'noise' | 'max-time' | 'max-samples' | 'fixed-count' | 'round-spread'
  /** Half-width of the median's confidence interval relative to the median, at stop. */
  relativeNoise: number
  /** Independent prepares measured (1 for `measure`). */
  rounds: number
  /** Each round's median, in round order (the spread between prepares, for a reader of the result). */
  roundMediansNs: number[]
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

/**
 * Runs cold once, warm-up, then samples with runnable.run(batch) until the rule holds. One
 * runnable is one round: the rule's `rounds` is not consulted and the whole budget goes to it
 * (use `measureRounds` to measure across independent prepares).
 */
export async function measure(
  runnable: Runnable,
  rule?: Partial<StoppingRule>,
  hooks: MeasureHooks = {},
): Promise<Measurement> {
  const r = stoppingRule(rule)
  const now = hooks.now ?? hostClockNs()
  const startNs = now()
  const round = await sampleRound(runnable, r, { now, startNs, noiseShare: 1, keepCold: true })
  const stats = round.checked ?? summarizeSorted(round.sorted)
  return {
    coldNs: round.coldNs,
    samplesNs: round.sorted,
    stats,
    warmupRuns: r.warmupRuns,
    wallTimeNs: now() - startNs,
    stoppedBy: round.stoppedBy,
    relativeNoise: relativeNoiseOf(stats),
    rounds: 1,
    roundMediansNs: [stats.medianNs],
  }
}

export interface MeasureRoundsHooks extends MeasureHooks {
  /**
   * Called with each round's runnable after its samples are taken and before it is disposed
   * (e.g. to verify its results once, or to read its device and notes). An error thrown here
   * disposes the runnable and ends the measurement with that error.
   */
  onRound?: (runnable: Runnable, round: number) => unknown
}

/**
 * Measures a target over `rule.rounds` independent prepares: per round, `prepare()` a fresh
 * runnable, its first run (only the first round's is the reported cold figure; later rounds'
 * first runs are discarded as warm-up), warm-up, samples, then `dispose()`. The budget is split
 * across rounds as stopping-rule.ts describes.
 *
 * Why rounds: a fresh prepare (new buffers, new kernels, new thread placement) can land in a
 * different performance mode; within one prepare the samples agree with each other, so one
 * prepare's interval shows a precision that the next run does not reproduce. The median's
 * interval here is the two-level bootstrap of hierarchical-bootstrap.ts, which includes the
 * spread between rounds.
 *
 * Noise target per round: samples only shrink the within-round part of the pooled median's
 * interval; the spread between rounds stays whatever the prepares drew. For R >= 2 rounds of
 * within-round relative half-width w, the two-level bootstrap's half-width is about
 * √(between² + 2·w²/R): the within-round noise enters once through resampling samples and once
 * more through the resampled rounds' medians (the bootstrap is conservative there). So a round
 * stops sampling once its own median's relative half-width is at most maxNoise·√(R/2), its share
 * of the target (maxNoise itself for one round), after its minimum samples and time; it never
 * keeps sampling because rounds disagree. The measurement's
 * `stoppedBy` is 'fixed-count' for a fixed count, else 'max-time' or 'max-samples' when a round
 * hit a cap, else 'noise' when the pooled interval meets maxNoise, else 'round-spread' (every
 * round met its share, the rounds disagree: more samples would not help, more rounds would).
 *
 * Rounds start only while time is left: once the time cap is spent, the rounds measured so far
 * are the measurement (`rounds` says how many). With rounds = 1 the result equals
 * `measure(await prepare(), rule)`.
 */
export async function measureRounds(
  prepare: () => Promise<Runnable>,
  rule?: Partial<StoppingRule>,
  hooks: MeasureRoundsHooks = {},
): Promise<Measurement> {
  const r = stoppingRule(rule)
  const now = hooks.now ?? hostClockNs()
  const startNs = now()
  const count = r.rounds
  const fixed = isFixedCount(r)
  const noiseShare = count === 1 ? 1 : Math.sqrt(count / 2)
  const results: RoundResult[] = []
  for (let k = 0; k < count; k++) {
    const elapsedNs = now() - startNs
    if (k > 0 && elapsedNs >= r.maxTimeNs) break
    const share = roundShare(r, k, count, elapsedNs)
    const runnable = await prepare()
    try {
      results.push(await sampleRound(runnable, share, { now, startNs: now(), noiseShare, keepCold: k === 0 }))
      await hooks.onRound?.(runnable, k)
    } finally {
      await runnable.dispose()
    }
  }
  const sortedRounds = results.map((round) => round.sorted)
  const stats = results.length === 1 && results[0]?.checked ? results[0].checked : summarizeRounds(sortedRounds)
  const relativeNoise = relativeNoiseOf(stats)
  let stoppedBy: Measurement['stoppedBy']
  if (fixed) stoppedBy = 'fixed-count'
  else if (results.some((round) => round.stoppedBy === 'max-time')) stoppedBy = 'max-time'
  else if (results.some((round) => round.stoppedBy === 'max-samples')) stoppedBy = 'max-samples'
  else stoppedBy = relativeNoise <= r.maxNoise ? 'noise' : 'round-spread'
  return {
    coldNs: results[0]?.coldNs ?? null,
    samplesNs: results.length === 1 ? (sortedRounds[0] as SortedSamples) : sortSamples(sortedRounds.flat()),
    stats,
    warmupRuns: r.warmupRuns,
    wallTimeNs: now() - startNs,
    stoppedBy,
    relativeNoise,
    rounds: results.length,
    roundMediansNs: sortedRounds.map((s) => interpolate(s, 0.5)),
  }
}

/**
 * Round k's share of the rule: minimum samples and time split evenly, maxSamples split evenly
 * (a fixed count exactly, the first rounds taking the remainder), and the time left shared
 * evenly among the rounds still to come. With one round it is the rule itself.
 */
function roundShare(rule: StoppingRule, k: number, count: number, elapsedNs: number): StoppingRule {
  if (count === 1) return rule
  const fixed = isFixedCount(rule)
  const maxSamples = Math.floor(rule.maxSamples / count) + (fixed && k < rule.maxSamples % count ? 1 : 0)
  const minSamples = fixed ? maxSamples : Math.min(maxSamples, Math.ceil(rule.minSamples / count))
  const maxTimeNs = Math.max(1, (rule.maxTimeNs - elapsedNs) / (count - k))
  return {
    ...rule,
    minSamples,
    maxSamples,
    minTimeNs: Math.min(rule.minTimeNs / count, maxTimeNs),
    maxTimeNs,
    rounds: 1,
  }
}

interface RoundResult {
  coldNs: number | null
  sorted: SortedSamples
  /** The summary computed at the last noise check, when it covered every sample (saves a summary). */
  checked: SampleStats | null
  stoppedBy: 'noise' | 'max-time' | 'max-samples' | 'fixed-count'
}

interface RoundContext {
  now: () => number
  startNs: number
  /** The round stops on noise once its own relative half-width is at most maxNoise times this. */
  noiseShare: number
  /** Report the first run as the cold figure (else it is made and discarded, as warm-up). */
  keepCold: boolean
}

/** One round on one runnable: the first run, warm-up, then samples until the round's rule holds. */
async function sampleRound(runnable: Runnable, r: StoppingRule, context: RoundContext): Promise<RoundResult> {
  const { now, startNs } = context
  const who = describeRunnable(runnable)
  const noiseTarget = r.maxNoise * context.noiseShare

  let coldNs: number | null = null
  if (!warmed.has(runnable)) {
    warmed.add(runnable)
    const value: unknown = await runnable.cold()
    const checkedCold = checkDuration(value, `${who}: cold() returned`)
    if (context.keepCold) coldNs = checkedCold
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
  let stoppedBy: RoundResult['stoppedBy']
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
      if (noise <= noiseTarget) {
        stoppedBy = 'noise'
        break
      }
      const growth = Math.min(MAX_CHECK_GROWTH, Math.max(MIN_CHECK_GROWTH, (noise / noiseTarget) ** 2))
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
  return {
    coldNs,
    sorted: reuse && checked ? checked.sorted : sortSamples(samples),
    checked: reuse && checked ? checked.stats : null,
    stoppedBy,
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
