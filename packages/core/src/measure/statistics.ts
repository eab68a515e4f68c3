/**
 * Summary statistics of a set of durations. Everything is in ns. Quantiles interpolate linearly
 * between order statistics (Hyndman and Fan's type 7, as R, NumPy and tinybench do), so a
 * p50 here equals tinybench's p50 on the same samples.
 */

import type { SampleStats } from '../store/baseline.generated.ts'
import { bootstrapMedianInterval, DEFAULT_RESAMPLES, DEFAULT_SEED, type MedianInterval } from './bootstrap.ts'
import { SampleError } from './errors.ts'
import { hierarchicalMedianInterval } from './hierarchical-bootstrap.ts'
import { interpolate, type SortedSamples, sortSamples } from './sample.ts'

/**
 * Summary statistics of a set of durations, all in ns: the shape baseline files store, so its one
 * definition is the schema's (schema/baseline.schema.json, generated into the store's types).
 */
export type { SampleStats }

export interface SummarizeOptions {
  /** Confidence level of the median's interval, in (0, 1); default 0.95. */
  ciLevel?: number
  /** Bootstrap resamples; default DEFAULT_RESAMPLES. */
  resamples?: number
  /** Bootstrap seed; default DEFAULT_SEED, so the same samples always give the same interval. */
  seed?: number
}

export const DEFAULT_CI_LEVEL = 0.95

/** The q-quantile (q in [0, 1]) of sorted samples, interpolated linearly (type 7). Cost O(1). */
export function quantile(sorted: SortedSamples, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new SampleError(`quantile: q must be in [0, 1], got ${q}`)
  return interpolate(sorted, q)
}

/** The median of values in any order (the mean of the middle two for an even count); null when there are none. Cost O(n log n). */
export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Arithmetic mean. Cost O(n). */
export function mean(values: readonly number[]): number {
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

/** Sample variance (n - 1 in the denominator), 0 for a single value; two passes for accuracy. Cost O(n). */
export function variance(values: readonly number[], meanValue = mean(values)): number {
  if (values.length < 2) return 0
  let squares = 0
  for (const v of values) squares += (v - meanValue) ** 2
  return squares / (values.length - 1)
}

/** Median absolute deviation from the median, unscaled. Cost O(n log n). */
export function medianAbsoluteDeviation(sorted: SortedSamples, median = quantile(sorted, 0.5)): number {
  const deviations = new Float64Array(sorted.length)
  for (let i = 0; i < sorted.length; i++) deviations[i] = Math.abs((sorted[i] as number) - median)
  deviations.sort()
  return interpolate(deviations, 0.5)
}

/**
 * Summarises durations in ns: location, spread, quantiles, and a seeded bootstrap interval of
 * the median. Throws a SampleError on empty, non-finite or negative samples, and on an option
 * out of range. Cost: O(n log n) for the sort plus O(resamples log resamples) for the bootstrap.
 */
export function summarize(samplesNs: readonly number[], options: SummarizeOptions = {}): SampleStats {
  return summarizeSorted(sortSamples(samplesNs), options)
}

/** As `summarize`, for samples already sorted and checked by `sortSamples` (saves the sort). */
export function summarizeSorted(sorted: SortedSamples, options: SummarizeOptions = {}): SampleStats {
  const ciLevel = options.ciLevel ?? DEFAULT_CI_LEVEL
  const ci = bootstrapMedianInterval(sorted, {
    level: ciLevel,
    resamples: options.resamples ?? DEFAULT_RESAMPLES,
    seed: options.seed ?? DEFAULT_SEED,
  })
  return describeSorted(sorted, ci, ciLevel)
}

/**
 * Summarises the samples of several rounds (independent prepares of one target): every field is
 * of all samples pooled (n, median, mean, spread, quantiles), except the median's interval, which
 * comes from the two-level bootstrap of hierarchical-bootstrap.ts, so that disagreement between
 * rounds widens it. With one round the result equals `summarizeSorted` of that round. Throws a
 * SampleError when there is no round. Cost: O(N log N) for the pooled sort plus the bootstrap's.
 */
export function summarizeRounds(rounds: readonly SortedSamples[], options: SummarizeOptions = {}): SampleStats {
  if (rounds.length === 0) throw new SampleError('summarizeRounds: no rounds: at least one round of samples is needed')
  if (rounds.length === 1) return summarizeSorted(rounds[0] as SortedSamples, options)
  const ciLevel = options.ciLevel ?? DEFAULT_CI_LEVEL
  const ci = hierarchicalMedianInterval(rounds, {
    level: ciLevel,
    resamples: options.resamples ?? DEFAULT_RESAMPLES,
    seed: options.seed ?? DEFAULT_SEED,
  })
  return describeSorted(sortSamples(rounds.flat()), ci, ciLevel)
}

function describeSorted(sorted: SortedSamples, ci: MedianInterval, ciLevel: number): SampleStats {
  const medianNs = quantile(sorted, 0.5)
  const meanNs = mean(sorted)
  return {
    n: sorted.length,
    medianNs,
    meanNs,
    sdNs: Math.sqrt(variance(sorted, meanNs)),
    madNs: medianAbsoluteDeviation(sorted, medianNs),
    minNs: sorted[0] as number,
    maxNs: sorted[sorted.length - 1] as number,
    p25Ns: quantile(sorted, 0.25),
    p75Ns: quantile(sorted, 0.75),
    p99Ns: quantile(sorted, 0.99),
    // A percentile interval holds the sample median in all but degenerate cases; clamping makes
    // it an invariant that consumers (the verdict, baseline validation) can rely on.
    ciLowNs: Math.min(ci.lowNs, medianNs),
    ciHighNs: Math.max(ci.highNs, medianNs),
    ciLevel,
  }
}
