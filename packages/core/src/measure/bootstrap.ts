/**
 * Seeded percentile bootstrap of the median.
 *
 * The textbook method draws `resamples` resamples of size n with replacement and takes the
 * median of each: O(resamples · n). Here each resample's median is drawn directly from its exact
 * law instead, at O(1) per resample, independent of n:
 *
 * a resample draws n indices uniformly from {0, …, n-1}; such an index is floor(n·U) with U
 * uniform on (0, 1), and floor is monotone, so the k-th smallest drawn index is floor(n·U₍ₖ₎)
 * where U₍ₖ₎, the k-th order statistic of n uniforms, is Beta(k, n + 1 - k). The median of the
 * resample is the sample's order statistic at that index (odd n), or the mean of the order
 * statistics at the k-th and (k+1)-th drawn indices (even n, k = n/2); given U₍ₖ₎, the next
 * order statistic is U₍ₖ₎ + (1 - U₍ₖ₎)·Beta(1, n - k). The resampled medians therefore have
 * exactly the distribution of the textbook bootstrap's (a test checks this against explicit
 * resampling), at a cost that lets the engine re-check its noise target during a measurement.
 *
 * The interval is the (1-level)/2 and (1+level)/2 quantiles of the resampled medians. Cost:
 * O(resamples) Gamma variates plus O(resamples · log resamples) to sort them; the samples must
 * already be sorted. The default seed is fixed: the same samples give the same interval.
 */

import { SampleError } from './errors.ts'
import { rng, type Variates, variates } from './random.ts'
import { interpolate, type SortedSamples } from './sample.ts'

/** Resamples used unless told otherwise: Monte Carlo error of the 2.5% and 97.5% points stays well below the interval's own width. */
export const DEFAULT_RESAMPLES = 2000
export const DEFAULT_SEED = 0x6a09e667

export interface BootstrapOptions {
  /** Confidence level in (0, 1). */
  level: number
  /** Number of resamples, an integer >= 100. */
  resamples: number
  /** Seed of the uniform source (any 32-bit integer). */
  seed: number
}

export interface MedianInterval {
  lowNs: number
  highNs: number
}

/** Seeded percentile-bootstrap confidence interval of the median of sorted samples. */
export function bootstrapMedianInterval(sorted: SortedSamples, options: BootstrapOptions): MedianInterval {
  const { level, resamples, seed } = options
  if (!(level > 0 && level < 1)) throw new SampleError(`bootstrap: ciLevel must be in (0, 1), got ${level}`)
  if (!Number.isInteger(resamples) || resamples < 100) {
    throw new SampleError(`bootstrap: resamples must be an integer >= 100, got ${resamples}`)
  }
  if (!Number.isInteger(seed)) throw new SampleError(`bootstrap: seed must be an integer, got ${seed}`)
  const n = sorted.length
  const first = sorted[0] as number
  if (n === 1 || first === sorted[n - 1]) return { lowNs: first, highNs: first }
  const random = variates(rng(seed))
  const medians = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) medians[r] = resampledMedian(sorted, random)
  medians.sort()
  const alpha = (1 - level) / 2
  return { lowNs: interpolate(medians, alpha), highNs: interpolate(medians, 1 - alpha) }
}

/** The median of one bootstrap resample of `sorted`, drawn from its exact law (see above). */
export function resampledMedian(sorted: SortedSamples, random: Variates): number {
  const n = sorted.length
  const k = (n + 1) >> 1 // the median's rank (1-based); for even n, the lower of the two middle ranks
  const u = random.beta(k, n + 1 - k)
  const low = sorted[Math.min(n - 1, Math.floor(n * u))] as number
  if (n % 2 === 1) return low
  const uNext = u + (1 - u) * (1 - (1 - random.uniform()) ** (1 / (n - k)))
  const high = sorted[Math.min(n - 1, Math.floor(n * uNext))] as number
  return (low + high) / 2
}
