/**
 * `gpubench calibrate`: measures what the gate can see on this runner, in two steps.
 *
 * 1. Records N separate runs of the suites (`vitest bench --run -u`, the first with
 *    GPUBENCH_RECORD=replace, the others with add-run), each in its own process, so the baseline's
 *    runs sample what differs between processes (modes, neighbours, the machine of a pool).
 * 2. An A/A self-test through the same verdict and the same run judgement as `vitest bench`
 *    (core's compareToBaseline and judgeRun: the run-wide shift per file, Holm at the run-level
 *    rate): each recorded run in turn is left out and compared, benchmark by benchmark, with the
 *    other N - 1 runs as the baseline, the device's pooled spread (without that run) as the prior.
 *    The code did not change between the runs, so every `regressed` is a false failure.
 *
 * It prints, per benchmark, the spread between its runs, the false failures it took part in, and
 * the smallest slowdown the gate catches in it (80% of the time, at the run-level rate over all
 * the benchmarks calibrated) with the N runs as its baseline. Leaving one run out makes the
 * self-test a little more cautious than the gate with all N runs.
 *
 * Cost: N runs of the suites, then O(N · m log m) verdicts for m benchmarks.
 */
import { readdir } from 'node:fs/promises'
import {
  type BaselineFile,
  compareToBaseline,
  DEFAULT_TOLERANCE,
  detectableRatio,
  deviceRunNoisePrior,
  judgeRun,
  loadBaseline,
  type RunSummary,
  runsOf,
  singleRegressionLevel,
  sittingsOf,
  UNSEEN_SHIFT_SD,
} from '@gpubench/core'
import { DEFAULT_RUN_ERROR_RATE } from '../options.ts'
import { detectsText, percentText } from '../report/figures.ts'
import { formatGrid } from '../report/table.ts'

/** Runs the default records: five, the fewest for which the model's t has enough degrees of freedom to detect 2x on a quiet runner (see the README's figures). */
export const DEFAULT_CALIBRATION_RUNS = 5
/** The fewest runs that leave a baseline of two runs when one is held out. */
export const MIN_CALIBRATION_RUNS = 3

export interface CalibrateOptions {
  readonly runs?: number
  /** The project folder, where Vitest runs. */
  readonly cwd: string
  /** Absolute path of the baseline folder. */
  readonly baselineDir: string
  /** More arguments for `vitest bench` (e.g. a file filter). */
  readonly vitestArgs?: readonly string[]
  /** The run-level error rate; default 1%. */
  readonly alpha?: number
  /** The tolerance of the comparisons (baseline files do not keep the suites' own); default core's. */
  readonly tolerance?: number
  /** Runs Vitest with these arguments and environment in `cwd`; its exit status. */
  readonly runVitest: (args: readonly string[], env: NodeJS.ProcessEnv) => number | Promise<number>
  readonly env?: NodeJS.ProcessEnv
  readonly log?: (line: string) => void
  /** Skip step 1 and test the runs already recorded since this ISO date (for tests and re-reads). */
  readonly recordedSince?: string
}

export interface CalibratedBenchmark {
  /** The baseline file's id: a device, or a pool. */
  readonly device: string
  readonly benchmark: string
  readonly runs: number
  /** Standard deviation of the runs' log medians (≈ the relative spread between runs). */
  readonly spread: number
  /** Held-out runs in which it read `regressed`. */
  readonly falseFailures: number
  /** The smallest slowdown caught (a ratio) at the run-level rate, with all N runs as its baseline. */
  readonly detectableRatio: number
}

export interface Calibration {
  readonly runs: number
  readonly alpha: number
  /** Held-out runs tested, and how many of them would have failed. */
  readonly heldOut: number
  readonly failedRuns: number
  readonly benchmarks: readonly CalibratedBenchmark[]
  /** Entries left out of the self-test (fewer than MIN_CALIBRATION_RUNS runs since the start). */
  readonly skipped: readonly string[]
  /** Devices whose calibrated runs all fall in one sitting (core's verdict, step 9b). */
  readonly oneSitting: readonly string[]
}

