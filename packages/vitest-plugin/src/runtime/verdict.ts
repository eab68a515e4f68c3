/**
 * The comparison of a result with its baseline, as the record keeps it: core's statistical
 * verdict (which weighs the noise of both sides, and the spread between the baseline's runs where
 * it holds several) reduced to plain JSON.
 */
import { compareToBaseline, type SampleStats } from '@gpubench/core'
import type { BaselineLookup, RecordedVerdict } from '../record.ts'

/** Null when there is no baseline to compare with (missing or invalid file). */
export function verdictFor(current: SampleStats, baseline: BaselineLookup, tolerance: number): RecordedVerdict | null {
  if (baseline.state !== 'found') return null
  const v = compareToBaseline(current, baseline.stats, { tolerance, baselineRuns: baseline.runs })
  return {
    kind: v.kind,
    ratio: v.ratio,
    ratioLow: v.ratioLow,
    ratioHigh: v.ratioHigh,
    tolerance: v.tolerance,
    reason: v.reason,
    baselineRuns: v.baselineRuns,
    ...(v.betweenRunSd === undefined ? {} : { betweenRunSd: v.betweenRunSd }),
  }
}
