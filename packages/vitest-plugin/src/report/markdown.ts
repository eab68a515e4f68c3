/**
 * The markdown summary appended to `$GITHUB_STEP_SUMMARY`: a heading, one line of totals, and the
 * same table as the console. Cells are escaped so a `|` in a benchmark name cannot break the table.
 */
import { COLUMNS, type ReportRow } from './rows.ts'

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

export interface MarkdownTotals {
  readonly measured: number
  readonly skipped: number
  readonly regressed: number
  readonly written: number
}

export function formatMarkdown(rows: readonly ReportRow[], totals: MarkdownTotals): string {
  const lines = [
    '### gpubench',
    '',
    `${totals.measured} measured, ${totals.skipped} skipped, ${totals.regressed} regressed, ${totals.written} baseline entries written.`,
    '',
    `| ${COLUMNS.map(([, title]) => cell(title)).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${COLUMNS.map(([key]) => cell(row[key])).join(' | ')} |`),
    '',
  ]
  return `${lines.join('\n')}\n`
}
