import { Bench } from 'tinybench'
import { describe, expect, test } from 'vitest'
import { toTinybenchStatistics } from '../scripts/tinybench-statistics.ts'
import { SampleError } from '../src/measure/errors.ts'
import { rng } from '../src/measure/random.ts'

/**
 * Runs tinybench itself, each iteration reporting a sample as its overridden duration, and
 * returns its latency statistics with the samples (in ns) it recorded. (tinybench may call the
 * function once more than the iterations, to learn whether it is async, hence the cycling.)
 */
async function tinybenchLatency(samplesNs: number[]) {
  let i = 0
  const bench = new Bench({ iterations: samplesNs.length, time: 0, warmup: false, retainSamples: true })
  bench.add('samples', () => ({ overriddenDuration: (samplesNs[i++ % samplesNs.length] as number) / 1e6 }))
  await bench.run()
  const result = bench.tasks[0]?.result
  if (!result || !('latency' in result)) throw new Error(`tinybench gave no latency: ${JSON.stringify(result)}`)
  const recordedNs = (result.latency.samples ?? []).map((ms) => ms * 1e6)
  expect(recordedNs).toHaveLength(samplesNs.length)
  return { latency: result.latency, recordedNs }
}

describe('toTinybenchStatistics', () => {
  test('matches tinybench 6 field by field on the same samples (converted to ms)', async () => {
    const next = rng(7)
    for (const n of [2, 3, 10, 57, 400]) {
      const samplesNs = Array.from({ length: n }, () => 1e5 + Math.floor(next() * 5e4) + (next() < 0.05 ? 1e6 : 0))
      const { latency: theirs, recordedNs } = await tinybenchLatency(samplesNs)
      const ours = toTinybenchStatistics(recordedNs)
      for (const field of [
        'aad',
        'critical',
        'df',
        'mad',
        'max',
        'mean',
        'min',
        'moe',
        'p50',
        'p75',
        'p99',
        'p995',
        'p999',
        'rme',
        'samplesCount',
        'sd',
        'sem',
        'variance',
      ] as const) {
        expect(ours[field], `${field} with n = ${n}`).toBeCloseTo(theirs[field] as number, 9)
      }
      expect(ours.samples?.length).toBe(theirs.samples?.length)
      ours.samples?.forEach((ms, k) => {
        expect(ms).toBeCloseTo(theirs.samples?.[k] as number, 12)
      })
    }
  })

  test('reports ms: 1 ms and 3 ms samples have a mean of 2', () => {
    const stats = toTinybenchStatistics([3e6, 1e6])
    expect(stats.mean).toBe(2)
    expect(stats.min).toBe(1)
    expect(stats.max).toBe(3)
    expect(stats.samples).toEqual([1, 3])
    expect(stats.df).toBe(1)
    expect(stats.critical).toBeCloseTo(12.7062047, 6)
  })

  test('a single sample has no spread', () => {
    const stats = toTinybenchStatistics([5e5])
    expect(stats).toMatchObject({ mean: 0.5, p50: 0.5, sd: 0, sem: 0, moe: 0, rme: 0, variance: 0, df: 0 })
  })

  test('refuses empty and bad samples', () => {
    expect(() => toTinybenchStatistics([])).toThrow(SampleError)
    expect(() => toTinybenchStatistics([1, Number.NaN])).toThrow(/samples\[1\] is NaN/)
    expect(() => toTinybenchStatistics([1, -2])).toThrow(/samples\[1\] is -2 ns/)
  })
})
