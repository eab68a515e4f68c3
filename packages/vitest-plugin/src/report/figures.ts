/**
 * The figures of one record as text, shared by every output (annotation, console table,
 * markdown, JSON): one place decides how a median, a confidence interval, a throughput and a
 * change against the baseline are written, so the outputs never disagree.
 */
import { formatBandwidth, formatDuration, formatFlops, type SampleStats } from '@gpubench/core'
import type { BaselineLookup, Confirmation, MeasuredRecord, RecordedVerdict } from '../record.ts'

export const NONE = '—'

export function medianText(record: MeasuredRecord): string {
  return formatDuration(record.entry.stats.medianNs)
}

export function meanText(record: MeasuredRecord): string {
  return formatDuration(record.entry.stats.meanNs)
}

/** `'1.21 ms – 1.25 ms (95%)'`. */
export function ciText(record: MeasuredRecord): string {
  const { ciLowNs, ciHighNs, ciLevel } = record.entry.stats
  return `${formatDuration(ciLowNs)} – ${formatDuration(ciHighNs)} (${Math.round(ciLevel * 100)}%)`
}

export function coldText(record: MeasuredRecord): string {
  return record.entry.coldNs === null ? NONE : formatDuration(record.entry.coldNs)
}

/** FLOP/s when the target counts FLOPs, else bytes/s when it counts bytes, else none. */
export function throughputText(record: MeasuredRecord): string {
  if (record.entry.flopPerSecond !== null) return formatFlops(record.entry.flopPerSecond)
  if (record.entry.bytesPerSecond !== null) return formatBandwidth(record.entry.bytesPerSecond)
  return NONE
}

/** A fraction as a percentage: one decimal from 10% (`'42.5%'`), two significant digits below (`'0.45%'`). */
export function percentText(fraction: number): string {
  const percent = fraction * 100
  return `${percent >= 10 ? percent.toFixed(1) : Number(percent.toPrecision(2)).toString()}%`
}

/** A speed-up factor: `'1.62x'`. */
export function speedupText(speedup: number): string {
  return `${speedup.toFixed(2)}x`
}

/** Relative change of the median against the baseline: `'+30.2%'`, `'-4.1%'`. */
export function deltaText(verdict: RecordedVerdict | null): string {
  if (!verdict) return NONE
  const percent = (verdict.ratio - 1) * 100
  const text = Math.abs(percent) < 0.05 ? '0.0' : percent.toFixed(1)
  const which = verdict.ownRuns ? ' own' : ''
  const runs =
    verdict.baselineRuns !== undefined && verdict.baselineRuns >= 2 ? ` (${verdict.baselineRuns}${which} runs)` : ''
  return `${percent > 0 && text !== '0.0' ? '+' : ''}${text}%${runs}`
}

/** `'1.30x [1.28x – 1.32x]'`: the ratio current/baseline with its confidence interval. */
export function ratioText(verdict: RecordedVerdict): string {
  return `${verdict.ratio.toFixed(3)}x [${verdict.ratioLow.toFixed(3)}x – ${verdict.ratioHigh.toFixed(3)}x]`
}

/** `median 1.23 ms [95% CI 1.21 ms – 1.25 ms], n = 120`. */
export function medianFigures(stats: SampleStats): string {
  return `median ${formatDuration(stats.medianNs)} [${Math.round(stats.ciLevel * 100)}% CI ${formatDuration(stats.ciLowNs)} – ${formatDuration(stats.ciHighNs)}], n = ${stats.n}`
}

/** `', 38.5 GFLOP/s'`, `', 200 GB/s'` or nothing. */
export function rateSuffix(flopPerSecond: number | null, bytesPerSecond: number | null): string {
  if (flopPerSecond !== null) return `, ${formatFlops(flopPerSecond)}`
  if (bytesPerSecond !== null) return `, ${formatBandwidth(bytesPerSecond)}`
  return ''
}

/** The three lines under a comparison's headline: now, the baseline (date, commit, file), the ratio and the verdict's reason. */
export function comparisonDetails(
  now: { readonly stats: SampleStats; readonly flopPerSecond: number | null; readonly bytesPerSecond: number | null },
  baseline: Extract<BaselineLookup, { state: 'found' }>,
  verdict: RecordedVerdict,
): string {
  const current = `  now:      ${medianFigures(now.stats)}${rateSuffix(now.flopPerSecond, now.bytesPerSecond)}`
  const then = `  baseline: ${medianFigures(baseline.stats)}${rateSuffix(baseline.flopPerSecond, baseline.bytesPerSecond)}, recorded ${baseline.recordedAt} at commit ${baseline.commit ?? 'unknown'} (${baseline.file})`
  const ratio = `  ratio now/baseline ${ratioText(verdict)}, tolerance ${(verdict.tolerance * 100).toFixed(1)}%: ${verdict.reason}`
  return `${current}\n${then}\n${ratio}`
}

/** `'≥ 34%'`: the smallest slowdown a comparison catches, from its ratio (1.34). */
export function detectsText(ratio: number | undefined | null): string {
  if (ratio === undefined || ratio === null || !Number.isFinite(ratio)) return NONE
  const percent = (ratio - 1) * 100
  return `≥ ${percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`
}

/**
 * One line for a regression's failure message: how many measurements read it and how far apart,
 * e.g. "confirmed: 4 measurements, after pauses of 2 s, 6 s and 18 s, every one regressed
 * (ratios 2.04x, 2.05x, 2.06x, 2.05x)". Null when the first measurement stood alone.
 */
export function confirmationLine(
  confirmations: readonly Confirmation[] | undefined,
  finalRatio: number,
): string | null {
  if (confirmations === undefined || confirmations.length === 0) return null
  const pauses = confirmations.map((c) => formatDuration(c.pauseMs * 1e6))
  const joined = pauses.length === 1 ? pauses[0] : `${pauses.slice(0, -1).join(', ')} and ${pauses[pauses.length - 1]}`
  const ratios = [...confirmations.map((c) => c.ratio), finalRatio].map((r) => `${r.toFixed(2)}x`).join(', ')
  return `confirmed: ${confirmations.length + 1} measurements, after ${pauses.length === 1 ? 'a pause' : 'pauses'} of ${joined}, every one regressed (ratios ${ratios})`
}
