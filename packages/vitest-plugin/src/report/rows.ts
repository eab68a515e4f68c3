/**
 * The report's rows: one per benchmark and backend, with the figures as text and the verdict in
 * words. Built once from the collected records and the baseline-write outcome, then rendered as a
 * console table, markdown or JSON.
 */
import type { CollectedRecord, MeasuredRecord } from '../record.ts'
import { ciText, coldText, deltaText, meanText, medianText, NONE, throughputText } from './figures.ts'

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

function measuredVerdict(record: MeasuredRecord, outcome: WriteOutcome): string {
  const base =
    record.baseline.state === 'invalid'
      ? 'invalid baseline file'
      : record.baseline.state === 'missing'
        ? 'new (no baseline)'
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

export function rowOf(collected: CollectedRecord, outcome: WriteOutcome): ReportRow {
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
    verdict: measuredVerdict(record, outcome),
  }
}
