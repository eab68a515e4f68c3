/**
 * The report's charts as Vega-Lite specs: bars, grouped by device or dtype, optionally one panel
 * per facet. Data is inline, so the rendered SVG needs nothing at view time. Published figures get
 * their own charts, drawn in one grey, titled as published: never a bar beside a measured one.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { ChartBlock } from './model.ts'

export type Datum = Readonly<Record<string, string | number>>

export interface Field {
  readonly field: string
  readonly title: string
}

export interface BarsOptions {
  readonly id: string
  readonly title: string
  readonly caption: string
  readonly values: readonly Datum[]
  /** Bars along x, in the order of first appearance. */
  readonly category: Field
  readonly value: Field & { readonly format?: string }
  /** Bars side by side within a category, coloured by this field. */
  readonly group?: Field
  /** One panel per value of this field. */
  readonly facet?: Field
  readonly published?: boolean
  /** Force a log scale; default: log when the values span more than 20x. */
  readonly log?: boolean
}

const PUBLISHED_GREY = '#8c8c8c'

function order(values: readonly Datum[], field: string): string[] {
  return [...new Set(values.map((v) => String(v[field])))]
}

/** A bar chart block; `marks` is the number of bars (one per datum). Requires at least one datum. */
export function bars(o: BarsOptions): ChartBlock {
  if (o.values.length === 0) throw new RangeError(`chart ${o.id}: no data`)
  const numbers = o.values.map((v) => Number(v[o.value.field])).filter((v) => v > 0)
  const log = o.log ?? (numbers.length > 0 && Math.max(...numbers) / Math.min(...numbers) > 20)
  // Ticks of a log axis: the powers of ten from below the smallest value to above the largest.
  const decades: number[] = []
  if (log) {
    const low = Math.floor(Math.log10(Math.min(...numbers)) - 1e-9)
    const high = Math.ceil(Math.log10(Math.max(...numbers)))
    for (let e = low; e <= high; e++) decades.push(10 ** e)
  }
  const groups = o.group ? order(o.values, o.group.field) : []
  const encoding: Record<string, unknown> = {
    x: {
      field: o.category.field,
      type: 'nominal',
      title: o.category.title,
      sort: order(o.values, o.category.field),
      axis: { labelAngle: -30, labelLimit: 280 },
    },
    y: {
      field: o.value.field,
      type: 'quantitative',
      title: log ? `${o.value.title} (log scale)` : o.value.title,
      // On a log scale a bar starts at the domain's bottom: a decade below the smallest value, so every bar shows;
      // the domain ends at the decade above the largest, so both ends have a labelled tick.
      scale: log ? { type: 'log', domain: [decades[0], decades[decades.length - 1]] } : { zero: true },
      axis: { format: o.value.format ?? '~s', ...(log ? { values: decades } : {}) },
      // Bars side by side, never stacked (a stack would start every bar at 0, which a log scale cannot show).
      stack: null,
    },
    tooltip: [
      { field: o.category.field, type: 'nominal', title: o.category.title },
      ...(o.group ? [{ field: o.group.field, type: 'nominal', title: o.group.title }] : []),
      ...(o.facet ? [{ field: o.facet.field, type: 'nominal', title: o.facet.title }] : []),
      { field: o.value.field, type: 'quantitative', title: o.value.title, format: o.value.format ?? '.3~s' },
    ],
  }
  if (o.group) {
    encoding.xOffset = { field: o.group.field, type: 'nominal', sort: groups }
    encoding.color = o.published
      ? { value: PUBLISHED_GREY }
      : {
          field: o.group.field,
          type: 'nominal',
          title: o.group.title,
          sort: groups,
          scale: { scheme: 'tableau10' },
          legend: { orient: 'bottom', columns: 1, labelLimit: 420 },
        }
    if (o.published) encoding.opacity = { field: o.group.field, type: 'nominal', title: o.group.title, sort: groups }
  } else {
    encoding.color = { value: o.published ? PUBLISHED_GREY : '#4c78a8' }
  }
  if (o.facet) {
    encoding.column = {
      field: o.facet.field,
      type: 'nominal',
      title: o.facet.title,
      sort: order(o.values, o.facet.field),
    }
  }
  // With groups, Vega-Lite's step is one bar's (the xOffset band), else one category's.
  const step = o.group ? Math.max(10, Math.min(26, 84 / groups.length)) : 40
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: o.values.map((v) => ({ ...v })) },
    mark: { type: 'bar' },
    width: { step },
    height: 220,
    encoding,
    config: { font: 'sans-serif', view: { stroke: null } },
  } as TopLevelSpec
  return {
    kind: 'chart',
    id: o.id,
    title: o.title,
    caption: o.caption,
    spec,
    marks: o.values.length,
    published: o.published ?? false,
  }
}
