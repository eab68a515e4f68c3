/**
 * `gpubench compare [--base REF] [options] [-- vitest arguments]`: measures the base commit and
 * the working tree side by side on this machine, in separate processes interleaved ABBA, and
 * decides per benchmark on the paired ratios with run-level error control (compare/decision.ts).
 * The base is checked out, installed and built once in a cache folder (compare/base.ts); nothing is written to the baselines. Exit 1 on a regression; 0 otherwise,
 * inconclusive benchmarks and faults of one side with a notice (1 with --strict); 2 for a usage
 * error.
 */
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { DEFAULT_TOLERANCE } from '@gpubench/core'
import { type BaseCommit, prepareBase, resolveBase } from '../compare/base.ts'
import {
  COMPARE_REPORT_VERSION,
  type CompareResult,
  formatCompareMarkdown,
  formatCompareText,
} from '../compare/output.ts'
import { cpuSets, type ProcessRun } from '../compare/process.ts'
import { compareLoop, type LoopResult } from '../compare/run.ts'
import { writeReportFile } from '../node/report-files.ts'
import { DEFAULT_RUN_ERROR_RATE } from '../options.ts'
import { CliError } from './vitest-process.ts'

export const COMPARE_USAGE = `gpubench compare [--base REF] [options] [-- <vitest arguments, e.g. a file filter>]

Measures the base commit and the working tree side by side on this machine: pairs of
'vitest bench --run' processes, one per side, in ABBA order, pinned to the same CPU set per
pair (Linux, taskset). Each benchmark is judged on its paired ratios head/base: 'regressed'
when a one-sided t test rejects "no slowdown beyond the tolerance" with the chance of any false
'regressed' held at --alpha over all benchmarks and looks, and the ratio is beyond the
tolerance. Stops when every benchmark is decided, or at --max-pairs or --max-time.

The base (default: the merge-base of HEAD with $GITHUB_BASE_REF, else with the default branch)
is checked out as a git worktree in a cache folder outside the project (see --cache-dir),
installed with the project's package manager (from its lockfile) and reused by later
comparisons. Nothing is written to the baselines.

options:
  --base REF             the base commit (any commit-ish, e.g. HEAD, main, v1.2.0)
  --tolerance F          slowdown that is not yet a regression (default ${DEFAULT_TOLERANCE})
  --alpha F              run-level error rate (default ${DEFAULT_RUN_ERROR_RATE})
  --max-pairs N          most pairs of processes (default 16; looks at 4, 8, 16, ...)
  --max-time S           time budget in seconds (default 1200)
  --install-command CMD  how to install the base checkout (default: from its lockfile)
  --build-command CMD    run once in the base checkout after the install (default: none)
  --cache-dir DIR        where base checkouts are kept (default: $GPUBENCH_COMPARE_CACHE, else
                         $XDG_CACHE_HOME or ~/.cache, under gpubench/compare/<project>)
  --no-pin               do not pin processes to CPU sets
  --json PATH            write the JSON report there
  --strict               exit 1 also when a benchmark is inconclusive or measured on one side only

exit status: 1 on a regression (or, with --strict, an undecided or one-sided benchmark), 0
otherwise, 2 for a usage error. With $GITHUB_STEP_SUMMARY set, a markdown table is appended.`

export interface CompareArgs {
  readonly base: string | null
  readonly tolerance: number
  readonly alpha: number
  readonly maxPairs: number
  readonly maxSeconds: number
  readonly installCommand: string | null
  readonly buildCommand: string | null
  readonly cacheDir: string | null
  readonly pin: boolean
  readonly json: string | null
  readonly strict: boolean
  readonly vitestArgs: readonly string[]
}

function numberArg(name: string, text: string | undefined, ok: (x: number) => boolean, what: string): number {
  const value = Number(text)
  if (text === undefined || text.trim() === '' || !ok(value)) {
    throw new CliError(`${name} must be ${what}, got ${JSON.stringify(text ?? null)}`)
  }
  return value
}

