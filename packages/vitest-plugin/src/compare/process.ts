/**
 * One measuring process of `gpubench compare`: `vitest bench --run <selection>` in one side's
 * folder, its JSON report written to a temporary file (GPUBENCH_COMPARE_REPORT, which also keeps
 * the run away from baselines and the step summary, see options.ts), its output to a log file.
 * On Linux with `taskset`, the process is pinned to a CPU set. What the machine did meanwhile is
 * recorded with it: the steal time of its CPUs (/proc/stat) and the load average at its start.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { findVitest } from '../cli/vitest-process.ts'
import type { JsonReport } from '../report/json.ts'

export type Side = 'base' | 'head'

export interface ProcessRun {
  readonly side: Side
  readonly pair: number
  /** 0: first of its pair, 1: second. */
  readonly order: 0 | 1
  /** The CPUs it was pinned to (`taskset -c` list), or null when not pinned. */
  readonly cpuSet: string | null
  readonly seconds: number
  readonly exitCode: number | null
  /** Steal time of its CPUs over its lifetime, as a fraction of their time; null where /proc/stat is not readable. */
  readonly steal: number | null
  /** One-minute load average when it started; null where the OS does not give one. */
  readonly load: number | null
  /** Median per benchmark (ns), by name. */
  readonly medians: Readonly<Record<string, number>>
  /** Why it measured nothing, when it did not. */
  readonly problem: string | null
  readonly log: string
}

/** A benchmark's name in a comparison: the suite's name and the backend that measured it. */
export function benchmarkName(key: string, backend: string): string {
  return `${key} [${backend}]`
}

/** The medians of a JSON report's measured benchmarks, by name. */
export function mediansOf(report: JsonReport): Record<string, number> {
  const medians: Record<string, number> = {}
  for (const { record } of report.benchmarks) {
    if (record.status !== 'measured') continue
    medians[benchmarkName(record.key, record.backend)] = record.entry.stats.medianNs
  }
  return medians
}

interface CpuTimes {
  readonly steal: number
  readonly total: number
}

/** Sums of the steal and total jiffies of the CPUs listed (all CPUs when null), from /proc/stat. */
export function cpuTimes(stat: string, cpuList: readonly number[] | null): CpuTimes | null {
  let steal = 0
  let total = 0
  let found = false
  for (const line of stat.split('\n')) {
    const match = /^cpu(\d*)\s+(.*)$/.exec(line)
    if (!match) continue
    const all = match[1] === ''
    if (cpuList === null ? !all : all || !cpuList.includes(Number(match[1]))) continue
    const fields = match[2]!.trim().split(/\s+/).map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    total += fields.slice(0, 8).reduce((a, x) => a + (Number.isFinite(x) ? x : 0), 0)
    steal += fields[7] ?? 0
    found = true
  }
  return found ? { steal, total } : null
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The CPU numbers of a `taskset -c` list such as `0-3,6`. */
export function cpuNumbers(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [low, high] = part.split('-').map(Number)
    if (high === undefined) return [low!]
    return Array.from({ length: high - low! + 1 }, (_, i) => low! + i)
  })
}

/**
 * The CPU sets that pairs alternate between: the machine's CPUs in two halves when it has at
 * least two and `taskset` is there (Linux), else none (no pinning).
 */
export function cpuSets(
  pin: boolean,
  count: number = cpus().length,
  hasTaskset: () => boolean = tasksetWorks,
): string[] {
  if (!pin || process.platform !== 'linux' || count < 2 || !hasTaskset()) return []
  const half = Math.floor(count / 2)
  const range = (low: number, high: number) => (low === high ? `${low}` : `${low}-${high}`)
  return [range(0, half - 1), range(half, count - 1)]
}

function tasksetWorks(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0
}

export interface ProcessSpec {
  readonly side: Side
  readonly pair: number
  readonly order: 0 | 1
  readonly runDir: string
  readonly vitestArgs: readonly string[]
  readonly cpuSet: string | null
  /** Folder for the report and log files of this comparison. */
  readonly workDir: string
  readonly timeoutMs: number
}

/** The environment of a measuring process: the caller's, less what would make it write or gate. */
export function processEnv(reportFile: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(env)) {
    if (key === 'GITHUB_STEP_SUMMARY' || key === 'GPUBENCH_RECORD' || key === 'GPUBENCH_HTML_REPORT') continue
    out[key] = value
  }
  return { ...out, GPUBENCH_COMPARE_REPORT: reportFile }
}

/** Runs one process to its end (or its timeout) and reads what it measured. */
export function runProcess(spec: ProcessSpec): ProcessRun {
  const stem = join(spec.workDir, `pair${String(spec.pair).padStart(3, '0')}-${spec.side}`)
  const reportFile = `${stem}.json`
  const log = `${stem}.log`
  const cpuList = spec.cpuSet === null ? null : cpuNumbers(spec.cpuSet)
  const statBefore = readText('/proc/stat')
  const loadText = readText('/proc/loadavg')
  const load = loadText === null ? null : Number(loadText.split(' ')[0])
  const vitest = findVitest(spec.runDir)
  const argv = [process.execPath, vitest, 'bench', '--run', ...spec.vitestArgs]
  const [command, ...args] = spec.cpuSet === null ? argv : ['taskset', '-c', spec.cpuSet, ...argv]
  const fd = openSync(log, 'w')
  const started = performance.now()
  let result: ReturnType<typeof spawnSync>
  try {
    result = spawnSync(command!, args, {
      cwd: spec.runDir,
      stdio: ['ignore', fd, fd],
      env: processEnv(reportFile),
      timeout: spec.timeoutMs,
      killSignal: 'SIGKILL',
    })
  } finally {
    closeSync(fd)
  }
  const seconds = (performance.now() - started) / 1000
  const statAfter = readText('/proc/stat')
  let steal: number | null = null
  if (statBefore !== null && statAfter !== null) {
    const before = cpuTimes(statBefore, cpuList)
    const after = cpuTimes(statAfter, cpuList)
    if (before && after && after.total > before.total)
      steal = (after.steal - before.steal) / (after.total - before.total)
  }
  let medians: Record<string, number> = {}
  let problem: string | null = null
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') {
    problem = `could not start ${command}: ${result.error.message}`
  } else if (result.signal === 'SIGKILL' && seconds * 1000 >= spec.timeoutMs) {
    problem = `stopped after ${Math.round(spec.timeoutMs / 1000)} s (log ${log})`
  } else if (!existsSync(reportFile)) {
    problem = `vitest exited ${result.status ?? result.signal} without a report (log ${log}); a plugin too old for compare, or a failing config`
  } else {
    try {
      medians = mediansOf(JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport)
      if (Object.keys(medians).length === 0) problem = `no benchmark measured (exit ${result.status}, log ${log})`
    } catch (error) {
      problem = `its report ${reportFile} could not be read: ${(error as Error).message}`
    }
  }
  return {
    side: spec.side,
    pair: spec.pair,
    order: spec.order,
    cpuSet: spec.cpuSet,
    seconds,
    exitCode: result.status,
    steal,
    load: Number.isFinite(load) ? load : null,
    medians,
    problem,
    log,
  }
}
