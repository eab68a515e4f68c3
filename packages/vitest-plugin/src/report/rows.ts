/**
 * The report's rows: one per benchmark and backend, with the figures as text and the verdict in
 * words. Built once from the collected records and the baseline-write outcome, then rendered as a
 * console table, markdown or JSON.
 */
import type { CollectedRecord, MeasuredRecord } from '../record.ts'
import { ciText, coldText, deltaText, detectsText, meanText, medianText, NONE, throughputText } from './figures.ts'

/** What happened to a benchmark's baseline entry at the end of the run. */
export type WriteOutcome =
  | { readonly kind: 'not-requested' }
  | { readonly kind: 'written'; readonly file: string }
  | { readonly kind: 'kept'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string }

export interface ReportRow {
  readonly benchmark: string
  readonly module: string
  readonly backend: string
  readonly device: string
  readonly median: string
  /** Shown only when a record of the run stopped by a fixed count (see `columnsFor`). */
  readonly mean: string
  readonly ci: string
  readonly cold: string
  readonly throughput: string
  readonly delta: string
  /** The smallest slowdown this comparison catches at the run-level error rate: `'≥ 34%'`. */
  readonly detects: string
  readonly verdict: string
}

/** A column: the row's field and its title. */
export type Column = readonly [keyof ReportRow, string]

export const COLUMNS: readonly Column[] = [
  ['benchmark', 'benchmark'],
  ['backend', 'backend'],
  ['device', 'device'],
  ['median', 'median'],
  ['ci', 'CI'],
  ['cold', 'cold'],
  ['throughput', 'throughput'],
  ['delta', 'Δ vs baseline'],
  ['detects', 'detects'],
  ['verdict', 'verdict'],
]

/**
 * The columns of a run's table: the usual ones, with the mean beside the median when any benchmark
 * was measured with a fixed count (the paper's method reports the mean of its 100 launches).
 */
export function columnsFor(showMean: boolean): readonly Column[] {
  if (!showMean) return COLUMNS
  const at = COLUMNS.findIndex(([key]) => key === 'median') + 1
  return [...COLUMNS.slice(0, at), ['mean', 'mean'], ...COLUMNS.slice(at)]
}

function measuredVerdict(record: MeasuredRecord, outcome: WriteOutcome, notGated: boolean): string {
  const base =
    record.baseline.state === 'invalid'
      ? 'invalid baseline file'
      : record.baseline.state === 'missing'
        ? notGated
          ? `not gated on ${record.device.id}`
          : 'new (no baseline)'
        : (record.verdict?.kind ?? 'not compared')
  switch (outcome.kind) {
    case 'written':
      return record.baseline.state === 'missing' ? 'new, recorded' : `${base}, baseline updated`
    case 'refused':
      // The reason is printed in full beneath the table (and kept in the JSON report).
      return `${base}; not written`
    default:
      return base
  }
}

/**
 * One row. `notGated`: the run lists benchmarks without a baseline as not gated (in CI), so the
 * row says so instead of 'new (no baseline)'.
 */
export function rowOf(collected: CollectedRecord, outcome: WriteOutcome, notGated = false): ReportRow {
  const { record } = collected
  if (record.status === 'skipped') {
    return {
      benchmark: record.key,
      module: collected.module,
      backend: record.backend,
      device: NONE,
      median: NONE,
      mean: NONE,
      ci: NONE,
      cold: NONE,
      throughput: NONE,
      delta: NONE,
      detects: NONE,
      verdict: `skipped: ${record.reason}`,
    }
  }
  return {
    benchmark: record.key,
    module: collected.module,
    backend: record.backend,
    device: record.device.id,
    median: medianText(record),
    mean: meanText(record),
    ci: ciText(record),
    cold: coldText(record),
    throughput: throughputText(record),
    delta: deltaText(record.verdict),
    detects: detectsText(record.verdict?.detectableRatio),
    verdict: measuredVerdict(record, outcome, notGated),
  }
}

/** A backend that was unavailable for every benchmark of the run, for the same reason. */
export interface UnavailableBackend {
  readonly backend: string
  readonly reason: string
  /** Benchmarks that asked for it. */
  readonly benchmarks: number
}

/**
 * Splits off the backends that were skipped for every benchmark with one and the same reason
 * (a machine without CUDA, say), so the console table lists each of them once beneath it
 * instead of once per benchmark. A backend that ran anywhere, or was skipped for different
 * reasons, keeps its rows.
 */
export function collapseUnavailable(
  collected: readonly CollectedRecord[],
  rows: readonly ReportRow[],
): { rows: ReportRow[]; unavailable: UnavailableBackend[] } {
  const byBackend = new Map<string, { reasons: Set<string>; skipped: number; total: number }>()
  for (const { record } of collected) {
    const entry = byBackend.get(record.backend) ?? { reasons: new Set<string>(), skipped: 0, total: 0 }
    entry.total++
    if (record.status === 'skipped') {
      entry.skipped++
      entry.reasons.add(record.reason)
    }
    byBackend.set(record.backend, entry)
  }
  const unavailable: UnavailableBackend[] = []
  for (const [backend, entry] of byBackend) {
    const [reason] = entry.reasons
    if (entry.skipped === entry.total && entry.reasons.size === 1 && reason !== undefined) {
      unavailable.push({ backend, reason, benchmarks: entry.total })
    }
  }
  const collapsed = new Set(unavailable.map((u) => u.backend))
  return {
    rows: rows.filter((_, index) => !collapsed.has(collected[index]!.record.backend)),
    unavailable,
  }
}

/** One line per collapsed backend, for beneath the table. */
export function unavailableText(unavailable: readonly UnavailableBackend[]): string {
  return unavailable
    .map((u) => ` ${u.backend}: skipped in ${u.benchmarks} benchmark${u.benchmarks === 1 ? '' : 's'}: ${u.reason}`)
    .join('\n')
}
