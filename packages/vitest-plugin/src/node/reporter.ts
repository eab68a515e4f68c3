/**
 * The plugin's reporter, in Vitest's main process: collects what each benchmark recorded in its
 * test's meta, carries out the update policy through core's store (only under `-u`), then prints
 * its table and the figures derived from the whole run (FP16 speed-ups, roofline fractions),
 * appends the markdown summary to `$GITHUB_STEP_SUMMARY` and writes the JSON report.
 *
 * Baselines are written here rather than in the workers so that every write of a run goes through
 * one process, after every test has finished, with the whole run's records in view (duplicate
 * names, interrupted runs); the store's writes are atomic, locked and merging.
 *
 * Loaded through Vite's module runner (see node/plugin.ts), as it imports core's runtime.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { updateBaseline } from '@gpubench/core'
import type { Reporter, TestCase, TestModule, TestRunEndReason, Vitest } from 'vitest/node'
import { type ResolvedOptions, recordModeFrom, type UpdateMode } from '../options.ts'
import type { CollectedRecord } from '../record.ts'
import { deriveFigures } from '../report/derived.ts'
import { derivedText } from '../report/derived-text.ts'
import { jsonReport } from '../report/json.ts'
import { formatMarkdown } from '../report/markdown.ts'
import { collapseUnavailable, columnsFor, rowOf, unavailableText, type WriteOutcome } from '../report/rows.ts'
import { formatTable } from '../report/table.ts'
import { currentCommit } from './commit.ts'
import { describeTests, planBaselineWrites, sameNameGroups } from './update-policy.ts'

export interface ReporterSettings {
  readonly options: ResolvedOptions
  readonly root: string
  /** Only this project's tests are reported (each benchmark project has its own reporter). */
  readonly projectName: string
  readonly update: UpdateMode
  readonly env?: NodeJS.ProcessEnv
}

export interface RunSummary {
  readonly collected: readonly CollectedRecord[]
  readonly outcomes: readonly WriteOutcome[]
  readonly errors: readonly string[]
}

export class GpubenchReporter implements Reporter {
  readonly #settings: ReporterSettings
  #vitest: Vitest | undefined
  #collected: CollectedRecord[] = []
  /** The last run's summary, for tests and tools that drive Vitest programmatically. */
  lastRun: RunSummary | undefined

  constructor(settings: ReporterSettings) {
    this.#settings = settings
  }

  get projectName(): string {
    return this.#settings.projectName
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  onTestRunStart(): void {
    this.#collected = []
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
    this.lastRun = { collected, outcomes, errors }
    if (collected.length === 0 && errors.length === 0) return

    const rows = collected.map((c, index) => rowOf(c, outcomes[index]!))
    const derived = deriveFigures(collected)
    const columns = columnsFor(derived.showMean)
    if (options.table) {
      const table = collapseUnavailable(collected, rows)
      this.#log(`\n gpubench\n\n${indent(formatTable(table.rows, columns))}\n`)
      if (table.unavailable.length > 0) this.#log(`${unavailableText(table.unavailable)}\n`)
      const text = derivedText(derived)
      if (text !== '') this.#log(text)
    }
    for (const notice of missingBaselineNotices(collected, outcomes, options.strict)) this.#log(notice)
    if (update === 'none') {
      for (const group of sameNameGroups(collected)) {
        const first = collected[group[0]!]!.record
        this.#log(
          ` gpubench warning: ${group.length} benchmarks are named '${first.key}' on device ${first.status === 'measured' ? first.device.id : ''} (${describeTests(collected, group)}): they compare with one baseline entry; give each a unique name`,
        )
      }
    }
    for (const error of errors) this.#error(error)
    if (errors.length > 0) process.exitCode = 1

    const summaryFile = env.GITHUB_STEP_SUMMARY
    if (options.stepSummary && summaryFile) {
      const totals = {
        measured: collected.filter((c) => c.record.status === 'measured').length,
        skipped: collected.filter((c) => c.record.status === 'skipped').length,
        regressed: collected.filter((c) => c.record.status === 'measured' && c.record.verdict?.kind === 'regressed')
          .length,
        written: outcomes.filter((o) => o.kind === 'written').length,
      }
      await appendFile(summaryFile, formatMarkdown(rows, totals, { columns, derived }))
    }
    if (options.jsonReport) {
      const file = resolve(root, options.jsonReport)
      const report = jsonReport(
        collected.map((c, index) => ({ collected: c, outcome: outcomes[index]! })),
        { createdAt: new Date().toISOString(), update, commit, errors, derived },
      )
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
    }
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
