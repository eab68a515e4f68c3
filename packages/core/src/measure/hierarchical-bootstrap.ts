/**
 * Seeded two-level (hierarchical) percentile bootstrap of the pooled median of several rounds.
 *
 * Why: a round is one `prepare` of a runnable (its own buffers, kernels, thread placement), and
 * a fresh prepare can land in a different performance mode. Samples within a round are then
 * consistent with each other but not with another round's, so a bootstrap over the pooled
 * samples, which treats every sample as independent, gives an interval far too narrow. Here the
 * rounds themselves are resampled, so the spread between rounds widens the interval.
 *
 * Method, per resample:
 * 1. Level one (rounds): draw R round indices uniformly with replacement from the R rounds. The
 *    chosen multiset is a composition (c₁, …, c_R), round r taken c_r times; the pooled median
 *    of the chosen rounds' samples, round r's samples counted c_r times, is computed exactly
 *    (type-7 interpolation, as `quantile`), and cached per composition: there are at most
 *    C(2R-1, R) of them (10 for 3 rounds, 35 for 4).
 * 2. Level two (samples within each chosen round): each chosen round's median is resampled from
 *    its exact law (`resampledMedian` in bootstrap.ts, O(1)), and the pooled median moves by the
 *    size-weighted mean of the chosen rounds' shifts m*ⱼ - mⱼ. This linearises the pooled median's
 *    response to within-round resampling rather than re-pooling resampled rounds (which would cost
 *    O(N) per resample); for rounds of one distribution it gives the pooled median's variance
 *    σ²/N, as a full resample would. The result is held to the samples' range, as a resampled
 *    median always is (the linear shift can overshoot it for short, long-tailed rounds).
 * The interval is the (1-level)/2 and (1+level)/2 quantiles of the resampled statistics.
 *
 * With one round, the result is exactly `bootstrapMedianInterval` of that round (same seed, same
 * draws), so a single-round measurement keeps the interval it always had.
 *
 * Cost: O(resamples · R) uniform and Beta variates, plus one exact pooled median per distinct
 * composition, O(log N · R · log n) each by binary search on value (N samples pooled, n per
 * round), plus O(resamples · log resamples) to sort. With 3 rounds and 2000 resamples this is a
 * few ms, independent of the sample count, so it can be computed at the end of every measurement.
 *
 * Caveat (inherent to few rounds): with R rounds all in one mode, nothing in the data shows the
 * other mode, and the interval is narrow. The probability of that is 2^(1-R) for two equally
 * likely modes, which is why the default rule takes several rounds.
 */

import { type BootstrapOptions, bootstrapMedianInterval, type MedianInterval, resampledMedian } from './bootstrap.ts'
import { SampleError } from './errors.ts'
import { rng, variates } from './random.ts'
import { interpolate, type SortedSamples } from './sample.ts'

/** Two-level percentile-bootstrap interval of the pooled median of rounds (each sorted, non-empty). */
export function hierarchicalMedianInterval(
  rounds: readonly SortedSamples[],
  options: BootstrapOptions,
): MedianInterval {
  const count = rounds.length
  if (count === 0) throw new SampleError('hierarchical bootstrap: no rounds: at least one round of samples is needed')
  if (count === 1) return bootstrapMedianInterval(rounds[0] as SortedSamples, options)
  const { level, resamples, seed } = options
  if (!(level > 0 && level < 1)) throw new SampleError(`bootstrap: ciLevel must be in (0, 1), got ${level}`)
  if (!Number.isInteger(resamples) || resamples < 100) {
    throw new SampleError(`bootstrap: resamples must be an integer >= 100, got ${resamples}`)
  }
  if (!Number.isInteger(seed)) throw new SampleError(`bootstrap: seed must be an integer, got ${seed}`)

  const pooled = poolSorted(rounds)
  const first = pooled[0] as number
  const last = pooled[pooled.length - 1] as number
  if (first === last) return { lowNs: first, highNs: first }
  const medians = rounds.map((r) => interpolate(r, 0.5))
  const random = variates(rng(seed))
  const cache = new Map<string, number>()
  const chosen = new Int32Array(count)
  const multiplicity = new Int32Array(count)
  const out = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    multiplicity.fill(0)
    for (let j = 0; j < count; j++) {
      const i = Math.min(count - 1, Math.floor(random.uniform() * count))
      chosen[j] = i
      multiplicity[i] = (multiplicity[i] as number) + 1
    }
    const key = multiplicity.join(',')
    let centre = cache.get(key)
    if (centre === undefined) {
      centre = weightedPooledMedian(rounds, pooled, multiplicity)
      cache.set(key, centre)
    }
    let total = 0
    let shift = 0
    for (let j = 0; j < count; j++) {
      const i = chosen[j] as number
      const round = rounds[i] as SortedSamples
      shift += round.length * (resampledMedian(round, random) - (medians[i] as number))
      total += round.length
    }
    // A true resample's median lies within the data; the linearised shift can overshoot it when
    // a round has few samples and a long tail, so it is held to the samples' range.
    out[b] = Math.min(last, Math.max(first, centre + shift / total))
  }
  out.sort()
  const alpha = (1 - level) / 2
  return { lowNs: interpolate(out, alpha), highNs: interpolate(out, 1 - alpha) }
}

/** All rounds' samples in one sorted array. */
export function poolSorted(rounds: readonly SortedSamples[]): Float64Array {
  let size = 0
  for (const r of rounds) size += r.length
  const pooled = new Float64Array(size)
  let at = 0
  for (const r of rounds) {
    pooled.set(r, at)
    at += r.length
  }
  return pooled.sort()
}

/**
 * The type-7 median of the multiset in which round r's samples appear multiplicity[r] times.
 * `pooled` holds every round's samples, sorted: the answer is among them.
 */
function weightedPooledMedian(
  rounds: readonly SortedSamples[],
  pooled: Float64Array,
  multiplicity: Int32Array,
): number {
  let size = 0
  for (let r = 0; r < rounds.length; r++) size += (multiplicity[r] as number) * (rounds[r] as SortedSamples).length
  const h = (size - 1) / 2
  const lo = Math.floor(h)
  const below = kthSmallest(rounds, pooled, multiplicity, lo)
  if (lo === h) return below
  const above = kthSmallest(rounds, pooled, multiplicity, lo + 1)
  return below + (h - lo) * (above - below)
}

/** The k-th smallest (0-based) of the weighted multiset, by binary search over the pooled values. */
function kthSmallest(
  rounds: readonly SortedSamples[],
  pooled: Float64Array,
  multiplicity: Int32Array,
  k: number,
): number {
  let low = 0
  let high = pooled.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    const x = pooled[mid] as number
    let atMost = 0
    for (let r = 0; r < rounds.length; r++) {
      const m = multiplicity[r] as number
      if (m > 0) atMost += m * countAtMost(rounds[r] as SortedSamples, x)
    }
    if (atMost > k) high = mid
    else low = mid + 1
  }
  return pooled[low] as number
}

/** Number of values <= x in a sorted array. */
function countAtMost(sorted: SortedSamples, x: number): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >> 1
    if ((sorted[mid] as number) <= x) low = mid + 1
    else high = mid
  }
  return low
}
