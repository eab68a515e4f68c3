/**
 * The regression verdict: a measurement against this device's stored baseline summary.
 *
 * Method (ratio of medians, both sides' noise, a practical-significance margin):
 * 1. The ratio r = current median / baseline median; r > 1 is slower.
 * 2. Each side's bootstrap interval of its median is turned into two half-widths in log space,
 *    below and above the median (ln(median / ciLow), ln(ciHigh / median)), and rescaled from the
 *    side's own level to the verdict's level by the ratio of normal quantiles. Log space makes a
 *    ratio a difference and keeps asymmetric intervals asymmetric.
 * 3. The two sides are independent runs, so their half-widths add in quadrature: the ratio's
 *    interval is r·exp(-√(below_c² + above_b²)) to r·exp(+√(above_c² + below_b²)).
 * 4. The tolerance (default 5%) is the margin of practical significance. It also absorbs what no
 *    within-run interval can see: the whole run drifting by a few percent from one run to the
 *    next (clocks, temperature, neighbours). With L, H the interval's bounds:
 *    decided in this order:
 *    - regressed:    L > 1 + tolerance (slower beyond the tolerance, with confidence);
 *    - same:         1/(1 + tolerance) <= L and H <= 1 + tolerance (equivalent within the
 *      tolerance: a difference the tolerance calls insignificant is no change, even where the
 *      interval excludes 1, as between two processes whose code and data landed differently);
 *    - slower:       L > 1 (slower with confidence; the interval reaches past the tolerance);
 *    - faster:       H < 1 (faster with confidence; the interval reaches past the band below 1);
 *    - inconclusive: anything else (the interval is too wide to decide), and whenever a side has
 *      fewer than MIN_VERDICT_SAMPLES samples, since a bootstrap of so few says little.
 *
 * Between runs: the intervals above describe one run each. A whole run can land in another
 * performance mode (a process's memory placement, a shared machine's neighbours) that no
 * interval of its own shows: on 2-core cloud VMs two runs a few minutes apart differed by 10-80%
 * on some benchmarks with intervals of ±1%. Where the baseline holds K >= 2 separate runs
 * (`runs`, recorded with GPUBENCH_RECORD=add-run), the spread between them is measured, and the
 * verdict treats the current run as one more draw from the same population of runs:
 * 5. with l_i the logs of the K run medians, m their mean and s their standard deviation (K - 1
 *    degrees of freedom), the ratio is current median / exp(m), and its interval's log
 *    half-width is t(K - 1) · √(s²·(1 + 1/K) + max(0, w_c² - w̄²)), a prediction interval for one
 *    new run, where w_c is the current run's own standard error (from its interval) and w̄² the
 *    mean square of the baseline runs' (already part of s², so only a noisier current run adds);
 * 6. the interval is never narrower than the single-run comparison of steps 2-3 against the
 *    latest run; the rules of step 4 then decide. Few runs give a wide interval (t(2) = 4.30 at
 *    95%, t(4) = 2.78): a benchmark whose runs disagree reads inconclusive, not regressed, and one
 *    whose runs agree keeps a tight interval.
 *
 * Calibration: scripts/verdict-simulation.ts (and a test that asserts the same bar) runs the real
 * engine (`measureRounds`, DEFAULT_STOPPING_RULE: 4 rounds of independent prepares) on simulated
 * noise (log-normal, heavy-tailed, bimodal, a ±3% drift of the whole run, and per-prepare modes:
 * each prepare 1.0x or 1.3x). With 1 ms runs (500 to 1300 samples a side), identical
 * distributions give "regressed" in 0 of 1000 trials for the first four models and a 10% slowdown
 * in 1000 of 1000; with 20 ms runs likewise (300 trials). Per-prepare modes give 7 false alarms in
 * 1000 (0.7%; 245 in 1000 with one prepare per measurement, 17 with 3 rounds: 4 rounds are the
 * fewest for which two sides each drawing all-same modes stays under 1%), and detect a 10%
 * slowdown in only 12% of trials: the verdict is inconclusive instead, as it should be when
 * prepares differ by 30%. Runs so long that the 15 s cap leaves about 20 samples (300 ms: each of
 * the 4 rounds pays its own cold run and warm-up) still give no false alarm, but detection falls
 * to 40% (5% log-normal noise; 91% with one round) and 3% (bimodal); such runs need a longer
 * maxTimeNs, or fewer rounds where prepares are known to agree.
 */
