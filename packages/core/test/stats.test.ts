import { describe, expect, test } from 'vitest'
import { bootstrapMedianInterval, DEFAULT_RESAMPLES, resampledMedian } from '../src/measure/bootstrap.ts'
import { SampleError } from '../src/measure/errors.ts'
import { rng, variates } from '../src/measure/random.ts'
import { sortSamples } from '../src/measure/sample.ts'
import { medianAbsoluteDeviation, medianOf, quantile, summarize } from '../src/measure/statistics.ts'

describe('sortSamples', () => {
  test('sorts a copy, frozen, leaving the input alone', () => {
    const input = [3, 1, 2]
    const sorted = sortSamples(input)
    expect(sorted).toEqual([1, 2, 3])
    expect(input).toEqual([3, 1, 2])
    expect(Object.isFrozen(sorted)).toBe(true)
  })

  test('refuses empty, non-finite, negative and non-numeric samples, naming the index', () => {
    expect(() => sortSamples([])).toThrow(/empty/)
    expect(() => sortSamples([1, Number.NaN])).toThrow(/samples\[1\] is NaN/)
    expect(() => sortSamples([Number.POSITIVE_INFINITY])).toThrow(/samples\[0\] is Infinity/)
    expect(() => sortSamples([5, 4, -1])).toThrow(/samples\[2\] is -1 ns: durations cannot be negative/)
    expect(() => sortSamples([1, '2' as unknown as number])).toThrow(/samples\[1\] is "2"/)
    expect(() => sortSamples('12' as unknown as number[])).toThrow(SampleError)
  })
})

describe('quantile', () => {
  test('interpolates linearly between order statistics (type 7)', () => {
    const s = sortSamples([10, 20, 30, 40])
    expect(quantile(s, 0)).toBe(10)
    expect(quantile(s, 1)).toBe(40)
    expect(quantile(s, 0.5)).toBe(25)
    expect(quantile(s, 0.25)).toBeCloseTo(17.5, 12)
    expect(quantile(sortSamples([7]), 0.99)).toBe(7)
    expect(() => quantile(s, 1.5)).toThrow(/q must be in \[0, 1\]/)
  })
})

describe('summarize', () => {
  test('computes each statistic as its definition says', () => {
    const samples = [9, 1, 5, 3, 7, 100]
    const stats = summarize(samples)
    const mean = samples.reduce((a, b) => a + b) / samples.length
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1))
    expect(stats.n).toBe(6)
    expect(stats.medianNs).toBe(6) // (5 + 7) / 2
    expect(stats.meanNs).toBeCloseTo(mean, 12)
    expect(stats.sdNs).toBeCloseTo(sd, 12)
    // |x - 6| = 3 5 1 3 1 94 -> sorted 1 1 3 3 5 94 -> median 3
    expect(stats.madNs).toBe(3)
    expect(stats.minNs).toBe(1)
    expect(stats.maxNs).toBe(100)
    expect(stats.p25Ns).toBe(3.5)
    expect(stats.p75Ns).toBe(8.5)
    expect(stats.p99Ns).toBeCloseTo(9 + 0.95 * 91, 9)
    expect(stats.ciLevel).toBe(0.95)
    expect(stats.ciLowNs).toBeLessThanOrEqual(stats.medianNs)
    expect(stats.ciHighNs).toBeGreaterThanOrEqual(stats.medianNs)
  })

  test('one sample: no spread, the interval is the sample', () => {
    expect(summarize([42])).toMatchObject({
      n: 1,
      medianNs: 42,
      meanNs: 42,
      sdNs: 0,
      madNs: 0,
      ciLowNs: 42,
      ciHighNs: 42,
    })
  })

  test('is reproducible: same samples, same seed, same interval; another seed moves it a little', () => {
    const next = variates(rng(3))
    const samples = Array.from({ length: 301 }, () => 1e6 * Math.exp(0.05 * next.normal()))
    const a = summarize(samples)
    const b = summarize([...samples].reverse())
    expect(b).toEqual(a)
    const others = Array.from({ length: 20 }, (_, seed) => summarize(samples, { seed }))
    expect(new Set(others.map((s) => `${s.ciLowNs} ${s.ciHighNs}`)).size).toBeGreaterThan(1)
    for (const c of others) expect(Math.abs(c.ciLowNs - a.ciLowNs) / a.medianNs).toBeLessThan(0.005)
  })

  test('a wider level gives a wider interval', () => {
    const next = variates(rng(4))
    const samples = Array.from({ length: 200 }, () => 100 + next.normal())
    const narrow = summarize(samples, { ciLevel: 0.5 })
    const wide = summarize(samples, { ciLevel: 0.99 })
    expect(wide.ciLowNs).toBeLessThan(narrow.ciLowNs)
    expect(wide.ciHighNs).toBeGreaterThan(narrow.ciHighNs)
  })

  test('refuses bad options and bad samples', () => {
    expect(() => summarize([])).toThrow(SampleError)
    expect(() => summarize([1, 2], { ciLevel: 1 })).toThrow(/ciLevel must be in \(0, 1\)/)
    expect(() => summarize([1, 2], { resamples: 10 })).toThrow(/resamples must be an integer >= 100/)
    expect(() => summarize([1, 2], { seed: 1.5 })).toThrow(/seed must be an integer/)
    expect(() => summarize([1, Number.NaN])).toThrow(/samples\[1\] is NaN/)
  })

  test('median absolute deviation is unscaled', () => {
    expect(medianAbsoluteDeviation(sortSamples([1, 2, 3, 4, 100]))).toBe(1)
  })
})

