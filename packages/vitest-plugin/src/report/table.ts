/**
 * The console table printed at the end of `vitest bench`: plain text, columns padded to their
 * widest cell, so it reads the same in a terminal and in a CI log.
 */
import { COLUMNS, type ReportRow } from './rows.ts'

/** Width in terminal columns: code points, which is right for the figures and names printed here. */
function width(text: string): number {
  return [...text].length
}

export function formatTable(rows: readonly ReportRow[]): string {
  const header = COLUMNS.map(([, title]) => title)
  const body = rows.map((row) => COLUMNS.map(([key]) => row[key]))
  const widths = header.map((title, column) => Math.max(width(title), ...body.map((cells) => width(cells[column]!))))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell + ' '.repeat(widths[column]! - width(cell)))
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}
