/**
 * The report as data: sections of tables and charts, built once from the inputs and the published
 * figures, then written as HTML (page.ts) and as markdown (markdown.ts). Both writers take the
 * tables from here cell for cell, so the two versions cannot disagree.
 *
 * Invariant: a block is `published` exactly when its figures come from data/published.json; a
 * block never holds both published and measured figures.
 */
import type { TopLevelSpec } from 'vega-lite'

export interface TableBlock {
  readonly kind: 'table'
  readonly id: string
  readonly title: string
  /** What the rows mean: definitions, statistic, caveats. */
  readonly caption: string
  readonly columns: readonly string[]
  readonly rows: ReadonlyArray<readonly string[]>
  readonly published: boolean
}

export interface ChartBlock {
  readonly kind: 'chart'
  readonly id: string
  readonly title: string
  readonly caption: string
  /** A Vega-Lite spec with its data inline; rendered to SVG in Node (svg.ts). */
  readonly spec: TopLevelSpec
  /** Bars the chart draws: one per data row. The page checks it against the SVG's marks. */
  readonly marks: number
  readonly published: boolean
}

export type Block = TableBlock | ChartBlock

export interface Section {
  readonly id: string
  readonly title: string
  /** Paragraphs above the blocks. */
  readonly intro: readonly string[]
  readonly blocks: readonly Block[]
}

export interface ReportModel {
  readonly title: string
  readonly createdAt: string
  readonly files: readonly string[]
  /** Short notes on the inputs (e.g. measurements replaced by a later recording). */
  readonly notes: readonly string[]
  readonly sections: readonly Section[]
}

export function table(
  id: string,
  title: string,
  caption: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  published = false,
): TableBlock {
  return { kind: 'table', id, title, caption, columns, rows, published }
}