/** Records N runs, then the self-test; exit status 0, or the failing recording's. */
export async function calibrate(options: CalibrateOptions): Promise<{ status: number; calibration?: Calibration }> {
  const runs = options.runs ?? DEFAULT_CALIBRATION_RUNS
  if (!Number.isInteger(runs) || runs < MIN_CALIBRATION_RUNS || runs > 20) {
    throw new RangeError(`calibrate: runs must be an integer from ${MIN_CALIBRATION_RUNS} to 20, got ${runs}`)
  }
  const log = options.log ?? ((line: string) => console.log(line))
  const env = options.env ?? process.env
  let since = options.recordedSince
  if (since === undefined) {
    since = new Date().toISOString()
    for (let run = 1; run <= runs; run++) {
      const mode = run === 1 ? 'replace' : 'add-run'
      log(`\n== calibration run ${run} of ${runs} (GPUBENCH_RECORD=${mode})`)
      const status = await options.runVitest(['bench', '--run', '-u', ...(options.vitestArgs ?? [])], {
        ...env,
        GPUBENCH_RECORD: mode,
      })
      if (status !== 0) {
        log(`== run ${run} failed (exit ${status}); stopping before the self-test`)
        return { status }
      }
    }
  }
  const files = await baselineFiles(options.baselineDir)
  const calibration = selfTest(files, {
    since,
    alpha: options.alpha ?? DEFAULT_RUN_ERROR_RATE,
    tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
  })
  for (const line of calibrationText(calibration)) log(line)
  return { status: 0, calibration }
}

async function baselineFiles(dir: string): Promise<Array<{ id: string; file: BaselineFile }>> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  const out: Array<{ id: string; file: BaselineFile }> = []
  for (const name of names) {
    const id = name.slice(0, -'.json'.length)
    const file = await loadBaseline(dir, id)
    if (file) out.push({ id, file })
  }
  return out
}

interface Calibrated {
  readonly device: string
  readonly benchmark: string
  readonly runs: readonly RunSummary[]
}

/**
 * The A/A self-test of step 2 over baseline files already read: the runs of each entry recorded
 * at or after `since` (at least MIN_CALIBRATION_RUNS of them, all entries the same count N, the
 * most common one), each held out in turn.
 */
export function selfTest(
  files: ReadonlyArray<{ readonly id: string; readonly file: BaselineFile }>,
  settings: { readonly since: string; readonly alpha: number; readonly tolerance: number },
): Calibration {
  const candidates: Calibrated[] = []
  const skipped: string[] = []
  for (const { id, file } of files) {
    for (const [key, entry] of Object.entries(file.entries)) {
      const runs = runsOf(entry).filter((run) => run.recordedAt >= settings.since)
      if (runs.length >= MIN_CALIBRATION_RUNS) candidates.push({ device: id, benchmark: key, runs })
      else if (runs.length > 0) skipped.push(`${id}: '${key}' (${runs.length} run${runs.length === 1 ? '' : 's'})`)
    }
  }
  // Held-out run i must be the same run (the same process) for every benchmark: keep the most common count.
  const counts = new Map<number, number>()
  for (const c of candidates) counts.set(c.runs.length, (counts.get(c.runs.length) ?? 0) + 1)
  const n = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 0
  const calibrated = candidates.filter((c) => c.runs.length === n)
  for (const c of candidates) {
    if (c.runs.length !== n) skipped.push(`${c.device}: '${c.benchmark}' (${c.runs.length} runs, not ${n})`)
  }
  const m = calibrated.length
  const level = singleRegressionLevel(Math.max(1, m), settings.alpha)
  const falseFailures = calibrated.map(() => 0)
  let failedRuns = 0
  for (let held = 0; held < n; held++) {
    const priors = priorsOf(calibrated, held)
    const comparisons = calibrated.map((c) => {
      const others = c.runs.filter((_, i) => i !== held)
      const verdict = compareToBaseline(c.runs[held]!, others.at(-1)!, {
        tolerance: settings.tolerance,
        baselineRuns: others,
        alpha: level,
        runNoisePrior: priors.get(c.device)!.prior,
        sittings: priors.get(c.device)!.sittings,
      })
      return { verdict, group: c.device, enoughSamples: true }
    })
    const judged = judgeRun(comparisons, settings.alpha)
    judged.regressed.forEach((regressed, i) => {
      if (regressed) falseFailures[i]!++
    })
    if (judged.regressed.some(Boolean)) failedRuns++
  }
  const priors = priorsOf(calibrated, -1)
  const benchmarks = calibrated.map((c, i) => {
    const logs = c.runs.map((run) => Math.log(run.medianNs))
    const mean = logs.reduce((a, x) => a + x, 0) / logs.length
    const spread = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (logs.length - 1))
    const latest = c.runs.at(-1)!
    const model = compareToBaseline(latest, latest, {
      tolerance: settings.tolerance,
      baselineRuns: c.runs,
      runNoisePrior: priors.get(c.device)!.prior,
      sittings: priors.get(c.device)!.sittings,
    })
    return {
      device: c.device,
      benchmark: c.benchmark,
      runs: c.runs.length,
      spread,
      falseFailures: falseFailures[i]!,
      detectableRatio: detectableRatio(model, level),
    }
  })
  const oneSitting = [...priors].filter(([, p]) => p.sittings === 1).map(([device]) => device)
  return { runs: n, alpha: settings.alpha, heldOut: m === 0 ? 0 : n, failedRuns, benchmarks, skipped, oneSitting }
}

