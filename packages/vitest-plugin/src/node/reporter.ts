/**
 * The plugin's reporter, in Vitest's main process: collects what each benchmark recorded in its
 * test's meta, carries out the update policy through core's store (only under `-u`), then prints
 * its table and the figures derived from the whole run (FP16 speed-ups, roofline fractions),
 * appends the markdown summary to `$GITHUB_STEP_SUMMARY` and writes the JSON report.
 *
 * It also makes the run's decision on regressions (run-gate.ts): only here is every comparison
 * of the run in view, so only here can the chance of a false `regressed` be held per run. A
 * regression that stands is printed with its figures and sets the exit code to 1 (Vitest keeps a
 * non-zero `process.exitCode`), unless `-u` is rewriting the baselines.
 *
 * Baselines are written here rather than in the workers so that every write of a run goes through
 * one process, after every test has finished, with the whole run's records in view (duplicate
 * names, interrupted runs); the store's writes are atomic, locked and merging.
 *
 * Loaded through Vite's module runner (see node/plugin.ts), as it imports core's runtime.
 */
import { readdir } from 'node:fs/promises'
import { relative, resolve } from 'node:path'
import { machineLoadNote, updateBaseline } from '@gpubench/core'
import type { Reporter, TestCase, TestModule, TestRunEndReason, Vitest } from 'vitest/node'
import { type ResolvedOptions, recordModeFrom, type UpdateMode } from '../options.ts'
import type { CollectedRecord } from '../record.ts'
import { deriveFigures } from '../report/derived.ts'
import { derivedText } from '../report/derived-text.ts'
import { comparisonDetails, confirmationLine } from '../report/figures.ts'
import { jsonReport } from '../report/json.ts'
import { formatMarkdown } from '../report/markdown.ts'
import { collapseUnavailable, columnsFor, rowOf, unavailableText, type WriteOutcome } from '../report/rows.ts'
import { formatTable } from '../report/table.ts'
import { currentCommit } from './commit.ts'
import { type ReportFile, reportFileProblems, reportFiles, writeReportFile } from './report-files.ts'
import { decideRun, gateLines, type RunGate } from './run-gate.ts'
import { describeTests, planBaselineWrites, sameNameGroups } from './update-policy.ts'

export interface ReporterSettings {
  readonly options: ResolvedOptions
  readonly root: string
  /** Only this project's tests are reported (each benchmark project has its own reporter). */
  readonly projectName: string
  readonly update: UpdateMode
  readonly env?: NodeJS.ProcessEnv
}

/** What the reporter concluded of one run (not a baseline run, core's RunSummary). */
export interface ReporterRun {
  readonly collected: readonly CollectedRecord[]
  readonly outcomes: readonly WriteOutcome[]
  readonly errors: readonly string[]
  /** The run's decision on regressions (see run-gate.ts). */
  readonly gate: RunGate
  /** The regressions that failed the run, as printed. */
  readonly failures: readonly string[]
}

export class GpubenchReporter implements Reporter {
  readonly #settings: ReporterSettings
  #vitest: Vitest | undefined
  #collected: CollectedRecord[] = []
  /** The last run's summary, for tests and tools that drive Vitest programmatically. */
  lastRun: ReporterRun | undefined

  constructor(settings: ReporterSettings) {
    this.#settings = settings
  }

