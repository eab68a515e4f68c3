/**
 * Error control per run: the chance that a run of unchanged code reports any `regressed` is held
 * at `alpha` (default DEFAULT_RUN_ERROR_RATE, 1%) across every comparison of the run.
 *
 * Method: Holm's step-down procedure over the comparisons' one-sided p-values (verdict.ts,
 * step 8). Sorted ascending, p(1) <= ... <= p(m); p(i) is rejected while p(j) <= alpha / (m - j + 1)
 * for every j <= i. Why Holm:
 * - it holds the family-wise error rate (the chance of one false `regressed` or more) at alpha
 *   under any dependence between comparisons. A run's comparisons are not independent: a slow
 *   spell of a shared machine slows every benchmark of the run at once, which breaks the
 *   assumptions of Hochberg's step-up or Šidák's correction;
 * - it rejects everything Bonferroni (alpha / m each) rejects, and more when several benchmarks
 *   regress together;
 * - the false-discovery rate (Benjamini-Hochberg) is not the promise here: one false `regressed`
 *   fails the whole run, so the chance of any is what a user pays for.
 * A single regression in an otherwise unchanged run meets Holm's first step, alpha / m: the
 * detectable effect printed per benchmark is taken at that level.
 *
 * A slowdown common to the whole run: a shared machine's slow spell can last a whole run and
 * slow every benchmark on the device at once, by 30% or 2x, in a way the baseline's few runs may
 * never have seen. One run cannot tell such a spell from a change that slows every benchmark
 * alike. So each device's comparisons are judged relative to the run's common slowdown on that
 * device (`runShiftLog`: the median log ratio of its comparisons, when it has at least
 * MIN_SHIFT_COMPARISONS and the median is a slowdown), and the shift is reported beside them:
 * a regression is a benchmark slower than the rest of its run, and a run-wide slowdown is shown,
 * not failed.
 *
 * Cost: O(m log m) for m comparisons.
 */
import { VerdictError } from './errors.ts'
import { DEFAULT_RUN_ERROR_RATE, regressionPValue, type Verdict } from './verdict.ts'

/** One comparison of the run, as the run-level decision needs it. */
export interface RunComparison {
  /** One-sided p-value of "no slowdown beyond the tolerance" (a Verdict's `pValue`). */
  readonly pValue: number
  /**
   * Whether the comparison may read `regressed` at all: enough samples on both sides and the
   * point estimate beyond the tolerance.
   */
  readonly eligible: boolean
}

/** Holm's rejections, in the order given. Comparisons not eligible still count in m. */
export function holmRejections(
  comparisons: readonly RunComparison[],
  alpha: number = DEFAULT_RUN_ERROR_RATE,
): boolean[] {
  if (!(alpha > 0 && alpha < 0.5)) throw new VerdictError(`holmRejections: alpha must be in (0, 0.5), got ${alpha}`)
  comparisons.forEach((c, i) => {
    if (!(c.pValue >= 0 && c.pValue <= 1)) {
      throw new VerdictError(`holmRejections: comparison ${i} has pValue ${String(c.pValue)}, not in [0, 1]`)
    }
  })
  const m = comparisons.length
  const order = comparisons.map((_, i) => i).sort((a, b) => comparisons[a]!.pValue - comparisons[b]!.pValue)
  const rejected = new Array<boolean>(m).fill(false)
  for (let rank = 0; rank < m; rank++) {
    const index = order[rank]!
    if (comparisons[index]!.pValue > alpha / (m - rank)) break
    rejected[index] = comparisons[index]!.eligible
  }
  return rejected
}

/** Fewest comparisons on one device for its run-wide slowdown to be estimated and discounted. */
export const MIN_SHIFT_COMPARISONS = 8

/**
 * The run's common slowdown on one device, on the log scale: the median of its comparisons'
 * log ratios when there are at least MIN_SHIFT_COMPARISONS of them and it is a slowdown, else 0.
 * A median: regressions of a few benchmarks do not move it.
 */
export function runShiftLog(ratios: readonly number[]): number {
  if (ratios.length < MIN_SHIFT_COMPARISONS) return 0
  const logs = ratios.map(Math.log).sort((a, b) => a - b)
  const mid = logs.length >> 1
  const median = logs.length % 2 === 1 ? logs[mid]! : (logs[mid - 1]! + logs[mid]!) / 2
  return Math.max(0, median)
}

/** The one-sided level at which a single regression among m comparisons is judged: alpha / m. */
export function singleRegressionLevel(m: number, alpha: number = DEFAULT_RUN_ERROR_RATE): number {
  if (!(Number.isInteger(m) && m >= 1))
    throw new VerdictError(`singleRegressionLevel: m must be an integer >= 1, got ${m}`)
  return alpha / m
}

/** One comparison of a run, as `judgeRun` takes it. */
export interface JudgedComparison {
  /** The verdict's figures (core's Verdict, or the same fields as a record keeps them). */
  readonly verdict: Pick<Verdict, 'ratio' | 'logSe' | 'df' | 'tolerance'>
  /** Comparisons of one group (a baseline file: one device or one pool) share a run-wide shift. */
  readonly group: string
  /** Both sides have at least MIN_VERDICT_SAMPLES samples. */
  readonly enoughSamples: boolean
}

export interface RunJudgement {
  /** Holm's decision, per comparison in the order given. */
  readonly regressed: readonly boolean[]
  /** The p-value each was judged by (after its group's shift). */
  readonly pValues: readonly number[]
  /** Each group's run-wide slowdown on the log scale (runShiftLog), 0 where none. */
  readonly shiftLogs: ReadonlyMap<string, number>
  /** alpha / m: the level at which a single regression is judged (for the detectable slowdown). */
  readonly singleLevel: number
}

/**
 * The whole run's decision, as the reporter, `calibrate` and the simulation make it: each
 * group's run-wide slowdown discounted, then Holm over all p-values at `alpha`. A comparison is
 * eligible when its samples suffice and its ratio, after the shift, lies beyond the tolerance.
 * Cost: O(m log m).
 */
export function judgeRun(
  comparisons: readonly JudgedComparison[],
  alpha: number = DEFAULT_RUN_ERROR_RATE,
): RunJudgement {
  const shiftLogs = new Map<string, number>()
  for (const group of new Set(comparisons.map((c) => c.group))) {
    shiftLogs.set(group, runShiftLog(comparisons.filter((c) => c.group === group).map((c) => c.verdict.ratio)))
  }
  const family = comparisons.map((c) => {
    const shift = shiftLogs.get(c.group) ?? 0
    return {
      pValue: regressionPValue(c.verdict, shift),
      eligible: c.enoughSamples && Math.log(c.verdict.ratio) - shift > Math.log1p(c.verdict.tolerance),
    }
  })
  return {
    regressed: holmRejections(family, alpha),
    pValues: family.map((f) => f.pValue),
    shiftLogs,
    singleLevel: singleRegressionLevel(Math.max(1, comparisons.length), alpha),
  }
}
