/**
 * The regression verdict: a measurement against this device's stored baseline summary (ratio of
 * medians, both sides' noise, the spread between the baseline's runs, a practical-significance
 * tolerance, one-sided test at the run's error level). The method, step by step, and the figures
 * behind its constants: docs/verdict.md (the steps are numbered there as in the comments below).
 */
import { formatDuration } from '../units.ts'
import { incompleteBeta, normalQuantile, studentTQuantile } from './distributions.ts'
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
  /**
   * One-sided p-value of "no slowdown beyond the tolerance" under the between-run model (step 8):
   * small when the current run is slower beyond the tolerance than the baseline's runs explain.
   */
  pValue: number
  /** Standard error of the log ratio under the between-run model (step 8). */
  logSe: number
  /** Degrees of freedom of the model's Student t (prior's plus K - 1). */
  df: number
  /** The one-sided level `regressed` was decided at (the option `alpha`). */
  alpha: number
  /** Separate sittings the baseline's runs span (step 9b); null where the runs carry no timestamps. */
  sittings: number | null
  /** The shift between sittings allowed for in `logSe` (step 9b, log scale): UNSEEN_SHIFT_SD or 0. */
  unseenShift: number
}

/** A weak prior on the spread between whole runs: a log-scale standard deviation worth `df` runs. */
export interface RunNoisePrior {
  /** Log-scale standard deviation between runs (≈ relative spread), > 0. */
  readonly sd: number
  /** Its weight, in runs' degrees of freedom, > 0. */
  readonly df: number
}

export interface VerdictOptions {
  /** Slowdown not counted as a regression, as a fraction (>= 0); default DEFAULT_TOLERANCE. */
  tolerance?: number
  /** Confidence level of the ratio's interval, in (0, 1); default 0.95. */
  ciLevel?: number
  /**
   * The baseline's separate runs (oldest first; `baseline` is normally the latest). With two or
   * more, the spread between runs enters the interval (steps 5-6 of docs/verdict.md); with fewer it is unused.
   */
  baselineRuns?: readonly RunStats[]
  /** One-sided level of the `regressed` test for this comparison, in (0, 0.5); default DEFAULT_RUN_ERROR_RATE. */
  alpha?: number
  /** Prior on the spread between runs (step 7); default DEFAULT_RUN_NOISE_PRIOR. */
  runNoisePrior?: RunNoisePrior
  /**
   * Separate sittings the runs behind the noise model span (step 9b): the device's, where the
   * prior pools its whole baseline file (sittingsOf over every entry's runs). Default: counted from
   * `baselineRuns`' `recordedAt`; null: not known, no term.
   */
  sittings?: number | null
}

/**
 * One run's sample count, median and its confidence interval, as a baseline entry's `runs` holds
 * them, with the time it was recorded where known (ISO 8601; step 9b counts sittings from it).
 */
export type RunStats = Pick<SampleStats, 'n' | 'medianNs' | 'ciLowNs' | 'ciHighNs' | 'ciLevel'> & {
  readonly recordedAt?: string
}

export const DEFAULT_TOLERANCE = 0.05
export const DEFAULT_VERDICT_CI_LEVEL = 0.95
/** The chance, per run of unchanged code, of any `regressed`: 1%. */
export const DEFAULT_RUN_ERROR_RATE = 0.01
/**
 * A 5% spread between runs, worth two runs. Weak enough that five runs that agree to within 1%
 * bring the model's spread to about 2.5%, heavy enough that a one-run baseline cannot call a
 * slowdown of a few percent a regression; chosen with scripts/verdict-simulation.ts.
 */
export const DEFAULT_RUN_NOISE_PRIOR: RunNoisePrior = Object.freeze({ sd: 0.05, df: 2 })
/** Runs recorded more than this far apart (30 minutes) belong to separate sittings (step 9b). */
export const SITTING_GAP_MS = 30 * 60_000
/**
 * The shift between sittings that runs of one sitting cannot show (step 9b): a 12% spread on the
 * log scale. With three agreeing runs of one sitting and Holm over a few comparisons it keeps a
 * shift of the size seen on 2-core VMs (1.56x) from failing a run (p ≈ 0.015 against 0.0033),
 * and still calls a function made twice as slow a regression (p ≈ 0.0015).
 */
export const UNSEEN_SHIFT_SD = 0.12
/** The most runs' weight a device's pooled spread carries as one benchmark's prior. */
export const DEVICE_PRIOR_MAX_DF = 4
/** The power at which `detectableRatio` states the smallest slowdown caught. */
export const DETECTION_POWER = 0.8
/** Below this many samples on either side the verdict is inconclusive. */
export const MIN_VERDICT_SAMPLES = 5

