/**
 * The decision of `gpubench compare`, per benchmark, on paired log ratios. A pure function of
 * the medians measured so far; the command (cli/compare.ts) calls it at each planned look.
 *
 * The unit is the process: pair i is one process of the base and one of the head, run back to
 * back (in ABBA order over pairs), and d_i = ln(head median_i / base median_i). Whatever a
 * process settles into (the vCPU, a slow spell of the machine) is shared by the two sides of a
 * pair far more than by processes minutes apart, and is sampled across pairs rather than averaged
 * away inside one.
 *
 * 1. Test per benchmark: one-sided Student t on the d_i (n pairs, n - 1 degrees of freedom)
 *    against "no slowdown beyond the tolerance", H0: mean d <= ln(1 + tolerance); core's
 *    regressionPValue with the mean ratio, its standard error s / sqrt(n) and df = n - 1.
 * 2. Run-level error control: the chance that a comparison of unchanged code reports any
 *    `regressed` is held at `alpha` (default 1%) over every benchmark and every look.
 *    - Over looks: the budget is split equally between the L looks planned (Bonferroni, alpha / L
 *      each). Simple and valid whatever the dependence between looks (they share pairs); an
 *      alpha-spending function would give the last look more, at the cost of a harder argument.
 *    - Over benchmarks, at each look: Holm at alpha / L (core's holmRejections), over the m
 *      benchmarks still undecided. Benchmarks decided at an earlier look keep their verdict.
 *    A benchmark reads `regressed` only when Holm rejects it and its mean ratio lies beyond the
 *    tolerance, as in the gate of `vitest bench`.
 * 3. The other verdicts, at the same one-sided level alpha / L: `improved` when the ratio's upper
 *    bound is below 1 / (1 + tolerance), `same` when it is below 1 + tolerance (a regression
 *    beyond the tolerance is ruled out), otherwise `inconclusive` (still undecided). Every
 *    benchmark that is not inconclusive is decided and needs no more pairs.
 * 4. The detectable slowdown: the smallest true slowdown caught 80% of the time (core's
 *    detectableRatio) with the standard error seen, at alpha / (L m), Holm's first step.
 *
 * Cost: O(n) per benchmark and look, plus Holm's sort, O(m log m).
 */
import { detectableRatio, holmRejections, regressionPValue, studentTQuantile } from '@gpubench/core'

export type CompareVerdict = 'regressed' | 'improved' | 'same' | 'inconclusive'

/** What the pairs of one benchmark say at one look. */
export interface PairedFigures {
  readonly pairs: number
  /** Geometric mean over pairs of head median / base median. */
  readonly ratio: number
  /** The ratio's interval at the look's one-sided level on each side (null below two pairs). */
  readonly ratioLow: number | null
  readonly ratioHigh: number | null
  /** Standard deviation of the pairs' log ratios (≈ the relative noise between processes); null below two pairs. */
  readonly pairSd: number | null
  readonly pValue: number | null
  readonly detectableRatio: number | null
}

export interface BenchmarkDecision extends PairedFigures {
  readonly verdict: CompareVerdict
  /** The look (pairs so far) at which the verdict was reached; null while inconclusive. */
  readonly decidedAt: number | null
}

export interface LookSettings {
  readonly alpha: number
  readonly tolerance: number
  /** L: looks planned in the whole comparison. */
  readonly looks: number
}

/** The pair counts at which to look: 4, 8, 16, ... up to maxPairs, and maxPairs itself. At least 2 pairs each. */
export function lookSchedule(maxPairs: number, first = 4): number[] {
  if (!(Number.isInteger(maxPairs) && maxPairs >= 2)) {
    throw new RangeError(`lookSchedule: maxPairs must be an integer >= 2, got ${maxPairs}`)
  }
  const looks: number[] = []
  for (let n = Math.max(2, first); n < maxPairs; n *= 2) looks.push(n)
  looks.push(maxPairs)
  return looks
}

function mean(values: readonly number[]): number {
  return values.reduce((a, x) => a + x, 0) / values.length
}

/** The figures of one benchmark's log ratios, its interval and detectable slowdown at the one-sided level `level`. */
export function pairedFigures(logRatios: readonly number[], level: number, tolerance: number): PairedFigures {
  const n = logRatios.length
  if (n === 0) throw new RangeError('pairedFigures: no pairs')
  const center = mean(logRatios)
  const ratio = Math.exp(center)
  if (n < 2) {
    return { pairs: n, ratio, ratioLow: null, ratioHigh: null, pairSd: null, pValue: null, detectableRatio: null }
  }
  const sd = Math.sqrt(logRatios.reduce((a, x) => a + (x - center) ** 2, 0) / (n - 1))
  // Identical figures in every pair (a deterministic benchmark) leave no spread: a floor keeps the t finite.
  const logSe = Math.max(sd / Math.sqrt(n), 1e-9)
  const df = n - 1
  const reach = studentTQuantile(1 - level, df) * logSe
  return {
    pairs: n,
    ratio,
    ratioLow: Math.exp(center - reach),
    ratioHigh: Math.exp(center + reach),
    pairSd: sd,
    pValue: regressionPValue({ ratio, logSe, df, tolerance }),
    detectableRatio: detectableRatio({ logSe, df, tolerance }, level),
  }
}

/**
 * One look: the undecided benchmarks (by name: their log ratios so far) are judged together;
 * the decided keep their verdicts. Returns every benchmark's decision after the look.
 */
export function look(
  undecided: ReadonlyMap<string, readonly number[]>,
  settings: LookSettings,
): Map<string, BenchmarkDecision> {
  const { alpha, tolerance, looks } = settings
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`look: alpha must be in (0, 0.5), got ${alpha}`)
  if (!(Number.isInteger(looks) && looks >= 1))
    throw new RangeError(`look: looks must be an integer >= 1, got ${looks}`)
  const perLook = alpha / looks
  const names = [...undecided.keys()]
  const m = Math.max(1, names.length)
  const figures = names.map((name) => {
    const ratios = undecided.get(name) ?? []
    const interval = pairedFigures(ratios, perLook, tolerance)
    // The detectable slowdown at Holm's first step over the benchmarks of this look.
    const single = ratios.length >= 2 ? pairedFigures(ratios, perLook / m, tolerance).detectableRatio : null
    return { ...interval, detectableRatio: single }
  })
  const rejected = holmRejections(
    figures.map((f) => ({ pValue: f.pValue ?? 1, eligible: f.pValue !== null && f.ratio > 1 + tolerance })),
    perLook,
  )
  const decisions = new Map<string, BenchmarkDecision>()
  names.forEach((name, i) => {
    const f = figures[i]!
    let verdict: CompareVerdict = 'inconclusive'
    if (rejected[i]) verdict = 'regressed'
    else if (f.ratioHigh !== null && f.ratioHigh < 1 / (1 + tolerance)) verdict = 'improved'
    else if (f.ratioHigh !== null && f.ratioHigh < 1 + tolerance) verdict = 'same'
    decisions.set(name, { ...f, verdict, decidedAt: verdict === 'inconclusive' ? null : f.pairs })
  })
  return decisions
}
