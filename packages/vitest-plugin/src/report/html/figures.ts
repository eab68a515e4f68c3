/**
 * What the report's sections read off a measurement: its kind of work, its shape without the
 * dtype, its time under the statistic its method reports, and numbers as text.
 */
import { formatBandwidth, formatDuration, formatFlops } from '@gpubench/core'
import type { Measurement } from './inputs.ts'

export { geometricMean } from '../derived.ts'

export type Dtype = 'f32' | 'f16'

/**
 * The workload's dtype; for a target that is not one of core's workloads (a training step carries
 * none in its entry), the `f32`/`f16` word of its name when it has exactly one.
 */
export function dtypeOf(m: Measurement): Dtype | null {
  const dtype = m.workload?.dtype
  if (dtype === 'f32' || dtype === 'f16') return dtype
  if (m.workload !== null) return null
  const words = new Set([...m.key.matchAll(DTYPE_WORD)].map((match) => match[2]))
  const [only] = words
  return words.size === 1 && (only === 'f32' || only === 'f16') ? only : null
}

/** The workload's kind (`gemm`, `gemv`, `vjp`, `launch`, or a suite's own such as `training`), else null. */
export function kindOf(m: Measurement): string | null {
  const kind = m.workload?.kind
  return typeof kind === 'string' ? kind : null
}

/**
 * The time a figure of this measurement compares: the mean under the paper's method (a fixed
 * count of launches, whose mean the paper reports), the median otherwise.
 */
export function timeOf(m: Measurement): { readonly ns: number; readonly statistic: 'mean' | 'median' } {
  return m.stoppedBy === 'fixed-count'
    ? { ns: m.stats.meanNs, statistic: 'mean' }
    : { ns: m.stats.medianNs, statistic: 'median' }
}

/** `f32` or `f16` as a word of a name (not inside `xf32b`). */
const DTYPE_WORD = /(^|[^A-Za-z0-9])(f32|f16)(?![A-Za-z0-9])/g

/** The name with its dtype word removed: `matmul/quick/gemm 8x256x256x256 f32` → `matmul/quick/gemm 8x256x256x256`. */
export function withoutDtype(name: string): string {
  return name
    .replace(DTYPE_WORD, '$1')
    .replace(/\s{2,}/g, ' ')
    .trim()
}

/** The name with its `f32` word read `f16`; null when it has none. */
export function f16Twin(key: string): string | null {
  if (!/(^|[^A-Za-z0-9])f32(?![A-Za-z0-9])/.test(key)) return null
  return key.replace(/(^|[^A-Za-z0-9])f32(?![A-Za-z0-9])/g, '$1f16')
}

/** The shape as a chart label: the target without its kind word and dtype (`8x256x256x256`, `4096x1024 T`). */
export function shapeLabel(m: Measurement): string {
  const kind = kindOf(m)
  let label = withoutDtype(m.target)
  if (kind !== null && label.startsWith(`${kind} `)) label = label.slice(kind.length + 1)
  label = label.replace(/^(linear-map|linear-layer) /, '')
  return m.key.includes('(paper method)') ? `${label} (paper method)` : label
}

export const NONE = '—'

export function durationText(ns: number | null): string {
  return ns === null ? NONE : formatDuration(ns)
}

export function msText(ns: number | null): string {
  return ns === null ? NONE : (ns / 1e6).toPrecision(3)
}

export function flopsText(perSecond: number | null): string {
  return perSecond === null ? NONE : formatFlops(perSecond)
}

export function bandwidthText(perSecond: number | null): string {
  return perSecond === null ? NONE : formatBandwidth(perSecond)
}

/** A rate or count: whole numbers from 100 up (18577), three significant digits below (0.156). */
export function amountText(value: number): string {
  return Math.abs(value) >= 100 ? String(Math.round(value)) : ratioText(value)
}

/** Three significant digits: ratios, gains. */
export function ratioText(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(3) : String(value)
}
