import { describe, expect, test } from 'vitest'
import { VerdictError } from '../src/measure/errors.ts'
import { holmRejections, runShiftLog, singleRegressionLevel } from '../src/measure/run-level.ts'
import type { SampleStats } from '../src/measure/statistics.ts'
import {
  compareToBaseline,
  DEFAULT_RUN_ERROR_RATE,
  DEFAULT_RUN_NOISE_PRIOR,
  DEFAULT_TOLERANCE,
  DEVICE_PRIOR_MAX_DF,
  detectableRatio,
  deviceRunNoisePrior,
  MIN_VERDICT_SAMPLES,
  type RunStats,
  regressionPValue,
  sittingsOf,
  studentTUpperTail,
  UNSEEN_SHIFT_SD,
} from '../src/measure/verdict.ts'

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

/** A device whose runs are known to agree to 0.1%: the interval, not the spread between runs, decides. */
const QUIET = { runNoisePrior: { sd: 0.001, df: 1000 } } as const

describe('compareToBaseline', () => {
  const base = stats(1e6, 0.005)

  test('the default tolerance is 5%', () => {
    expect(DEFAULT_TOLERANCE).toBe(0.05)
  })

  test('regressed: confidently slower beyond the tolerance', () => {
    const v = compareToBaseline(stats(1.1e6, 0.005), base, QUIET)
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
    expect(compareToBaseline(current, base, { ...QUIET, tolerance: 0.05 }).kind).toBe('regressed')
    expect(compareToBaseline(current, base, { ...QUIET, tolerance: 0.1 }).kind).toBe('slower')
    expect(compareToBaseline(current, base, { ...QUIET, tolerance: 0.15 }).kind).toBe('same')
    const tight = { runNoisePrior: { sd: 0.0001, df: 1000 }, tolerance: 0 }
    expect(compareToBaseline(stats(1.01e6, 0.001), stats(1e6, 0.001), tight).kind).toBe('regressed')
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
    // Against the latest run alone, on a device known to be quiet, a run 25% slower with a tight interval is a regression...
    expect(compareToBaseline(stats(1.25e6, 0.005), latest, QUIET).kind).toBe('regressed')
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
    // Four runs that agree do not outweigh the prior's 5% spread: 10% slower is 'slower' at 1%...
    const alone = compareToBaseline(stats(1.1e6, 0.005), latest, { baselineRuns: history })
    expect(alone.kind).toBe('slower')
    expect(alone.reason).toMatch(/within what runs differ by \(p = 0\.\d+ against the 0\.01 level\)/)
    // ...and 'regressed' where the device's other benchmarks show its runs agree too.
    const device = deviceRunNoisePrior(Array.from({ length: 20 }, () => history))
    expect(device.df).toBe(DEVICE_PRIOR_MAX_DF)
    expect(device.sd).toBeLessThan(0.01)
    const v = compareToBaseline(stats(1.1e6, 0.005), latest, { baselineRuns: history, runNoisePrior: device })
    expect(v.kind).toBe('regressed')
    expect(v.pValue).toBeLessThan(0.01)
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

describe('the regressed test: a stated error rate on a model of whole runs', () => {
  const run = (medianNs: number) => stats(medianNs, 0.005)

  test('a one-run baseline stands on the prior: t with 2 degrees of freedom, scale 5%·√2', () => {
    const v = compareToBaseline(run(1.3e6), run(1e6))
    expect(v.df).toBe(DEFAULT_RUN_NOISE_PRIOR.df)
    expect(v.logSe).toBeCloseTo(DEFAULT_RUN_NOISE_PRIOR.sd * Math.SQRT2, 12)
    const t = (Math.log(1.3) - Math.log(1.05)) / v.logSe
    // t(2)'s upper tail in closed form: (1 - t / √(t² + 2)) / 2
    expect(v.pValue).toBeCloseTo((1 - t / Math.sqrt(t * t + 2)) / 2, 12)
    // 30% beyond a 5% tolerance is no regression at 1% when nothing says how much runs differ
    expect(v.kind).toBe('slower')
    expect(compareToBaseline(run(2e6), run(1e6)).kind).toBe('regressed')
    expect(v.alpha).toBe(DEFAULT_RUN_ERROR_RATE)
  })

  test('the level decides: the same comparison regressed at 5%, slower at 0.1%', () => {
    const history = [run(1e6), run(1.02e6), run(0.98e6), run(1.01e6), run(0.99e6)]
    const current = run(1.25e6)
    const loose = compareToBaseline(current, history[4]!, { baselineRuns: history, alpha: 0.05 })
    const strict = compareToBaseline(current, history[4]!, { baselineRuns: history, alpha: 0.001 })
    expect(loose.pValue).toBeCloseTo(strict.pValue, 15)
    expect(loose.pValue).toBeGreaterThan(0.001)
    expect(loose.pValue).toBeLessThan(0.05)
    expect(loose.kind).toBe('regressed')
    expect(strict.kind).toBe('slower')
    expect(() => compareToBaseline(current, history[4]!, { alpha: 0.5 })).toThrow(
      /option 'alpha' must be in \(0, 0\.5\)/,
    )
  })

  test('the detectable slowdown: caught at the stated power, shrinking with agreeing runs', () => {
    const one = compareToBaseline(run(1e6), run(1e6))
    const five = compareToBaseline(run(1e6), run(1e6), {
      baselineRuns: [1, 1.01, 0.99, 1, 1.005].map((f) => run(f * 1e6)),
    })
    const level = singleRegressionLevel(51)
    expect(detectableRatio(five, level)).toBeLessThan(detectableRatio(one, level))
    // a slowdown exactly at the detectable ratio has a p-value at the level in 20% of draws:
    // at the ratio itself, the statistic sits t(0.8) above the critical value
    const ratio = detectableRatio(five, 0.01)
    const reach = (Math.log(ratio) - Math.log(1 + five.tolerance)) / five.logSe
    expect(studentTUpperTail(reach, five.df)).toBeLessThan(0.01)
    expect(regressionPValue({ ...five, ratio })).toBeLessThan(0.01)
  })

  test('a run-wide slowdown is discounted before the test', () => {
    const v = compareToBaseline(run(1.6e6), run(1e6), { runNoisePrior: { sd: 0.02, df: 4 } })
    expect(v.kind).toBe('regressed')
    expect(regressionPValue(v, Math.log(1.6))).toBeGreaterThan(0.5)
    expect(regressionPValue(v, -1)).toBeCloseTo(v.pValue, 15) // a faster run is not credited
  })

  test('sittings: runs of one sitting add the unseen shift between sittings to the test, not to the interval', () => {
    const at = (medianNs: number, iso: string) => ({ ...run(medianNs), recordedAt: iso })
    const oneSitting = [
      at(1e6, '2026-12-03T21:00:00Z'),
      at(1.01e6, '2026-12-03T21:10:00Z'),
      at(0.99e6, '2026-12-03T21:39:59Z'),
    ]
    const twoSittings = [...oneSitting.slice(0, 2), at(0.99e6, '2026-12-03T21:40:01Z')]
    expect(sittingsOf(oneSitting)).toBe(1)
    expect(sittingsOf(twoSittings)).toBe(2)
    expect(sittingsOf([...oneSitting, { ...run(1e6) } as RunStats])).toBeNull() // a run without its time: not known
    expect(sittingsOf([at(1e6, 'yesterday')])).toBeNull()
    const current = run(1.4e6)
    const one = compareToBaseline(current, oneSitting[2]!, { baselineRuns: oneSitting })
    const two = compareToBaseline(current, twoSittings[2]!, { baselineRuns: twoSittings })
    const unknown = compareToBaseline(current, oneSitting[2]!, { baselineRuns: oneSitting, sittings: null })
    expect(one.sittings).toBe(1)
    expect(two.sittings).toBe(2)
    expect(unknown.sittings).toBeNull()
    expect(one.logSe ** 2).toBeCloseTo(two.logSe ** 2 + UNSEEN_SHIFT_SD ** 2, 12)
    expect(unknown.logSe).toBeCloseTo(two.logSe, 12)
    expect([one.ratioLow, one.ratioHigh]).toEqual([two.ratioLow, two.ratioHigh])
    expect(two.kind).toBe('regressed')
    expect(one.kind).toBe('slower')
    expect(one.reason).toMatch(/runs of one sitting, so a 12% shift between sittings is allowed for/)
    // the caller may count the device's sittings (its whole file) instead of the entry's
    expect(compareToBaseline(current, oneSitting[2]!, { baselineRuns: oneSitting, sittings: 3 }).logSe).toBeCloseTo(
      two.logSe,
      12,
    )
    expect(() => compareToBaseline(current, oneSitting[2]!, { sittings: 0 })).toThrow(
      /option 'sittings' must be an integer >= 1 or null, got 0/,
    )
  })

  test("the device prior pools every entry's runs with the default prior", () => {
    expect(deviceRunNoisePrior([])).toEqual(DEFAULT_RUN_NOISE_PRIOR)
    expect(deviceRunNoisePrior([[run(1e6)]])).toEqual(DEFAULT_RUN_NOISE_PRIOR)
    const p = deviceRunNoisePrior([[run(1e6), run(Math.E * 1e6)]])
    // (2·0.05² + ½) / 3
    expect(p.sd).toBeCloseTo(Math.sqrt((2 * 0.05 ** 2 + 0.5) / 3), 12)
    expect(p.df).toBe(3)
  })
})

describe('Holm over a run', () => {
  test('step-down: p(i) against alpha / (m - i + 1), stopping at the first miss', () => {
    const c = (pValue: number, eligible = true) => ({ pValue, eligible })
    // m = 4, alpha 1%: thresholds 0.0025, 0.00333, 0.005, 0.01
    expect(holmRejections([c(0.002), c(0.003), c(0.2), c(0.004)], 0.01)).toEqual([true, true, false, true])
    // the second smallest misses its threshold: nothing after it is rejected either
    // (0.0045 and 0.0046 are under their own thresholds, 0.005 and 0.01)
    expect(holmRejections([c(0.0046), c(0.004), c(0.0045), c(0.001)], 0.01)).toEqual([false, false, false, true])
    expect(holmRejections([c(0.006), c(0.006)], 0.01)).toEqual([false, false])
    // a comparison that may not read regressed counts in m but is never rejected
    expect(holmRejections([c(1e-9, false), c(0.004)], 0.01)).toEqual([false, true])
    expect(holmRejections([], 0.01)).toEqual([])
    expect(() => holmRejections([c(Number.NaN)])).toThrow(/comparison 0 has pValue NaN/)
  })

  test('the run-wide shift is the median log ratio, from 8 comparisons, slowdowns only', () => {
    expect(runShiftLog([2, 2, 2, 2, 2, 2, 2])).toBe(0)
    expect(runShiftLog([1.5, 1.5, 1.5, 1.5, 1.5, 3, 1.4, 1.6])).toBeCloseTo(Math.log(1.5), 12)
    expect(runShiftLog([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])).toBe(0)
  })
})