describe('bootstrap of the median', () => {
  /** The textbook bootstrap: draw n indices with replacement, sort, take the median. */
  function explicitResampleMedian(sorted: readonly number[], next: () => number): number {
    const n = sorted.length
    const picked = Array.from({ length: n }, () => sorted[Math.floor(next() * n)] as number).sort((a, b) => a - b)
    return n % 2 === 1
      ? (picked[(n - 1) / 2] as number)
      : ((picked[n / 2 - 1] as number) + (picked[n / 2] as number)) / 2
  }

  function distribution(draw: () => number, draws: number): Map<number, number> {
    const counts = new Map<number, number>()
    for (let i = 0; i < draws; i++) {
      const m = draw()
      counts.set(m, (counts.get(m) ?? 0) + 1 / draws)
    }
    return counts
  }

  for (const n of [7, 8]) {
    test(`the direct draw has the law of the textbook resample median (n = ${n})`, () => {
      const sorted = sortSamples(Array.from({ length: n }, (_, i) => 10 * (i + 1)))
      const draws = 60_000
      const direct = variates(rng(11))
      const explicit = rng(12)
      const ours = distribution(() => resampledMedian(sorted, direct), draws)
      const textbook = distribution(() => explicitResampleMedian(sorted, explicit), draws)
      const values = new Set([...ours.keys(), ...textbook.keys()])
      let maxDifference = 0
      for (const v of values)
        maxDifference = Math.max(maxDifference, Math.abs((ours.get(v) ?? 0) - (textbook.get(v) ?? 0)))
      // Each probability is estimated with a standard error below 0.002: 0.012 is a 6-sigma bound.
      expect(maxDifference).toBeLessThan(0.012)
      // and the support is right: only values that a median of the sample's values can take
      for (const v of ours.keys()) expect(textbook.has(v) || (ours.get(v) ?? 0) < 0.001).toBe(true)
    })
  }

  test('covers the true median of a log-normal law about 95% of the time', () => {
    const next = variates(rng(21))
    let covered = 0
    const trials = 400
    for (let t = 0; t < trials; t++) {
      const samples = Array.from({ length: 101 }, () => Math.exp(0.1 * next.normal()))
      const ci = bootstrapMedianInterval(sortSamples(samples), { level: 0.95, resamples: DEFAULT_RESAMPLES, seed: t })
      if (ci.lowNs <= 1 && 1 <= ci.highNs) covered++
    }
    // 95% coverage gives 380 of 400 on average (sd 4.4); percentile intervals of a median run a little wide.
    expect(covered / trials).toBeGreaterThan(0.91)
    expect(covered / trials).toBeLessThan(0.995)
  })

  test('identical samples give a zero-width interval', () => {
    expect(bootstrapMedianInterval(sortSamples([5, 5, 5, 5]), { level: 0.95, resamples: 1000, seed: 1 })).toEqual({
      lowNs: 5,
      highNs: 5,
    })
  })
})

describe('medianOf', () => {
  test('the middle value of any order, the mean of the middle two for an even count, null for none', () => {
    expect(medianOf([5, 1, 3])).toBe(3)
    expect(medianOf([4, 1, 3, 2])).toBe(2.5)
    expect(medianOf([7])).toBe(7)
    expect(medianOf([])).toBeNull()
    const values = [3, 1, 2]
    medianOf(values)
    expect(values).toEqual([3, 1, 2]) // the caller's array is left in its order
  })
})