import { formatDuration } from '../units.ts'
import { normalQuantile, studentTQuantile } from './distributions.ts'
import { VerdictError } from './errors.ts'
import type { SampleStats } from './statistics.ts'

export type VerdictKind = 'faster' | 'same' | 'slower' | 'regressed' | 'inconclusive'

export interface Verdict {
  kind: VerdictKind
  /** Current median / baseline median (> 1 is slower). */
  ratio: number
  /** Confidence interval of the ratio, at the verdict's ciLevel. */
  ratioLow: number
  ratioHigh: number
  /** E.g. 0.05: slowdowns within 5% are not regressions. */
  tolerance: number
  /** One line, in words, with the figures. */
  reason: string
  /** Baseline runs the comparison used: 1, or K >= 2 when the spread between runs was weighed. */
  baselineRuns: number
  /** With K >= 2 runs: the standard deviation of the runs' log medians (≈ relative spread). */
  betweenRunSd?: number
}

export interface VerdictOptions {
  /** Slowdown not counted as a regression, as a fraction (>= 0); default DEFAULT_TOLERANCE. */
  tolerance?: number
  /** Confidence level of the ratio's interval, in (0, 1); default 0.95. */
  ciLevel?: number
  /**
   * The baseline's separate runs (oldest first; `baseline` is normally the latest). With two or
   * more, the spread between runs enters the interval (steps 5-6 above); with fewer it is unused.
   */
  baselineRuns?: readonly RunStats[]
}

/** One run's sample count, median and its confidence interval, as a baseline entry's `runs` holds them. */
export type RunStats = Pick<SampleStats, 'n' | 'medianNs' | 'ciLowNs' | 'ciHighNs' | 'ciLevel'>

export const DEFAULT_TOLERANCE = 0.05
export const DEFAULT_VERDICT_CI_LEVEL = 0.95
/** Below this many samples on either side the verdict is inconclusive. */
export const MIN_VERDICT_SAMPLES = 5