/** Compares a measurement's summary with a stored baseline summary; see the method above. */
export function compareToBaseline(current: RunStats, baseline: RunStats, options: VerdictOptions = {}): Verdict {
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
  const alpha = options.alpha ?? DEFAULT_RUN_ERROR_RATE
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 0.5)) {
    throw new VerdictError(`compareToBaseline: option 'alpha' must be in (0, 0.5), got ${String(alpha)}`)
  }
  const prior = options.runNoisePrior ?? DEFAULT_RUN_NOISE_PRIOR
  if (!(prior.sd > 0 && Number.isFinite(prior.sd) && prior.df > 0 && Number.isFinite(prior.df))) {
    throw new VerdictError(
      `compareToBaseline: option 'runNoisePrior' must have a finite sd > 0 and df > 0, got ${JSON.stringify(prior)}`,
    )
  }
  checkStats(current, 'current')
  checkStats(baseline, 'baseline')

  const z = normalQuantile((1 + ciLevel) / 2)
  const c = logHalfWidths(current, z)
  const b = logHalfWidths(baseline, z)
  let ratio = current.medianNs / baseline.medianNs
  let ratioLow = ratio * Math.exp(-Math.hypot(c.below, b.above))
  let ratioHigh = ratio * Math.exp(Math.hypot(c.above, b.below))
  const given = options.baselineRuns ?? []
  given.forEach((run, i) => {
    checkStats(run, `baselineRuns[${i}]`)
  })
  // The model of whole runs (steps 5, 7, 8): the baseline's runs, or the baseline alone as one run.
  const runs: readonly RunStats[] = given.length >= 1 ? given : [baseline]
  const k = runs.length
  const logs = runs.map((run) => Math.log(run.medianNs))
  const center = logs.reduce((a, x) => a + x, 0) / k
  const sumSquares = logs.reduce((a, x) => a + (x - center) ** 2, 0)
  const df = prior.df + k - 1
  const pooled = (prior.df * prior.sd ** 2 + sumSquares) / df
  const meanSquareSe = runs.reduce((a, run) => a + runSe(run) ** 2, 0) / k
  const excess = Math.max(0, runSe(current) ** 2 - meanSquareSe)
  const sittings = options.sittings !== undefined ? options.sittings : sittingsOf(runs)
  if (sittings !== null && !(Number.isInteger(sittings) && sittings >= 1)) {
    throw new VerdictError(
      `compareToBaseline: option 'sittings' must be an integer >= 1 or null, got ${String(sittings)}`,
    )
  }
  const unseenShift = sittings === 1 && k >= 2 ? UNSEEN_SHIFT_SD : 0
  const logSe = Math.sqrt(pooled * (1 + 1 / k) + excess + unseenShift ** 2)
  let baselineNs = baseline.medianNs
  let betweenRunSd: number | undefined
  if (k >= 2) {
    const sd = Math.sqrt(sumSquares / (k - 1))
    const variance = sd ** 2 * (1 + 1 / k) + excess
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
  const pValue = regressionPValue({ ratio, logSe, df, tolerance })

  const pct = `${round(tolerance * 100)}%`
  const against =
    betweenRunSd === undefined
      ? `baseline ${formatDuration(baselineNs)}`
      : `baseline ${formatDuration(baselineNs)} (${k} runs, spread between runs ${round(betweenRunSd * 100)}%)`
  const figures =
    `median ${formatDuration(current.medianNs)} vs ${against}, ` +
    `ratio ${ratio.toFixed(3)} (${round(ciLevel * 100)}% CI ${ratioLow.toFixed(3)}-${ratioHigh.toFixed(3)})`
  const test =
    `p = ${formatP(pValue)} against the ${formatP(alpha)} level` +
    (unseenShift > 0
      ? `; runs of one sitting, so a ${round(unseenShift * 100)}% shift between sittings is allowed for`
      : '')
  let kind: VerdictKind
  let why: string
  if (current.n < MIN_VERDICT_SAMPLES || baseline.n < MIN_VERDICT_SAMPLES) {
    kind = 'inconclusive'
    why = `too few samples to decide (current ${current.n}, baseline ${baseline.n}; at least ${MIN_VERDICT_SAMPLES} each)`
  } else if (pValue <= alpha && ratio > upper) {
    kind = 'regressed'
    why = `slower beyond the ${pct} tolerance than runs differ (${test})`
  } else if (ratioLow >= lower && ratioHigh <= upper) {
    kind = 'same'
    why = `the same within the ${pct} tolerance`
  } else if (ratioLow > 1) {
    kind = 'slower'
    why =
      ratioLow > upper
        ? `slower beyond the ${pct} tolerance, but within what runs differ by (${test})`
        : `slower, but not shown beyond the ${pct} tolerance`
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
    baselineRuns: betweenRunSd === undefined ? 1 : k,
    ...(betweenRunSd === undefined ? {} : { betweenRunSd }),
    pValue,
    logSe,
    df,
    alpha,
    sittings,
    unseenShift,
  }
}

