/**
 * The markdown summary appended to `$GITHUB_STEP_SUMMARY`: a heading, one line of totals, the
 * gate (its error rate, what each device can detect, what is not gated), the same table as the
 * console, and the derived figures (FP16 speed-ups, roofline fractions).
 */
import type { DerivedFigures } from './derived.ts'
import { derivedMarkdown } from './derived-text.ts'
import { markdownTable } from './markdown-table.ts'
import { COLUMNS, type Column, type ReportRow } from './rows.ts'

export interface MarkdownTotals {
  readonly measured: number
  readonly skipped: number
  readonly regressed: number
  readonly written: number
}

export interface MarkdownOptions {
  /** The table's columns; the plugin's usual ones by default (see `columnsFor`). */
  readonly columns?: readonly Column[]
  /** Figures derived from the whole run, printed after the table where there are any. */
  readonly derived?: DerivedFigures
  /** The gate's lines (error rate, detectable slowdown per device, what is not gated), before the table. */
  readonly gate?: readonly string[]
}

export function formatMarkdown(
  rows: readonly ReportRow[],
  totals: MarkdownTotals,
  options: MarkdownOptions = {},
): string {
  const columns = options.columns ?? COLUMNS
  const sections = options.derived ? derivedMarkdown(options.derived) : []
  const lines = [
    '### gpubench',
    '',
    `${totals.measured} measured, ${totals.skipped} skipped, ${totals.regressed} regressed, ${totals.written} baseline entries written.`,
    '',
    ...(options.gate && options.gate.length > 0 ? [...options.gate.map((line) => `- ${line.trim()}`), ''] : []),
    ...markdownTable(
      columns.map(([, title]) => title),
      rows.map((row) => columns.map(([key]) => row[key])),
    ),
    '',
    ...sections.flatMap((section) => [...section, '']),
  ]
  return `${lines.join('\n')}\n`
}