/** Compares a measurement's summary with a stored baseline summary; see the method above. */
export function compareToBaseline(current: SampleStats, baseline: SampleStats, options: VerdictOptions = {}): Verdict {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE
  const ciLevel = options.ciLevel ?? DEFAULT_VERDICT_CI_LEVEL
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new VerdictError(
      `compareToBaseline: option 'tolerance' must be a finite number >= 0, got ${String(tolerance)}`,
    )
  }
  if (typeof ciLevel !== 'number' || !(ciLevel > 0 && ciLevel < 1)) {
    throw new VerdictError(`compareToBaseline: option 'ciLevel' must be in (0, 1), got ${String(ciLevel)}`)
  }
  checkStats(current, 'current')
  checkStats(baseline, 'baseline')

  const z = normalQuantile((1 + ciLevel) / 2)
  const c = logHalfWidths(current, z)
  const b = logHalfWidths(baseline, z)
  let ratio = current.medianNs / baseline.medianNs
  let ratioLow = ratio * Math.exp(-Math.hypot(c.below, b.above))
  let ratioHigh = ratio * Math.exp(Math.hypot(c.above, b.below))
  let baselineNs = baseline.medianNs
  let betweenRunSd: number | undefined
  const runs = options.baselineRuns ?? []
  if (runs.length >= 2) {
    runs.forEach((run, i) => {
      checkStats(run, `baselineRuns[${i}]`)
    })
    const k = runs.length
    const logs = runs.map((run) => Math.log(run.medianNs))
    const center = logs.reduce((a, x) => a + x, 0) / k
    const sd = Math.sqrt(logs.reduce((a, x) => a + (x - center) ** 2, 0) / (k - 1))
    // A run's standard error in log space: its interval's mean half-width at one standard deviation.
    const runSe = (run: RunStats): number => {
      const { below, above } = logHalfWidths(run, 1)
      return (below + above) / 2
    }
    const meanSquareSe = runs.reduce((a, run) => a + runSe(run) ** 2, 0) / k
    const currentSe = runSe(current)
    const variance = sd ** 2 * (1 + 1 / k) + Math.max(0, currentSe ** 2 - meanSquareSe)
    const half = studentTQuantile((1 + ciLevel) / 2, k - 1) * Math.sqrt(variance)
    baselineNs = Math.exp(center)
    ratio = current.medianNs / baselineNs
    // Never narrower than the single-run comparison with the latest run (step 6).
    const single = { low: ratioLow / ratio, high: ratioHigh / ratio }
    ratioLow = ratio * Math.min(Math.exp(-half), single.low)
    ratioHigh = ratio * Math.max(Math.exp(half), single.high)
    betweenRunSd = sd
  }
  const upper = 1 + tolerance
  const lower = 1 / upper

  const pct = `${round(tolerance * 100)}%`
  const against =
    betweenRunSd === undefined
      ? `baseline ${formatDuration(baselineNs)}`
      : `baseline ${formatDuration(baselineNs)} (${runs.length} runs, spread between runs ${round(betweenRunSd * 100)}%)`
  const figures =
    `median ${formatDuration(current.medianNs)} vs ${against}, ` +
    `ratio ${ratio.toFixed(3)} (${round(ciLevel * 100)}% CI ${ratioLow.toFixed(3)}-${ratioHigh.toFixed(3)})`
  let kind: VerdictKind
  let why: string
  if (current.n < MIN_VERDICT_SAMPLES || baseline.n < MIN_VERDICT_SAMPLES) {
    kind = 'inconclusive'
    why = `too few samples to decide (current ${current.n}, baseline ${baseline.n}; at least ${MIN_VERDICT_SAMPLES} each)`
  } else if (ratioLow > upper) {
    kind = 'regressed'
    why = `slower beyond the ${pct} tolerance`
  } else if (ratioLow >= lower && ratioHigh <= upper) {
    kind = 'same'
    why = `the same within the ${pct} tolerance`
  } else if (ratioLow > 1) {
    kind = 'slower'
    why = `slower, but not shown beyond the ${pct} tolerance`
  } else if (ratioHigh < 1) {
    kind = 'faster'
    why = 'faster'
  } else {
    kind = 'inconclusive'
    why = `the interval is too wide to decide against the ${pct} tolerance; take more samples or reduce the noise`
  }
  return {
    kind,
    ratio,
    ratioLow,
    ratioHigh,
    tolerance,
    reason: `${kind}: ${figures}: ${why}`,
    baselineRuns: betweenRunSd === undefined ? 1 : runs.length,
    ...(betweenRunSd === undefined ? {} : { betweenRunSd }),
  }
}

/** Log-space half-widths of a side's median interval below and above its median, at the normal quantile z. */
function logHalfWidths(stats: RunStats, z: number): { below: number; above: number } {
  const scale = z / normalQuantile((1 + stats.ciLevel) / 2)
  return {
    below: Math.log(stats.medianNs / stats.ciLowNs) * scale,
    above: Math.log(stats.ciHighNs / stats.medianNs) * scale,
  }
}

function checkStats(stats: RunStats, side: string): void {
  if (typeof stats !== 'object' || stats === null) {
    throw new VerdictError(`compareToBaseline: ${side} statistics are missing`)
  }
  const field = (name: keyof RunStats, ok: (v: number) => boolean, expected: string): number => {
    const value: unknown = stats[name]
    if (typeof value !== 'number' || !ok(value)) {
      throw new VerdictError(`compareToBaseline: ${side}.${name} must be ${expected}, got ${String(value)}`)
    }
    return value
  }
  field('n', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1')
  const median = field('medianNs', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0')
  const low = field('ciLowNs', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0')
  const high = field('ciHighNs', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0')
  field('ciLevel', (v) => v > 0 && v < 1, 'in (0, 1)')
  if (!(low <= median && median <= high)) {
    throw new VerdictError(
      `compareToBaseline: ${side} interval [ciLowNs ${low}, ciHighNs ${high}] must contain medianNs ${median}`,
    )
  }
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100)
}
