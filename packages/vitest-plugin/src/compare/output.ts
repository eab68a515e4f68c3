/**
 * What `gpubench compare` prints and writes: the console table, the markdown step summary and the
 * JSON report, all from one `CompareResult`, so the three never disagree.
 */
import { formatDuration } from '@gpubench/core'
import { detectsText, NONE, percentText } from '../report/figures.ts'
import { markdownTable } from '../report/markdown-table.ts'
import { formatGrid } from '../report/table.ts'
import type { CompareVerdict, PairedFigures } from './decision.ts'
import type { ProcessRun } from './process.ts'

export const COMPARE_REPORT_VERSION = 1

/** A benchmark's outcome: a verdict on its pairs, or a fault of one side. */
export type CompareOutcome = CompareVerdict | 'only on base' | 'only on head' | 'no base'

export interface ComparedBenchmark extends Partial<PairedFigures> {
  readonly name: string
  readonly outcome: CompareOutcome
  /** Median over the side's processes of each process's median (ns); null when the side has none. */
  readonly baseMedianNs: number | null
  readonly headMedianNs: number | null
  readonly decidedAt?: number | null
  /** What went wrong on one side, for faults. */
  readonly problem?: string
}

export interface CompareResult {
  readonly format: 'gpubench-compare'
  readonly version: typeof COMPARE_REPORT_VERSION
  readonly createdAt: string
  readonly base: { readonly ref: string; readonly sha: string; readonly source: string }
  readonly head: { readonly sha: string | null; readonly dirty: boolean }
  readonly selection: readonly string[]
  readonly alpha: number
  readonly tolerance: number
  /** The looks planned (pairs at each) and the one-sided level of each look (alpha / looks). */
  readonly looks: readonly number[]
  readonly levelPerLook: number
  readonly pairs: number
  readonly seconds: number
  /** Why the comparison stopped: 'all decided', 'max pairs', 'max time', 'base fault', 'no measurements'. */
  readonly stoppedBy: string
  readonly benchmarks: readonly ComparedBenchmark[]
  readonly processes: readonly ProcessRun[]
  /** Problems of the comparison as a whole (the base's install, a process that measured nothing). */
  readonly faults: readonly string[]
}

function ratioCell(b: ComparedBenchmark): string {
  if (b.ratio === undefined) return NONE
  const interval =
    b.ratioLow !== undefined && b.ratioLow !== null && b.ratioHigh !== undefined && b.ratioHigh !== null
      ? ` [${b.ratioLow.toFixed(3)}x – ${b.ratioHigh.toFixed(3)}x]`
      : ''
  return `${b.ratio.toFixed(3)}x${interval}`
}

function rowOf(b: ComparedBenchmark): string[] {
  return [
    b.name,
    b.baseMedianNs === null ? NONE : formatDuration(b.baseMedianNs),
    b.headMedianNs === null ? NONE : formatDuration(b.headMedianNs),
    ratioCell(b),
    b.pairs === undefined ? NONE : String(b.pairs),
    b.pairSd === undefined || b.pairSd === null ? NONE : `±${percentText(b.pairSd)}`,
    detectsText(b.detectableRatio),
    b.outcome,
  ]
}

function header(result: CompareResult): string[] {
  const level = 1 - 2 * result.levelPerLook
  return [
    'benchmark',
    'base median',
    'head median',
    `head/base [${percentText(level)} interval]`,
    'pairs',
    'noise/pair',
    'detects',
    'verdict',
  ]
}

function headline(result: CompareResult): string {
  const head =
    result.head.sha === null
      ? 'working tree'
      : `${result.head.sha.slice(0, 10)}${result.head.dirty ? ' + changes' : ''}`
  return `gpubench compare: head ${head} against base ${result.base.sha.slice(0, 10)} (${result.base.ref}), ${result.pairs} pairs in ${result.seconds.toFixed(0)} s, stopped: ${result.stoppedBy}`
}

/** One line per machine condition seen: the CPU sets used, the steal time and the load average ranges. */
export function machineLine(processes: readonly ProcessRun[]): string {
  const sets = [...new Set(processes.map((p) => p.cpuSet ?? 'not pinned'))].join(' / ')
  const steals = processes.map((p) => p.steal).filter((s): s is number => s !== null)
  const loads = processes.map((p) => p.load).filter((l): l is number => l !== null)
  const range = (xs: number[], f: (x: number) => string) =>
    xs.length === 0 ? 'unknown' : `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`
  return `processes: ${processes.length}, CPU sets ${sets}, steal ${range(steals, percentText)}, load average ${range(loads, (x) => x.toFixed(2))}`
}

function notices(result: CompareResult): string[] {
  const lines: string[] = []
  const regressed = result.benchmarks.filter((b) => b.outcome === 'regressed')
  for (const b of regressed) {
    lines.push(
      `REGRESSED ${b.name}: base ${formatDuration(b.baseMedianNs ?? Number.NaN)}, head ${formatDuration(b.headMedianNs ?? Number.NaN)}, head/base ${ratioCell(b)} over ${b.pairs} pairs, beyond the tolerance of ${percentText(result.tolerance)}`,
    )
  }
  const inconclusive = result.benchmarks.filter((b) => b.outcome === 'inconclusive')
  if (inconclusive.length > 0) {
    lines.push(
      `notice: ${inconclusive.length} benchmark(s) inconclusive after ${result.pairs} pairs (neither a slowdown beyond ${percentText(result.tolerance)} nor its absence shown); raise --max-pairs or --max-time, or see their noise per pair`,
    )
  }
  for (const b of result.benchmarks) if (b.problem) lines.push(`notice: ${b.name}: ${b.outcome}: ${b.problem}`)
  for (const fault of result.faults) lines.push(`fault: ${fault}`)
  lines.push(
    `run-level error rate ${percentText(result.alpha)}: split over ${result.looks.length} planned look(s) at ${result.looks.join(', ')} pairs (${percentText(result.levelPerLook)} each, Holm over the benchmarks)`,
  )
  return lines
}

export function formatCompareText(result: CompareResult): string {
  return [
    headline(result),
    formatGrid(header(result), result.benchmarks.map(rowOf)),
    machineLine(result.processes),
    ...notices(result),
  ].join('\n')
}

export function formatCompareMarkdown(result: CompareResult): string {
  const regressed = result.benchmarks.some((b) => b.outcome === 'regressed')
  return [
    `### gpubench compare: ${regressed ? 'regression' : 'no regression'}`,
    '',
    headline(result),
    '',
    ...markdownTable(header(result), result.benchmarks.map(rowOf)),
    '',
    ...[machineLine(result.processes), ...notices(result)].map((line) => `- ${line}`),
    '',
  ].join('\n')
}
