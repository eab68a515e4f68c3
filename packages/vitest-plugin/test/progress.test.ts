import { afterEach, expect, test, vi } from 'vitest'
import type { TestCase, TestModule } from 'vitest/node'
import { clockText, ProgressReporter, progressText, wantsProgress } from '../src/node/progress.ts'

afterEach(() => vi.restoreAllMocks())

test('the line: tests done of collected, elapsed, and the time left at the pace so far', () => {
  expect(clockText(0)).toBe('0:00')
  expect(clockText(83_400)).toBe('1:23')
  expect(clockText(3_723_000)).toBe('1:02:03')
  expect(progressText(0, 40, 5_000)).toBe('gpubench: test 0 of 40, 0:05 elapsed')
  // 10 tests in 60 s: 6 s a test, 30 left.
  expect(progressText(10, 40, 60_000)).toBe('gpubench: test 10 of 40, 1:00 elapsed, about 3:00 left')
})

test('only in an interactive terminal outside CI', () => {
  expect(wantsProgress({}, true)).toBe(true)
  expect(wantsProgress({ CI: 'true' }, true)).toBe(false)
  expect(wantsProgress({ CI: 'false' }, true)).toBe(true)
  expect(wantsProgress({}, false)).toBe(false)
  expect(wantsProgress({}, undefined)).toBe(false)
})

test('the reporter prints at most one line per interval, for its own project, none after the last test', () => {
  let now = 0
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line))
  const reporter = new ProgressReporter({ projectName: 'bench', intervalMs: 10_000, now: () => now })
  const project = (name: string) => ({ name })
  const module = (name: string, tests: number) =>
    ({
      project: project(name),
      children: { allTests: () => Array.from({ length: tests }).values() },
    }) as unknown as TestModule
  const testCase = (name: string) => ({ project: project(name) }) as unknown as TestCase
  reporter.onTestRunStart()
  reporter.onTestModuleCollected(module('bench', 3))
  reporter.onTestModuleCollected(module('unit', 50))
  reporter.onTestModuleCollected(module('bench', 1))
  now = 4_000
  reporter.onTestCaseResult(testCase('bench')) // within the interval: silent
  now = 12_000
  reporter.onTestCaseResult(testCase('unit')) // another project: not counted
  reporter.onTestCaseResult(testCase('bench'))
  now = 14_000
  reporter.onTestCaseResult(testCase('bench')) // within the interval again
  now = 40_000
  reporter.onTestCaseResult(testCase('bench')) // the last: the run's own summary follows
  expect(lines).toEqual(['gpubench: test 2 of 4, 0:12 elapsed, about 0:12 left'])
})