/** Each file's pooled prior over the calibrated entries and the sittings they span, without run `held` (-1: with every run). */
function priorsOf(calibrated: readonly Calibrated[], held: number) {
  const byDevice = new Map<string, RunSummary[][]>()
  for (const c of calibrated) {
    const list = byDevice.get(c.device) ?? []
    list.push(c.runs.filter((_, i) => i !== held))
    byDevice.set(c.device, list)
  }
  return new Map(
    [...byDevice].map(([device, runs]) => [
      device,
      { prior: deviceRunNoisePrior(runs), sittings: sittingsOf(runs.flat()) },
    ]),
  )
}

/** The report: one row per benchmark, then the self-test's verdict and each device's median detectable slowdown. */
export function calibrationText(c: Calibration): string[] {
  if (c.benchmarks.length === 0) {
    return [`\ngpubench calibrate: no benchmark has ${MIN_CALIBRATION_RUNS} or more runs recorded in this calibration`]
  }
  const grid = formatGrid(
    ['device', 'benchmark', 'runs', 'spread between runs', 'false failures', 'detects'],
    c.benchmarks.map((b) => [
      b.device,
      b.benchmark,
      String(b.runs),
      percentText(b.spread),
      `${b.falseFailures} of ${c.heldOut}`,
      detectsText(b.detectableRatio),
    ]),
  )
  const lines = ['', 'gpubench calibrate', '', ...grid.split('\n').map((line) => `  ${line}`), '']
  lines.push(
    `A/A self-test: ${c.heldOut} runs, each left out and judged against the other ${c.runs - 1} as \`vitest bench\` would (${c.benchmarks.length} comparisons a run, Holm at ${percentText(c.alpha)}): ${c.failedRuns} would have failed.`,
  )
  const devices = [...new Set(c.benchmarks.map((b) => b.device))]
  for (const device of devices) {
    const ratios = c.benchmarks
      .filter((b) => b.device === device)
      .map((b) => b.detectableRatio)
      .sort((a, b) => a - b)
    const median = ratios[Math.floor((ratios.length - 1) / 2)]!
    lines.push(`${device}: detects a slowdown ${detectsText(median)} in one benchmark (median of ${ratios.length})`)
  }
  if (c.failedRuns > 0) {
    lines.push(
      'Some runs of unchanged code would have failed: this runner differs between runs more than its few runs show; record more runs (--runs 10), or raise the tolerance. (The self-test judges each run as measured; a real run measures a regression again after pauses, confirmRegressions, which clears slow spells of seconds, so it fails less often than this.)',
    )
  }
  if (c.oneSitting.length > 0) {
    lines.push(
      `${c.oneSitting.join(', ')}: the runs are of one sitting, so the gate allows for a ${percentText(UNSEEN_SHIFT_SD)} shift between sittings that they cannot show (the detects figures include it); record again on another occasion (gpubench record --add) and the gate learns how much this machine shifts.`,
    )
  }
  if (c.skipped.length > 0) lines.push(`Not in the self-test: ${c.skipped.join('; ')}`)
  return lines
}
