/**
 * Sorted, non-empty samples. The brand is only ever applied by `sortSamples`, which checks every
 * value, so a function taking `SortedSamples` may index `[0]` and `[length - 1]` and interpolate
 * quantiles without checking again.
 */
import { SampleError } from './errors.ts'

/** Sorted (ascending), non-empty, finite and non-negative durations in ns (branded). */
export type SortedSamples = readonly number[] & { readonly __sorted: true }

/**
 * Copies, checks and sorts durations in ns. Throws a SampleError naming the first bad index when
 * the input is empty, not an array, or holds a non-finite or negative value. Zero is accepted
 * here (a clock may tick coarsely); the engine refuses zero durations from a backend. The result
 * is frozen. Cost: O(n log n).
 */
export function sortSamples(samplesNs: readonly number[]): SortedSamples {
  if (!Array.isArray(samplesNs) && !ArrayBuffer.isView(samplesNs)) {
    throw new SampleError(`samples must be an array of durations in ns, got ${describe(samplesNs)}`)
  }
  const n = samplesNs.length
  if (n === 0) throw new SampleError('samples are empty: at least one duration is needed')
  const sorted = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const value: unknown = samplesNs[i]
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SampleError(`samples[${i}] is ${describe(value)}: durations must be finite numbers of ns`)
    }
    if (value < 0) throw new SampleError(`samples[${i}] is ${value} ns: durations cannot be negative`)
    sorted[i] = value
  }
  sorted.sort()
  return Object.freeze(Array.from(sorted)) as readonly number[] as SortedSamples
}

/**
 * The q-quantile of a sorted, non-empty array-like (typed arrays included), interpolated
 * linearly between order statistics (Hyndman and Fan's type 7). q in [0, 1] is trusted. Cost O(1).
 */
export function interpolate(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q
  const lo = Math.floor(h)
  const below = sorted[lo] as number
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] as number
  return below === above ? below : below + (h - lo) * (above - below)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  return typeof value
}