/** Parses compare's own arguments; vitest's come after `--`. Throws a CliError naming what is wrong. */
export function parseCompareArgs(argv: readonly string[]): CompareArgs {
  const dashes = argv.indexOf('--')
  const own = dashes >= 0 ? argv.slice(0, dashes) : argv
  const args: { -readonly [K in keyof CompareArgs]: CompareArgs[K] } = {
    base: null,
    tolerance: DEFAULT_TOLERANCE,
    alpha: DEFAULT_RUN_ERROR_RATE,
    maxPairs: 16,
    maxSeconds: 1200,
    installCommand: null,
    buildCommand: null,
    cacheDir: null,
    pin: true,
    json: null,
    strict: false,
    vitestArgs: dashes >= 0 ? argv.slice(dashes + 1) : [],
  }
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const value = () => (eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : own[++i])
    const text = (label: string) => {
      const v = value()
      if (v === undefined || v.trim() === '') throw new CliError(`${label} needs a value`)
      return v
    }
    switch (name) {
      case '--base':
        args.base = text('--base')
        break
      case '--tolerance':
        args.tolerance = numberArg(name, value(), (x) => x >= 0 && x < 1, 'a fraction in [0, 1) such as 0.05')
        break
      case '--alpha':
        args.alpha = numberArg(name, value(), (x) => x > 0 && x < 0.5, 'a fraction in (0, 0.5) such as 0.01')
        break
      case '--max-pairs':
        args.maxPairs = numberArg(
          name,
          value(),
          (x) => Number.isInteger(x) && x >= 2 && x <= 200,
          'an integer from 2 to 200',
        )
        break
      case '--max-time':
        args.maxSeconds = numberArg(name, value(), (x) => x > 0 && Number.isFinite(x), 'a positive number of seconds')
        break
      case '--install-command':
        args.installCommand = text(name)
        break
      case '--build-command':
        args.buildCommand = text(name)
        break
      case '--cache-dir':
        args.cacheDir = text(name)
        break
      case '--json':
        args.json = text(name)
        break
      case '--no-pin':
        args.pin = false
        break
      case '--strict':
        args.strict = true
        break
      default:
        throw new CliError(
          `unknown argument ${JSON.stringify(arg)} for 'gpubench compare'; vitest's arguments go after --`,
        )
    }
  }
  if (args.vitestArgs.some((a) => a === '-u' || a === '--update' || a.startsWith('--update='))) {
    throw new CliError('compare writes no baselines: leave -u/--update out of the vitest arguments')
  }
  return args
}

function headCommit(cwd: string): { sha: string | null; dirty: boolean } {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return { sha, dirty: status.trim() !== '' }
  } catch {
    return { sha: null, dirty: true }
  }
}

/** The loop's result when the base could not be made ready: nothing compared, the fault said. */
function baseFault(reason: string, started: number): LoopResult {
  return {
    looks: [],
    levelPerLook: 0,
    pairs: 0,
    seconds: (performance.now() - started) / 1000,
    stoppedBy: 'base fault',
    benchmarks: [],
    processes: [] as ProcessRun[],
    faults: [`the base could not be prepared, nothing was compared: ${reason}`],
  }
}

/** The exit status of a finished comparison. */
export function compareExitCode(result: Pick<CompareResult, 'benchmarks' | 'faults'>, strict: boolean): number {
  if (result.benchmarks.some((b) => b.outcome === 'regressed')) return 1
  if (!strict) return 0
  const unsettled = result.benchmarks.some((b) => b.outcome !== 'same' && b.outcome !== 'improved')
  return unsettled || result.faults.length > 0 || result.benchmarks.length === 0 ? 1 : 0
}

export async function compare(argv: readonly string[], cwd: string = process.cwd()): Promise<number> {
  const args = parseCompareArgs(argv)
  const log = (line: string) => console.log(`gpubench compare: ${line}`)
  const started = performance.now()
  const base: BaseCommit = resolveBase(cwd, args.base, process.env)
  log(`base ${base.sha} (${base.ref}, from ${base.source})`)
  const prepared = prepareBase(cwd, base, {
    cacheDir: args.cacheDir,
    installCommand: args.installCommand,
    buildCommand: args.buildCommand,
    log,
  })
  let loop: LoopResult
  if (!prepared.ok) {
    loop = baseFault(prepared.reason, started)
  } else {
    const { checkout } = prepared
    log(`base checkout ${checkout.dir}${checkout.reused ? ' (reused)' : ` (made; log ${checkout.log})`}`)
    const sets = cpuSets(args.pin)
    log(
      `${sets.length === 0 ? 'processes not pinned' : `pairs alternate CPU sets ${sets.join(' and ')}`}; at most ${args.maxPairs} pairs or ${args.maxSeconds} s`,
    )
    loop = compareLoop({
      headDir: resolve(cwd),
      baseDir: checkout.runDir,
      vitestArgs: args.vitestArgs,
      alpha: args.alpha,
      tolerance: args.tolerance,
      maxPairs: args.maxPairs,
      maxSeconds: Math.max(1, args.maxSeconds - (performance.now() - started) / 1000),
      cpuSets: sets,
      log,
    })
  }
  const result: CompareResult = {
    format: 'gpubench-compare',
    version: COMPARE_REPORT_VERSION,
    createdAt: new Date().toISOString(),
    base,
    head: headCommit(cwd),
    selection: args.vitestArgs,
    alpha: args.alpha,
    tolerance: args.tolerance,
    ...loop,
    seconds: (performance.now() - started) / 1000,
  }
  console.log(`\n${formatCompareText(result)}`)
  const writes: Array<Promise<string | null>> = []
  if (args.json) {
    writes.push(
      writeReportFile(
        { source: '--json', file: resolve(cwd, args.json), how: 'write' },
        `${JSON.stringify(result, null, 2)}\n`,
      ),
    )
  }
  const summary = process.env.GITHUB_STEP_SUMMARY
  if (summary) {
    writes.push(
      writeReportFile(
        { source: '$GITHUB_STEP_SUMMARY', file: resolve(cwd, summary), how: 'append' },
        formatCompareMarkdown(result),
      ),
    )
  }
  for (const problem of await Promise.all(writes)) if (problem) console.error(problem)
  return compareExitCode(result, args.strict)
}
