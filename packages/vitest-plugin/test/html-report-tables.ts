/** Helpers of the report tests: the tables of a markdown text and of a report's model, as rows of cells. */
import type { ReportModel, TableBlock } from '../src/report/html/model.ts'

/** Pipe tables of a markdown text, as rows of cells (header first, the --- line dropped). */
export function markdownTables(markdown: string): string[][][] {
  const tables: string[][][] = []
  let current: string[][] | null = null
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| ')) {
      current = null
      continue
    }
    const cells = line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.replace(/\\\|/g, '|').replace(/\\\\/g, '\\'))
    if (cells.every((c) => c === '---')) continue
    if (current === null) {
      current = []
      tables.push(current)
    }
    current.push(cells)
  }
  return tables
}

export function modelTables(model: ReportModel): TableBlock[] {
  return model.sections.flatMap((s) => s.blocks.filter((b): b is TableBlock => b.kind === 'table'))
}