  get projectName(): string {
    return this.#settings.projectName
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  async onTestRunStart(): Promise<void> {
    this.#collected = []
    // Report paths are the user's: a bad one is said now, before the run, not as a stack at its end.
    const { options, root } = this.#settings
    const problems = await reportFileProblems(reportFiles(options, root, this.#settings.env ?? process.env))
    for (const problem of problems) this.#error(problem)
    if (problems.length > 0) process.exitCode = 1
  }

  onTestCaseResult(testCase: TestCase): void {
    const meta = testCase.meta().gpubench
    if (!meta || testCase.project.name !== this.#settings.projectName) return
    const module = relative(this.#settings.root, testCase.module.moduleId)
    const testState = testCase.result().state
    for (const record of meta.records) {
      this.#collected.push({ record, module, test: testCase.fullName, testState })
    }
  }

  #log(text: string): void {
    if (this.#vitest) this.#vitest.logger.log(text)
    else console.log(text)
  }

  #error(text: string): void {
    if (this.#vitest) this.#vitest.logger.error(text)
    else console.error(text)
  }

  async onTestRunEnd(
    _modules: ReadonlyArray<TestModule>,
    _errors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): Promise<void> {
    const { options, root, update } = this.#settings
    const env = this.#settings.env ?? process.env
    const collected = this.#collected
    const errors: string[] = []
    const commit = update === 'none' ? null : await currentCommit(root, env)
    let appendRuns = false
    let recordModeValid = true
    try {
      appendRuns = recordModeFrom(env) === 'add-run'
    } catch (error) {
      recordModeValid = false
      errors.push(`gpubench: ${(error as Error).message}`)
    }
    // A bad GPUBENCH_RECORD writes nothing: the user asked for something this run cannot do.
    const plan = planBaselineWrites(collected, recordModeValid ? update : 'none', reason, commit)
    if (appendRuns && update === 'none') {
      this.#log(' gpubench notice: GPUBENCH_RECORD=add-run only applies with -u; nothing was written')
    }
    const outcomes = plan.outcomes
    for (const write of plan.writes) {
      try {
        await updateBaseline(write.dir, write.device, write.entries, { appendRuns })
      } catch (error) {
        const message = `gpubench: could not write the baseline of device ${write.deviceId}: ${(error as Error).message}`
        errors.push(message)
        for (const index of write.sources) outcomes[index] = { kind: 'refused', reason: (error as Error).message }
      }
    }
    outcomes.forEach((outcome, index) => {
      if (outcome.kind !== 'refused') return
      const c = collected[index]!
      errors.push(`gpubench: baseline of '${c.record.key}' not written: ${outcome.reason}`)
    })
    // The run's decision on regressions, over every comparison of the run (run-gate.ts).
    const written = new Set(outcomes.flatMap((o, i) => (o.kind === 'written' ? [i] : [])))
    const gate = decideRun(collected, {
      alpha: options.runErrorRate,
      ci: isCi(env),
      baselineDevices: await baselineDevicesIn(resolve(root, options.baselineDir)),
      written,
    })
    gate.verdicts.forEach((verdict, index) => {
      const { record } = collected[index]!
      if (record.status === 'measured') record.verdict = verdict
    })
    // Under -u the baselines are being rewritten: a regression is shown, not failed.
    const failures =
      update === 'all'
        ? []
        : gate.regressions.map((index) => {
            const { record } = collected[index]!
            if (record.status !== 'measured' || record.baseline.state !== 'found' || !record.verdict) return ''
            const details = comparisonDetails(
              {
                stats: record.entry.stats,
                flopPerSecond: record.entry.flopPerSecond,
                bytesPerSecond: record.entry.bytesPerSecond,
              },
              record.baseline,
              record.verdict,
            )
            const more = [
              confirmationLine(record.confirmations, record.verdict.ratio),
              machineLoadNote(record.machineLoad ?? null),
            ].filter((line) => line !== null)
            return `gpubench: '${record.key}' on ${record.device.id} (${record.backend}, ${record.device.name}) regressed against its baseline\n${details}${more.map((line) => `\n  ${line}`).join('')}`
          })
    this.lastRun = { collected, outcomes, errors, gate, failures }
    if (collected.length === 0 && errors.length === 0) return

    const notGated = new Set(gate.notGated.map((n) => n.device))
    const rows = collected.map((c, index) =>
      rowOf(c, outcomes[index]!, c.record.status === 'measured' && notGated.has(c.record.device.id)),
    )
    const derived = deriveFigures(collected)
    const columns = columnsFor(derived.showMean)
    const gateText = gateLines(gate)
    if (options.table) {
      const table = collapseUnavailable(collected, rows)
      this.#log(`\n gpubench\n\n${indent(formatTable(table.rows, columns))}\n`)
      if (table.unavailable.length > 0) this.#log(`${unavailableText(table.unavailable)}\n`)
      if (gateText.length > 0) this.#log(`${gateText.map((line) => ` ${line}`).join('\n')}\n`)
      const text = derivedText(derived)
      if (text !== '') this.#log(text)
    }
    // In CI the not-gated lines say it; locally a notice per device.
    if (!isCi(env)) for (const notice of missingBaselineNotices(collected, outcomes, options.strict)) this.#log(notice)
    if (update === 'none') {
      for (const group of sameNameGroups(collected)) {
        const first = collected[group[0]!]!.record
        this.#log(
          ` gpubench warning: ${group.length} benchmarks are named '${first.key}' on device ${first.status === 'measured' ? first.device.id : ''} (${describeTests(collected, group)}): they compare with one baseline entry; give each a unique name`,
        )
      }
    }
    for (const failure of failures) this.#error(failure)
    for (const error of errors) this.#error(error)
    if (errors.length > 0 || failures.length > 0) process.exitCode = 1

    const files = reportFiles(options, root, env)
    const summaryFile = files.find((f) => f.how === 'append')
    const jsonFile = files.find((f) => f.how === 'write')
    const wrote = async (file: ReportFile, text: string): Promise<void> => {
      const problem = await writeReportFile(file, text)
      if (problem === null) return
      this.#error(problem)
      process.exitCode = 1
    }
    if (summaryFile) {
      const totals = {
        measured: collected.filter((c) => c.record.status === 'measured').length,
        skipped: collected.filter((c) => c.record.status === 'skipped').length,
        regressed: gate.regressions.length,
        written: outcomes.filter((o) => o.kind === 'written').length,
      }
      await wrote(summaryFile, formatMarkdown(rows, totals, { columns, derived, gate: gateText }))
    }
    if (jsonFile || options.htmlReport) {
      const report = jsonReport(
        collected.map((c, index) => ({ collected: c, outcome: outcomes[index]! })),
        {
          createdAt: new Date().toISOString(),
          update,
          commit,
          errors,
          derived,
          gate: {
            alpha: gate.alpha,
            comparisons: gate.comparisons,
            regressed: gate.regressions.map((index) => {
              const { record } = collected[index]!
              return { benchmark: record.key, device: record.status === 'measured' ? record.device.id : '' }
            }),
            devices: gate.devices,
            notGated: gate.notGated,
          },
        },
      )
      if (jsonFile) await wrote(jsonFile, `${JSON.stringify(report, null, 2)}\n`)
      if (options.htmlReport) {
        // Loaded only when asked for: the chart libraries are not needed otherwise.
        const html = await import('../report/html/run-report.ts')
        const write = (file: string, text: string) =>
          writeReportFile({ source: 'htmlReport', file, how: 'write' }, text)
        for (const problem of await html.writeRunReport(report, resolve(root, options.htmlReport), write)) {
          this.#error(problem)
          process.exitCode = 1
        }
      }
    }
  }
}

/** `CI` set to anything but '', 'false' or '0', as CI services set it. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = (env.CI ?? '').trim().toLowerCase()
  return value !== '' && value !== 'false' && value !== '0'
}

/** Device ids with a baseline file in the folder (none when it does not exist). */
async function baselineDevicesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .sort()
  } catch {
    return []
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `   ${line}`)
    .join('\n')
}

/** One notice per device with benchmarks that ran without a baseline and were not recorded now. */
export function missingBaselineNotices(
  collected: readonly CollectedRecord[],
  outcomes: readonly WriteOutcome[],
  strict: boolean,
): string[] {
  const byDevice = new Map<string, { file: string; keys: string[] }>()
  collected.forEach(({ record }, index) => {
    if (record.status !== 'measured' || record.baseline.state !== 'missing') return
    if (outcomes[index]?.kind === 'written') return
    const slot = byDevice.get(record.device.id) ?? { file: record.baseline.file, keys: [] }
    slot.keys.push(record.key)
    byDevice.set(record.device.id, slot)
  })
  return [...byDevice].map(
    ([deviceId, { file, keys }]) =>
      ` gpubench notice: no baseline on device ${deviceId} for ${keys.map((k) => `'${k}'`).join(', ')} (${file}): ` +
      `run \`vitest bench -u\` on this device to record ${keys.length === 1 ? 'it' : 'them'}` +
      (strict
        ? `; strict mode fails ${keys.length === 1 ? 'it' : 'them'}`
        : `; ${keys.length === 1 ? 'it passes' : 'they pass'} without comparison (strict: false)`),
  )
}
