/**
 * The comparison of a result with its baseline, as the record keeps it: core's statistical
 * verdict (which weighs the noise of both sides, the spread between the baseline's runs, and the
 * device's spread as its prior) reduced to plain JSON.
 *
 * `regressed` here is read at the comparison's own level (the run-level error rate, as if it were
 * the run's only comparison): a candidate, measured again under `confirmRegressions`. Whether it
 * stands is decided by the reporter, over every comparison of the run (node/run-gate.ts).
 */
import { compareToBaseline, DEFAULT_RUN_ERROR_RATE, type SampleStats } from '@gpubench/core'
import type { BaselineLookup, RecordedVerdict } from '../record.ts'

/** Null when there is no baseline to compare with (missing or invalid file). */
export function verdictFor(
  current: SampleStats,
  baseline: BaselineLookup,
  tolerance: number,
  alpha: number = DEFAULT_RUN_ERROR_RATE,
): RecordedVerdict | null {
  if (baseline.state !== 'found') return null
  const v = compareToBaseline(current, baseline.stats, {
    tolerance,
    alpha,
    baselineRuns: baseline.runs,
    ...(baseline.devicePrior ? { runNoisePrior: baseline.devicePrior } : {}),
    ...(baseline.deviceSittings !== undefined ? { sittings: baseline.deviceSittings } : {}),
  })
  return {
    kind: v.kind,
    ratio: v.ratio,
    ratioLow: v.ratioLow,
    ratioHigh: v.ratioHigh,
    tolerance: v.tolerance,
    reason: v.reason,
    baselineRuns: v.baselineRuns,
    ...(v.betweenRunSd === undefined ? {} : { betweenRunSd: v.betweenRunSd }),
    pValue: v.pValue,
    logSe: v.logSe,
    df: v.df,
    sittings: v.sittings,
    unseenShift: v.unseenShift,
    ...(baseline.machine === undefined ? {} : { ownRuns: true }),
  }
}
