/**
 * The report's rows: one per benchmark and backend, with the figures as text and the verdict in
 * words. Built once from the collected records and the baseline-write outcome, then rendered as a
 * console table, markdown or JSON.
 */
import type { CollectedRecord, MeasuredRecord } from '../record.ts'
import { ciText, coldText, deltaText, medianText, NONE, throughputText } from './figures.ts'

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
  readonly ci: string
  readonly cold: string
  readonly throughput: string
  readonly delta: string
  readonly verdict: string
}

export const COLUMNS: ReadonlyArray<readonly [keyof ReportRow, string]> = [
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
    ci: ciText(record),
    cold: coldText(record),
    throughput: throughputText(record),
    delta: deltaText(record.verdict),
    verdict: measuredVerdict(record, outcome),
  }
}
