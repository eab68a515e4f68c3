/**
 * `expectThroughput(result)`: assertions on a benchmark's result. Every failure message states
 * both figures with their units, the confidence interval of the median, the device id, and for
 * baseline comparisons the baseline's date and commit, so a CI log alone tells what regressed,
 * where, and against what.
 *
 * Throughput floors and time ceilings are judged on the median (the figure the table shows); the
 * baseline comparison is core's statistical verdict, which accounts for the noise of both sides.
 * Given an array (the results of `backend: 'all'`), each assertion applies to every result and a
 * failure lists every result that failed.
 */
import {
  entryKeyAt,
  formatBandwidth,
  formatDuration,
  formatFlops,
  isWorkload,
  parseDuration,
  parseRate,
  UnitError,
} from '@gpubench/core'
import { expect } from 'vitest'
import { validateTolerance } from '../options.ts'
import { comparisonDetails, medianFigures } from '../report/figures.ts'
import type { GpuBenchResult } from './result.ts'
import { resultLink } from './result-link.ts'
import { verdictFor } from './verdict.ts'

export class ThroughputAssertionError extends Error {
  override name = 'ThroughputAssertionError'
}

export interface MatchBaselineOptions {
  /** Relative slowdown of the median still accepted (e.g. 0.05); default: the benchmark's tolerance. */
  tolerance?: number
  /** Overrides the plugin's `strict` for this assertion. */
  strict?: boolean
}

export interface ThroughputAssertion {
  /** The median throughput is at least this rate: `'50 GFLOP/s'`, `'200 GB/s'`. */
  toBeAtLeast(rate: string): void
  /** The median duration is at most this long: `'2 ms'`, `'150 µs'`. */
  toTakeAtMost(duration: string): void
  /**
   * The result is not a regression against this device's baseline. A missing baseline leaves a
   * notice (and fails under `strict`); an invalid baseline file fails, naming the file and the
   * JSON pointer; under `-u` the baseline is being rewritten, so only the notice remains.
   * In a run of the plugin a regression fails the run rather than this test: the plugin's
   * reporter decides over every comparison of the run (Holm, at the run-level error rate), prints
   * each regression with its figures and makes `vitest bench` exit 1. Used outside such a run,
   * the comparison is judged alone and a regression throws here.
   */
  toMatchBaseline(options?: MatchBaselineOptions): void
  /**
   * The median reaches at least this fraction (0 < f <= 1) of the device's roofline: the time the
   * peak FLOP/s and peak bandwidth allow for this work. Fails when the device's peak is unknown.
   */
  toReachRooflineFraction(fraction: number): void
}

/** `'bmm-f32' on cuda-nvidia-h100 (cuda, NVIDIA H100 80GB HBM3)`. */
function where(result: GpuBenchResult): string {
  return `'${result.name}' on ${result.device.id} (${result.backend}, ${result.device.name})`
}

function rateOf(
  result: GpuBenchResult,
  unit: 'FLOP/s' | 'B/s',
): { value: number | null; format: (v: number) => string } {
  return unit === 'FLOP/s'
    ? { value: result.flopPerSecond, format: formatFlops }
    : { value: result.bytesPerSecond, format: formatBandwidth }
}

/**
 * Counts each check as an assertion of the test, so `expect.assertions(n)` and
 * `expect.requireAssertions` see it. Uses the global expect's state, which Vitest reads unless the
 * test took its own `expect` from the context (touching the context's would switch it over).
 */
function countAssertion(): void {
  const state = expect.getState()
  expect.setState({ assertionCalls: state.assertionCalls + 1 })
}

function notice(result: GpuBenchResult, message: string): void {
  const link = resultLink(result)
  if (!link) return
  // Annotations are recorded asynchronously; a failure to record one must not fail the benchmark.
  link.context.annotate(message, 'notice').catch(() => {})
}

function atLeast(result: GpuBenchResult, rate: string): string | null {
  const floor = parseRate(rate)
  const { value, format } = rateOf(result, floor.unit)
  if (value === null) {
    const count = floor.unit === 'FLOP/s' ? 'FLOP' : 'byte'
    return `${where(result)} has no ${count} count, so no ${floor.unit} figure to compare with ${rate}: a function target declares counts with hostFunction(name, fn, { flops, bytes })`
  }
  if (value >= floor.perSecond) return null
  const { stats } = result.measurement
  const count = floor.unit === 'FLOP/s' ? result.flops! : result.bytes!
  const low = format((count * 1e9) / stats.ciHighNs)
  const high = format((count * 1e9) / stats.ciLowNs)
  return `${where(result)}: ${format(value)} is below the floor of ${format(floor.perSecond)}\n  measured: ${format(value)} [CI ${low} – ${high}] from ${medianFigures(stats)}`
}

function atMost(result: GpuBenchResult, duration: string): string | null {
  const ceilingNs = parseDuration(duration)
  const { stats } = result.measurement
  if (stats.medianNs <= ceilingNs) return null
  return `${where(result)}: median ${formatDuration(stats.medianNs)} exceeds the ceiling of ${formatDuration(ceilingNs)}\n  measured: ${medianFigures(stats)}`
}

