/**
 * A progress line for long benchmark runs in an interactive terminal: tests done of those
 * collected so far, time elapsed and a rough estimate of what is left (elapsed per finished test,
 * times the tests left), at most one line every `intervalMs`. Printed through Vitest's logger, so
 * it sits among Vitest's own output instead of fighting its live summary. Off in CI and when
 * standard output is not a terminal: logs keep only what the run found.
 *
 * Node loads this module with the config (node/plugin.ts), so it imports nothing at run time.
 */
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node'

/** `m:ss`, or `h:mm:ss` from an hour. */
export function clockText(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** The line: `gpubench: test 12 of 40, 1:23 elapsed, about 4:37 left`; no estimate before the first test ends. */
export function progressText(done: number, total: number, elapsedMs: number): string {
  const left = done > 0 && total > done ? `, about ${clockText((elapsedMs / done) * (total - done))} left` : ''
  return `gpubench: test ${done} of ${total}, ${clockText(elapsedMs)} elapsed${left}`
}

export interface ProgressSettings {
  readonly projectName: string
  readonly intervalMs?: number
  readonly now?: () => number
}

export class ProgressReporter implements Reporter {
  readonly #projectName: string
  readonly #intervalMs: number
  readonly #now: () => number
  #vitest: Vitest | undefined
  #start = 0
  #lastPrint = 0
  #done = 0
  #total = 0

  constructor(settings: ProgressSettings) {
    this.#projectName = settings.projectName
    this.#intervalMs = settings.intervalMs ?? 10_000
    this.#now = settings.now ?? Date.now
  }

  get projectName(): string {
    return this.#projectName
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  onTestRunStart(): void {
    this.#start = this.#now()
    this.#lastPrint = this.#start
    this.#done = 0
    this.#total = 0
  }

  onTestModuleCollected(module: TestModule): void {
    if (module.project.name !== this.#projectName) return
    this.#total += [...module.children.allTests()].length
  }

  onTestCaseResult(testCase: TestCase): void {
    if (testCase.project.name !== this.#projectName) return
    this.#done++
    const now = this.#now()
    if (now - this.#lastPrint < this.#intervalMs || this.#done >= this.#total) return
    this.#lastPrint = now
    const line = progressText(this.#done, this.#total, now - this.#start)
    if (this.#vitest) this.#vitest.logger.log(line)
    else console.log(line)
  }
}

/** Whether to show progress: an interactive terminal, not CI. */
export function wantsProgress(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  const ci = (env.CI ?? '').trim().toLowerCase()
  return isTTY === true && (ci === '' || ci === 'false' || ci === '0')
}