/**
 * How many separate sittings runs span (step 9b): runs sorted by `recordedAt`, a new sitting after
 * each gap over SITTING_GAP_MS. Null when any run lacks a readable timestamp. Cost: O(K log K).
 */
export function sittingsOf(runs: readonly Pick<RunStats, 'recordedAt'>[]): number | null {
  const times: number[] = []
  for (const run of runs) {
    const t = run.recordedAt === undefined ? Number.NaN : Date.parse(run.recordedAt)
    if (!Number.isFinite(t)) return null
    times.push(t)
  }
  if (times.length === 0) return null
  times.sort((a, b) => a - b)
  let sittings = 1
  for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! > SITTING_GAP_MS) sittings++
  return sittings
}

/**
 * The smallest true slowdown (as a ratio, > 1) that a comparison with this noise model reads as
 * `regressed` with probability `power` (default DETECTION_POWER) at the one-sided level `alpha`
 * (step 10). Cost: two t quantiles, about 120 CDF evaluations.
 */
export function detectableRatio(
  noise: Pick<Verdict, 'logSe' | 'df' | 'tolerance'>,
  alpha: number,
  power: number = DETECTION_POWER,
): number {
  if (!(alpha > 0 && alpha < 0.5)) throw new VerdictError(`detectableRatio: alpha must be in (0, 0.5), got ${alpha}`)
  if (!(power > 0 && power < 1)) throw new VerdictError(`detectableRatio: power must be in (0, 1), got ${power}`)
  const reach = studentTQuantile(1 - alpha, noise.df) + studentTQuantile(power, noise.df)
  return (1 + noise.tolerance) * Math.exp(reach * noise.logSe)
}

/**
 * The one-sided p-value of step 8 from a verdict's figures; `runShiftLog` (>= 0) is a slowdown
 * common to the whole run on this device, on the log scale, discounted first (see run-level.ts).
 */
export function regressionPValue(
  figures: Pick<Verdict, 'ratio' | 'logSe' | 'df' | 'tolerance'>,
  runShiftLog = 0,
): number {
  const excess = Math.log(figures.ratio) - Math.max(0, runShiftLog) - Math.log1p(figures.tolerance)
  return studentTUpperTail(excess / figures.logSe, figures.df)
}

/**
 * The prior on the spread between runs for one device, from every entry of its baseline file
 * (each entry's runs): the default prior updated by all the device's runs, so a device whose
 * benchmarks land in different modes from run to run lends that spread to a benchmark whose own
 * few runs happened to agree, and a quiet device (a dedicated GPU machine) earns a tight model.
 * Weighted as at most DEVICE_PRIOR_MAX_DF runs: benchmarks of one device differ in noise.
 * Cost: O(total runs).
 */
export function deviceRunNoisePrior(entries: ReadonlyArray<readonly RunStats[]>): RunNoisePrior {
  let sumSquares = DEFAULT_RUN_NOISE_PRIOR.df * DEFAULT_RUN_NOISE_PRIOR.sd ** 2
  let df = DEFAULT_RUN_NOISE_PRIOR.df
  for (const runs of entries) {
    if (runs.length < 2) continue
    const logs = runs.map((run) => Math.log(run.medianNs))
    const center = logs.reduce((a, x) => a + x, 0) / logs.length
    sumSquares += logs.reduce((a, x) => a + (x - center) ** 2, 0)
    df += logs.length - 1
  }
  return { sd: Math.sqrt(sumSquares / df), df: Math.min(df, DEVICE_PRIOR_MAX_DF) }
}

/** P(T > t) for Student's t with df degrees of freedom, without the cancellation of 1 - CDF far in the tail. */
export function studentTUpperTail(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? tail : 1 - tail
}

/** A run's standard error in log space: its interval's mean half-width at one standard deviation. */
function runSe(run: RunStats): number {
  const { below, above } = logHalfWidths(run, 1)
  return (below + above) / 2
}

function formatP(p: number): string {
  return p >= 0.001 ? String(Number(p.toPrecision(2))) : p.toExponential(1)
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
