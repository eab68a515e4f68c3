/** Markdown tables for the step summary, with every cell escaped so a `|` in a name cannot break a table. */

export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** Header, separator and body lines. */
export function markdownTable(header: readonly string[], body: ReadonlyArray<readonly string[]>): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...body.map((cells) => `| ${header.map((_, i) => cell(cells[i] ?? '')).join(' | ')} |`),
  ]
}