function rooflineFraction(result: GpuBenchResult, fraction: number): string | null {
  const peak = result.device.peak
  const dtype = isWorkload(result.target) && 'dtype' in result.target ? result.target.dtype : undefined
  const peakFlops = dtype ? peak?.flopPerSecond?.[dtype] : undefined
  const peakBytes = peak?.bytesPerSecond
  const boundsNs: number[] = []
  if (result.flops !== null && peakFlops) boundsNs.push((result.flops / peakFlops) * 1e9)
  if (result.bytes !== null && peakBytes) boundsNs.push((result.bytes / peakBytes) * 1e9)
  if (boundsNs.length === 0) {
    return `${where(result)}: the device's peak is unknown for this target (peak FLOP/s${dtype ? ` for ${dtype}` : ''}: ${peakFlops ? formatFlops(peakFlops) : 'unknown'}, peak bandwidth: ${peakBytes ? formatBandwidth(peakBytes) : 'unknown'}), so no roofline fraction can be computed`
  }
  const rooflineNs = Math.max(...boundsNs)
  const reached = rooflineNs / result.measurement.stats.medianNs
  if (reached >= fraction) return null
  return `${where(result)}: reaches ${(reached * 100).toFixed(1)}% of its roofline, below the required ${(fraction * 100).toFixed(1)}%\n  roofline time ${formatDuration(rooflineNs)} (peak ${peakFlops ? formatFlops(peakFlops) : 'unknown'}, ${peakBytes ? formatBandwidth(peakBytes) : 'unknown'}); measured: ${medianFigures(result.measurement.stats)}`
}

function matchBaseline(result: GpuBenchResult, options: MatchBaselineOptions): string | null {
  const link = resultLink(result)
  const strict = options.strict ?? link?.strict ?? false
  const update = link?.update ?? 'none'
  const { baseline } = result
  if (baseline.state === 'invalid') {
    // Under -u a fault inside this benchmark's own entry is repaired by recording it (update-policy.ts).
    if (update !== 'none' && link !== undefined && entryKeyAt(baseline.pointer) === link.key) {
      notice(result, `${where(result)}: ${baseline.message}; this run records the entry afresh`)
      return null
    }
    return `${where(result)}: ${baseline.message}`
  }
  if (baseline.state === 'missing') {
    if (update !== 'none') {
      notice(result, `${where(result)}: no baseline yet; this run records it in ${baseline.file}`)
      return null
    }
    const message = `${where(result)}: no baseline on this device (${baseline.file}); run \`vitest bench -u\` on this device to record one`
    if (strict) return `${message} (strict mode fails a benchmark without a baseline)`
    notice(result, message)
    return null
  }
  const tolerance =
    options.tolerance === undefined ? (link?.tolerance ?? null) : validateTolerance('tolerance', options.tolerance)
  // In a run of the plugin the benchmark's judgement computes it (and reports the verdict at the
  // tolerance asked for); alone, the comparison is made here.
  const verdict = link
    ? link.judgement.judgeAt(tolerance ?? link.tolerance)
    : tolerance === null
      ? result.verdict
      : verdictFor(result.measurement.stats, baseline, tolerance)
  if (!verdict) return `${where(result)}: no comparison with the baseline could be made`
  const details = comparisonDetails(
    { stats: result.measurement.stats, flopPerSecond: result.flopPerSecond, bytesPerSecond: result.bytesPerSecond },
    baseline,
    verdict,
  )
  if (update === 'all') {
    if (verdict.kind === 'regressed')
      notice(result, `${where(result)}: regressed, and -u rewrites its baseline\n${details}`)
    return null
  }
  if (verdict.kind === 'regressed') {
    // In a run of the plugin, whether a regression stands is the run's decision (the reporter's,
    // over every comparison of the run, so that the chance of a false one per run stays at the
    // stated rate); it fails the run there. Alone, the comparison is its own run.
    if (!link) return `${where(result)} regressed against its baseline\n${details}`
    notice(result, `${where(result)}: reads regressed on its own; the run's error control decides\n${details}`)
    return null
  }
  if (verdict.kind === 'inconclusive') {
    const message = `${where(result)}: comparison with the baseline is inconclusive (too noisy)\n${details}`
    if (strict) return `${message}\n  (strict mode fails an inconclusive comparison)`
    notice(result, message)
  }
  return null
}

function isResult(value: unknown): value is GpuBenchResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    'measurement' in value &&
    'device' in value &&
    'baseline' in value &&
    'name' in value
  )
}

export function expectThroughput(result: GpuBenchResult | readonly GpuBenchResult[]): ThroughputAssertion {
  const results: readonly unknown[] = Array.isArray(result) ? result : [result]
  if (results.length === 0) throw new TypeError('expectThroughput(): got an empty list of results')
  results.forEach((r, i) => {
    if (!isResult(r)) {
      throw new TypeError(
        `expectThroughput(): ${Array.isArray(result) ? `item ${i}` : 'the argument'} is not a result of bench.gpu(...).run()`,
      )
    }
  })
  const checked = results as readonly GpuBenchResult[]
  const assertAll = (check: (r: GpuBenchResult) => string | null) => {
    const failures: string[] = []
    for (const r of checked) {
      countAssertion()
      const failure = check(r)
      if (failure !== null) failures.push(failure)
    }
    if (failures.length > 0) throw new ThroughputAssertionError(failures.join('\n'))
  }
  const parsed = <T>(parse: () => T): T => {
    try {
      return parse()
    } catch (error) {
      if (error instanceof UnitError) throw new TypeError(`expectThroughput(): ${error.message}`)
      throw error
    }
  }
  return {
    toBeAtLeast(rate) {
      parsed(() => parseRate(rate))
      assertAll((r) => atLeast(r, rate))
    },
    toTakeAtMost(duration) {
      parsed(() => parseDuration(duration))
      assertAll((r) => atMost(r, duration))
    },
    toMatchBaseline(options = {}) {
      if (options.tolerance !== undefined) validateTolerance('tolerance', options.tolerance)
      assertAll((r) => matchBaseline(r, options))
    },
    toReachRooflineFraction(fraction) {
      if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
        throw new TypeError(
          `expectThroughput().toReachRooflineFraction(): the fraction must be in (0, 1], got ${fraction}`,
        )
      }
      assertAll((r) => rooflineFraction(r, fraction))
    },
  }
}
