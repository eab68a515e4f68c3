/**
 * The console table printed at the end of `vitest bench`: plain text, columns padded to their
 * widest cell, so it reads the same in a terminal and in a CI log.
 */
import { COLUMNS, type Column, type ReportRow } from './rows.ts'

/** Width in terminal columns: code points, which is right for the figures and names printed here. */
function width(text: string): number {
  return [...text].length
}

/** A header, a rule and the body, each column padded to its widest cell; trailing spaces trimmed. */
export function formatGrid(header: readonly string[], body: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) =>
    Math.max(width(title), ...body.map((cells) => width(cells[column] ?? ''))),
  )
  const line = (cells: readonly string[]) =>
    widths
      .map((w, column) => {
        const cell = cells[column] ?? ''
        return cell + ' '.repeat(w - width(cell))
      })
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

/** The report's rows under the given columns (by default the plugin's usual ones). */
export function formatTable(rows: readonly ReportRow[], columns: readonly Column[] = COLUMNS): string {
  return formatGrid(
    columns.map(([, title]) => title),
    rows.map((row) => columns.map(([key]) => row[key])),
  )
}
