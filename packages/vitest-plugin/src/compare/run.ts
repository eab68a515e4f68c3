/**
 * The comparison loop of `gpubench compare`: pairs of processes, one per side, in ABBA order
 * (pair 1 base then head, pair 2 head then base, ...), so a drift of the machine over the
 * comparison weighs on both sides alike; the two processes of a pair share a CPU set and pairs
 * alternate between sets. At each planned look (decision.ts) the undecided benchmarks are
 * judged; the loop stops when none is left, at the last look, or when another pair would pass
 * the time budget (the last look is then made early, so no more than the looks planned are made).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { medianOf } from '@gpubench/core'
import { type BenchmarkDecision, look, lookSchedule } from './decision.ts'
import type { ComparedBenchmark, CompareResult } from './output.ts'
import { type ProcessRun, type ProcessSpec, runProcess, type Side } from './process.ts'

export interface LoopSettings {
  readonly headDir: string
  readonly baseDir: string
  readonly vitestArgs: readonly string[]
  readonly alpha: number
  readonly tolerance: number
  readonly maxPairs: number
  readonly maxSeconds: number
  /** CPU sets the pairs alternate between (empty: not pinned). */
  readonly cpuSets: readonly string[]
  readonly log: (line: string) => void
  /** For tests: what runs one process. */
  readonly run?: (spec: ProcessSpec) => ProcessRun
}

export type LoopResult = Pick<
  CompareResult,
  'looks' | 'levelPerLook' | 'pairs' | 'seconds' | 'stoppedBy' | 'benchmarks' | 'processes' | 'faults'
>

/** Per-process timeout: generous against the budget, so a hung process cannot eat the whole comparison. */
function processTimeoutMs(maxSeconds: number): number {
  return Math.round(Math.max(60, maxSeconds / 2) * 1000)
}

export function compareLoop(settings: LoopSettings): LoopResult {
  const { alpha, tolerance, maxPairs, maxSeconds, log } = settings
  const run = settings.run ?? runProcess
  const looks = lookSchedule(maxPairs)
  const workDir = mkdtempSync(join(tmpdir(), 'gpubench-compare-run-'))
  const started = performance.now()
  const elapsed = () => (performance.now() - started) / 1000
  const processes: ProcessRun[] = []
  const logRatios = new Map<string, number[]>()
  const decisions = new Map<string, BenchmarkDecision>()
  const faults: string[] = []
  let looksMade = 0
  let pairs = 0
  let stoppedBy = 'max pairs'

  const makeLook = () => {
    const undecided = new Map([...logRatios].filter(([name, r]) => r.length >= 2 && !decisions.get(name)?.decidedAt))
    if (undecided.size === 0) return
    looksMade++
    for (const [name, decision] of look(undecided, { alpha, tolerance, looks: looks.length })) {
      decisions.set(name, decision)
    }
    const open = [...logRatios.keys()].filter((name) => !decisions.get(name)?.decidedAt).length
    log(`look ${looksMade} of ${looks.length} at ${pairs} pairs: ${open} benchmark(s) undecided`)
  }

  for (let pair = 1; pair <= maxPairs; pair++) {
    const cpuSet = settings.cpuSets.length === 0 ? null : settings.cpuSets[(pair - 1) % settings.cpuSets.length]!
    const order: Side[] = pair % 2 === 1 ? ['base', 'head'] : ['head', 'base']
    const runs = order.map((side, index) =>
      run({
        side,
        pair,
        order: index as 0 | 1,
        runDir: side === 'base' ? settings.baseDir : settings.headDir,
        vitestArgs: settings.vitestArgs,
        cpuSet,
        workDir,
        timeoutMs: processTimeoutMs(maxSeconds),
      }),
    )
    processes.push(...runs)
    pairs = pair
    const [base, head] = order[0] === 'base' ? runs : [runs[1]!, runs[0]!]
    for (const p of runs) if (p.problem) faults.push(`pair ${pair}, ${p.side}: ${p.problem}`)
    log(
      `pair ${pair} (${order.join(' then ')}${cpuSet === null ? '' : `, CPUs ${cpuSet}`}): ${runs.map((p) => `${p.side} ${p.seconds.toFixed(1)} s`).join(', ')}`,
    )
    for (const [name, headMedian] of Object.entries(head!.medians)) {
      const baseMedian = base!.medians[name]
      if (baseMedian === undefined || !(baseMedian > 0 && headMedian > 0)) continue
      const list = logRatios.get(name) ?? []
      list.push(Math.log(headMedian / baseMedian))
      logRatios.set(name, list)
    }
    if (pair === 1 && Object.keys(base!.medians).length === 0 && Object.keys(head!.medians).length === 0) {
      stoppedBy = 'no measurements'
      break
    }
    if (looks.includes(pair)) makeLook()
    const open = [...logRatios.keys()].filter((name) => !decisions.get(name)?.decidedAt)
    if (logRatios.size > 0 && open.length === 0) {
      stoppedBy = 'all decided'
      break
    }
    if (pair < maxPairs && elapsed() + elapsed() / pair > maxSeconds) {
      // The next pair would pass the budget: the last look now (it takes the place of the looks not reached).
      if (!looks.includes(pair) && looksMade < looks.length) makeLook()
      stoppedBy = 'max time'
      break
    }
  }

  const sideMedians = (side: Side, name: string) =>
    medianOf(processes.filter((p) => p.side === side && p.medians[name] !== undefined).map((p) => p.medians[name]!))
  const names = new Set(processes.flatMap((p) => Object.keys(p.medians)))
  const benchmarks: ComparedBenchmark[] = [...names].sort().map((name) => {
    const baseMedianNs = sideMedians('base', name)
    const headMedianNs = sideMedians('head', name)
    if (baseMedianNs === null || headMedianNs === null) {
      const side = baseMedianNs === null ? 'head' : 'base'
      return {
        name,
        outcome: side === 'head' ? 'only on head' : 'only on base',
        baseMedianNs,
        headMedianNs,
        problem: `measured by the ${side} only; not compared`,
      }
    }
    const decision = decisions.get(name)
    const pairsOf = logRatios.get(name)?.length ?? 0
    if (!decision) {
      return { name, outcome: 'inconclusive', baseMedianNs, headMedianNs, pairs: pairsOf, ratio: undefined }
    }
    const { verdict, ...figures } = decision
    return { name, ...figures, outcome: verdict, baseMedianNs, headMedianNs }
  })
  // The processes' reports and logs: kept for a look when something went wrong, else removed.
  if (faults.length === 0) rmSync(workDir, { recursive: true, force: true })
  else log(`the processes' logs are kept in ${workDir}`)
  return {
    looks,
    levelPerLook: alpha / looks.length,
    pairs,
    seconds: elapsed(),
    stoppedBy,
    benchmarks,
    processes,
    faults: [...new Set(faults)],
  }
}
