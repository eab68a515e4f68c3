/**
 * Conversion to tinybench's `Statistics`, the shape Vitest 5 shows in its benchmark table, so
 * that device-measured durations can be reported beside plain-JS ones. tinybench works in ms;
 * the samples here are in ns and are converted once, before any statistic is computed.
 *
 * Definitions match tinybench 6.2: type-7 quantiles, sample variance (n - 1), sem = sd / √n,
 * `critical` the two-sided 95% Student t value for df = n - 1 (df = 1 is used when n = 1, as
 * tinybench does), moe = sem · critical, rme = 100 · moe / |mean| in percent, aad the mean
 * absolute deviation from the mean, mad the unscaled median absolute deviation. A test runs
 * tinybench itself on the same samples and compares every field.
 */
import type { Statistics } from 'tinybench'
import { studentTQuantile } from '../src/measure/distributions.ts'
import { interpolate, sortSamples } from '../src/measure/sample.ts'
import { mean, medianAbsoluteDeviation, variance } from '../src/measure/statistics.ts'

const NS_PER_MS = 1e6

/** Converts durations in ns to tinybench's Statistics shape (values in ms, as tinybench/Vitest report). */
export function toTinybenchStatistics(samplesNs: readonly number[]): Statistics {
  const sortedNs = sortSamples(samplesNs)
  const ms = sortedNs.map((ns) => ns / NS_PER_MS)
  const sortedMs = sortSamples(ms) // division by a positive constant keeps the order; this re-checks and brands
  const n = sortedMs.length
  const meanMs = mean(sortedMs)
  const varianceMs = variance(sortedMs, meanMs)
  const sd = Math.sqrt(varianceMs)
  const sem = sd / Math.sqrt(n)
  const df = n - 1
  const critical = studentTQuantile(0.975, Math.max(df, 1))
  const moe = sem * critical
  const median = interpolate(sortedMs, 0.5)
  let absoluteDeviation = 0
  for (const v of sortedMs) absoluteDeviation += Math.abs(v - meanMs)
  return {
    aad: absoluteDeviation / n,
    critical,
    df,
    mad: medianAbsoluteDeviation(sortedMs, median),
    max: sortedMs[n - 1] as number,
    mean: meanMs,
    min: sortedMs[0] as number,
    moe,
    p50: median,
    p75: interpolate(sortedMs, 0.75),
    p99: interpolate(sortedMs, 0.99),
    p995: interpolate(sortedMs, 0.995),
    p999: interpolate(sortedMs, 0.999),
    rme: meanMs === 0 ? Number.POSITIVE_INFINITY : (100 * moe) / Math.abs(meanMs),
    // tinybench brands its sorted samples with a unique symbol that only its own sort can apply;
    // these are sorted by sortSamples above, which is the invariant the brand stands for.
    samples: [...sortedMs] as unknown as Statistics['samples'],
    samplesCount: n,
    sd,
    sem,
    variance: varianceMs,
  }
}
