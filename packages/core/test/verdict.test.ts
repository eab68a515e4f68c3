import { describe, expect, test } from 'vitest'
import { VerdictError } from '../src/measure/errors.ts'
import type { SampleStats } from '../src/measure/statistics.ts'
import { compareToBaseline, DEFAULT_TOLERANCE, MIN_VERDICT_SAMPLES } from '../src/measure/verdict.ts'

/** Summary with a median and a symmetric relative half-width of its 95% interval. */
function stats(medianNs: number, relativeHalfWidth: number, extra: Partial<SampleStats> = {}): SampleStats {
  return {
    n: 500,
    medianNs,
    meanNs: medianNs,
    sdNs: medianNs * 0.02,
    madNs: medianNs * 0.01,
    minNs: medianNs * 0.9,
    maxNs: medianNs * 1.2,
    p25Ns: medianNs * 0.99,
    p75Ns: medianNs * 1.01,
    p99Ns: medianNs * 1.1,
    ciLowNs: medianNs * Math.exp(-relativeHalfWidth),
    ciHighNs: medianNs * Math.exp(relativeHalfWidth),
    ciLevel: 0.95,
    ...extra,
  }
}

describe('compareToBaseline', () => {
  const base = stats(1e6, 0.005)

  test('the default tolerance is 5%', () => {
    expect(DEFAULT_TOLERANCE).toBe(0.05)
  })

  test('regressed: confidently slower beyond the tolerance', () => {
    const v = compareToBaseline(stats(1.1e6, 0.005), base)
    expect(v.kind).toBe('regressed')
    expect(v.ratio).toBeCloseTo(1.1, 12)
    // half-widths add in quadrature in log space: sqrt(2) x 0.5%
    expect(Math.log(v.ratio / v.ratioLow)).toBeCloseTo(Math.SQRT2 * 0.005, 12)
    expect(Math.log(v.ratioHigh / v.ratio)).toBeCloseTo(Math.SQRT2 * 0.005, 12)
    expect(v.tolerance).toBe(0.05)
    expect(v.reason).toMatch(/^regressed: median 1\.1 ms vs baseline 1 ms, ratio 1\.100 \(95% CI 1\.092-1\.108\)/)
    expect(v.reason).toMatch(/beyond the 5% tolerance/)
  })

  test('same, not slower, when a confident difference lies within the tolerance band', () => {
    const v = compareToBaseline(stats(1.03e6, 0.005), base)
    expect(v.ratioLow).toBeGreaterThan(1)
    expect(v.ratioHigh).toBeLessThan(1.05)
    expect(v.kind).toBe('same')
    expect(compareToBaseline(stats(0.97e6, 0.005), base).kind).toBe('same')
  })

  test('slower, not regressed, when the interval reaches past the tolerance without clearing it', () => {
    const v = compareToBaseline(stats(1.06e6, 0.03), base)
    expect(v.ratioLow).toBeGreaterThan(1)
    expect(v.ratioLow).toBeLessThan(1.05)
    expect(v.kind).toBe('slower')
  })

  test('faster: confidently faster', () => {
    const v = compareToBaseline(stats(0.9e6, 0.005), base)
    expect(v.kind).toBe('faster')
    expect(v.ratioHigh).toBeLessThan(1)
  })

  test('same: the interval holds 1 and lies within the tolerance band', () => {
    const v = compareToBaseline(stats(1.002e6, 0.01), base)
    expect(v.kind).toBe('same')
    expect(v.reason).toMatch(/the same within the 5% tolerance/)
  })

  test('inconclusive: the interval holds 1 and reaches beyond the tolerance', () => {
    const v = compareToBaseline(stats(1.03e6, 0.1), stats(1e6, 0.1))
    expect(v.kind).toBe('inconclusive')
    expect(v.reason).toMatch(/too wide to decide/)
  })

  test('inconclusive with too few samples, whatever the medians', () => {
    const v = compareToBaseline(stats(2e6, 0.001, { n: MIN_VERDICT_SAMPLES - 1 }), base)
    expect(v.kind).toBe('inconclusive')
    expect(v.reason).toMatch(/too few samples to decide \(current 4, baseline 500/)
  })

  test('the tolerance moves the line between slower and regressed', () => {
    const current = stats(1.09e6, 0.02)
    expect(compareToBaseline(current, base, { tolerance: 0.05 }).kind).toBe('regressed')
    expect(compareToBaseline(current, base, { tolerance: 0.1 }).kind).toBe('slower')
    expect(compareToBaseline(current, base, { tolerance: 0.15 }).kind).toBe('same')
    expect(compareToBaseline(stats(1.01e6, 0.001), stats(1e6, 0.001), { tolerance: 0 }).kind).toBe('regressed')
  })

  test("each side's interval is rescaled from its own level to the verdict's", () => {
    const at95 = compareToBaseline(stats(1.1e6, 0.01), base)
    const at99 = compareToBaseline(stats(1.1e6, 0.01), base, { ciLevel: 0.99 })
    expect(at99.ratioLow).toBeLessThan(at95.ratioLow)
    const ratioOfWidths = Math.log(at99.ratio / at99.ratioLow) / Math.log(at95.ratio / at95.ratioLow)
    expect(ratioOfWidths).toBeCloseTo(2.5758293035489 / 1.959963984540054, 9)
    // a side stored at 68.27% (one sigma) counts as about twice as wide at 95%
    const sigma = compareToBaseline(stats(1.1e6, 0.01, { ciLevel: 0.6826894921 }), stats(1e6, 0))
    expect(Math.log(sigma.ratio / sigma.ratioLow)).toBeCloseTo(0.01 * 1.959963984540054, 6)
  })

  test('asymmetric intervals stay asymmetric', () => {
    const current = stats(1.1e6, 0, { ciLowNs: 1.09e6, ciHighNs: 1.2e6 })
    const v = compareToBaseline(current, stats(1e6, 0))
    expect(v.ratioLow).toBeCloseTo(1.09, 12)
    expect(v.ratioHigh).toBeCloseTo(1.2, 12)
  })

  const bad: Array<[string, () => unknown, RegExp]> = [
    [
      'a zero baseline median',
      () => compareToBaseline(base, stats(0, 0.01)),
      /baseline\.medianNs must be a finite number > 0, got 0/,
    ],
    [
      'a NaN current median',
      () => compareToBaseline(stats(Number.NaN, 0.01), base),
      /current\.medianNs must be a finite number > 0, got NaN/,
    ],
    ['n = 0', () => compareToBaseline(stats(1, 0.01, { n: 0 }), base), /current\.n must be an integer >= 1, got 0/],
    [
      'a missing ciLevel',
      () => compareToBaseline(base, { ...base, ciLevel: undefined } as unknown as SampleStats),
      /baseline\.ciLevel must be in \(0, 1\), got undefined/,
    ],
    [
      'an interval without the median',
      () => compareToBaseline(stats(1e6, 0.01, { ciLowNs: 2e6, ciHighNs: 3e6 }), base),
      /current interval \[ciLowNs 2000000, ciHighNs 3000000\] must contain medianNs 1000000/,
    ],
    [
      'a negative tolerance',
      () => compareToBaseline(base, base, { tolerance: -0.1 }),
      /option 'tolerance' must be a finite number >= 0/,
    ],
    ['a level of 1', () => compareToBaseline(base, base, { ciLevel: 1 }), /option 'ciLevel' must be in \(0, 1\)/],
    [
      'missing statistics',
      () => compareToBaseline(base, null as unknown as SampleStats),
      /baseline statistics are missing/,
    ],
  ]
  for (const [name, call, message] of bad) {
    test(`refuses ${name}`, () => {
      expect(call).toThrow(VerdictError)
      expect(call).toThrow(message)
    })
  }
})

describe('compareToBaseline with the baseline runs', () => {
  /** Runs with the given medians, each with a ±0.5% interval. */
  const runs = (...medians: number[]) =>
    medians.map((m) => ({
      n: 500,
      medianNs: m,
      ciLowNs: m * Math.exp(-0.005),
      ciHighNs: m * Math.exp(0.005),
      ciLevel: 0.95,
    }))

  test('runs that disagree widen the interval: a run in another mode is not a regression', () => {
    const history = runs(1.0e6, 1.2e6, 0.9e6, 1.1e6, 1.0e6)
    const latest = stats(1.0e6, 0.005)
    // Against the latest run alone, a run 25% slower with a tight interval is a regression...
    expect(compareToBaseline(stats(1.25e6, 0.005), latest).kind).toBe('regressed')
    // ...but the baseline's own runs spread that far.
    const v = compareToBaseline(stats(1.25e6, 0.005), latest, { baselineRuns: history })
    expect(v.kind).toBe('inconclusive')
    expect(v.baselineRuns).toBe(5)
    const logs = history.map((r) => Math.log(r.medianNs))
    const mean = logs.reduce((a, x) => a + x, 0) / 5
    const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / 4)
    expect(v.betweenRunSd).toBeCloseTo(sd, 12)
    expect(v.ratio).toBeCloseTo(1.25e6 / Math.exp(mean), 12)
    // t(4) at 97.5% is 2.776; equal run intervals: no extra term for the current run.
    expect(Math.log(v.ratioHigh / v.ratio)).toBeCloseTo(2.7764451 * sd * Math.sqrt(1 + 1 / 5), 5)
    expect(v.reason).toMatch(/5 runs, spread between runs 10\.9%/)
    // A slowdown far beyond the runs' spread is still a regression.
    expect(compareToBaseline(stats(2.5e6, 0.005), latest, { baselineRuns: history }).kind).toBe('regressed')
  })

  test('runs that agree keep the interval tight, so "same" and "regressed" stay reachable', () => {
    const history = runs(1.0e6, 1.002e6, 0.999e6, 1.001e6)
    const latest = stats(1.001e6, 0.005)
    expect(compareToBaseline(stats(1.0e6, 0.005), latest, { baselineRuns: history }).kind).toBe('same')
    expect(compareToBaseline(stats(1.1e6, 0.005), latest, { baselineRuns: history }).kind).toBe('regressed')
  })

  test('is never narrower than the comparison with the latest run, and a noisier current run widens it', () => {
    const history = runs(1e6, 1e6, 1e6)
    const latest = stats(1e6, 0.005)
    const single = compareToBaseline(stats(1e6, 0.02), latest)
    const withRuns = compareToBaseline(stats(1e6, 0.02), latest, { baselineRuns: history })
    expect(withRuns.ratioLow).toBeLessThanOrEqual(single.ratioLow + 1e-12)
    expect(withRuns.ratioHigh).toBeGreaterThanOrEqual(single.ratioHigh - 1e-12)
    const quiet = compareToBaseline(stats(1e6, 0.005), latest, { baselineRuns: runs(1e6, 1.01e6, 0.99e6) })
    const noisy = compareToBaseline(stats(1e6, 0.05), latest, { baselineRuns: runs(1e6, 1.01e6, 0.99e6) })
    expect(noisy.ratioHigh).toBeGreaterThan(quiet.ratioHigh)
  })

  test('one run is the single-run comparison; bad runs are refused by name', () => {
    const latest = stats(1e6, 0.005)
    const one = compareToBaseline(stats(1.1e6, 0.005), latest, { baselineRuns: runs(1e6) })
    expect(one).toEqual({ ...compareToBaseline(stats(1.1e6, 0.005), latest), baselineRuns: 1 })
    expect(one.betweenRunSd).toBeUndefined()
    const bad = [...runs(1e6), { n: 10, medianNs: -1, ciLowNs: 1, ciHighNs: 2, ciLevel: 0.95 }]
    expect(() => compareToBaseline(stats(1e6, 0.005), latest, { baselineRuns: bad })).toThrow(
      /baselineRuns\[1\]\.medianNs must be a finite number > 0/,
    )
  })
})
