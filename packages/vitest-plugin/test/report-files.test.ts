import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import type { TestCase } from 'vitest/node'
import { reportFileProblem, reportFiles, writeReportFile } from '../src/node/report-files.ts'
import { GpubenchReporter } from '../src/node/reporter.ts'
import { resolveOptions } from '../src/options.ts'
import { measuredRecord } from './records.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gpubench-reports-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const asRoot = process.getuid?.() === 0

describe('report files: checked before the run, each problem one line naming the option and the path', () => {
  test('reportFiles reads the jsonReport option and $GITHUB_STEP_SUMMARY, relative to the root', () => {
    const options = { jsonReport: 'out/report.json', stepSummary: true }
    expect(reportFiles(options, dir, { GITHUB_STEP_SUMMARY: 'summary.md' })).toEqual([
      { source: 'jsonReport', file: path.join(dir, 'out/report.json'), how: 'write' },
      { source: '$GITHUB_STEP_SUMMARY', file: path.join(dir, 'summary.md'), how: 'append' },
    ])
    expect(reportFiles({ jsonReport: null, stepSummary: false }, dir, { GITHUB_STEP_SUMMARY: 'x' })).toEqual([])
  })

  test('a writable path, new or existing, and a JSON report in folders still to be made, are fine', async () => {
    await writeFile(path.join(dir, 'old.md'), '')
    expect(
      await reportFileProblem({ source: 'jsonReport', file: path.join(dir, 'a/b/report.json'), how: 'write' }),
    ).toBe(null)
    expect(
      await reportFileProblem({ source: '$GITHUB_STEP_SUMMARY', file: path.join(dir, 'old.md'), how: 'append' }),
    ).toBe(null)
  })

  test('a directory, a missing folder to append in, a file in place of a folder', async () => {
    await mkdir(path.join(dir, 'taken'))
    await writeFile(path.join(dir, 'plain'), '')
    expect(await reportFileProblem({ source: 'jsonReport', file: path.join(dir, 'taken'), how: 'write' })).toBe(
      `gpubench: jsonReport ${JSON.stringify(path.join(dir, 'taken'))} is a directory; give the path of a file`,
    )
    expect(
      await reportFileProblem({ source: '$GITHUB_STEP_SUMMARY', file: path.join(dir, 'nowhere/s.md'), how: 'append' }),
    ).toBe(
      `gpubench: $GITHUB_STEP_SUMMARY ${JSON.stringify(path.join(dir, 'nowhere/s.md'))}: its folder ${JSON.stringify(path.join(dir, 'nowhere'))} does not exist`,
    )
    expect(
      await reportFileProblem({ source: 'jsonReport', file: path.join(dir, 'plain/r.json'), how: 'write' }),
    ).toMatch(/is not a folder, so the file cannot be created$/)
  })

  test.skipIf(asRoot || process.platform === 'win32')('a folder without write permission', async () => {
    await mkdir(path.join(dir, 'locked'))
    await chmod(path.join(dir, 'locked'), 0o555)
    expect(
      await reportFileProblem({ source: 'jsonReport', file: path.join(dir, 'locked/r.json'), how: 'write' }),
    ).toMatch(/the folder .*locked" is not writable$/)
  })

  test('writeReportFile returns the failure as a line instead of throwing', async () => {
    await mkdir(path.join(dir, 'taken'))
    const problem = await writeReportFile({ source: 'jsonReport', file: path.join(dir, 'taken'), how: 'write' }, '{}')
    expect(problem).toMatch(/^gpubench: could not write jsonReport ".*taken": EISDIR/)
    const ok = await writeReportFile({ source: 'jsonReport', file: path.join(dir, 'x/y.json'), how: 'write' }, '{}\n')
    expect(ok).toBeNull()
    expect(await readFile(path.join(dir, 'x/y.json'), 'utf8')).toBe('{}\n')
  })
})

describe('the reporter with unwritable report paths', () => {
  test('names them when the run starts, and at its end fails the run with a line, no stack', async () => {
    await mkdir(path.join(dir, 'taken'))
    const errors: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((text: unknown) => {
      errors.push(String(text))
    })
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const exitCode = process.exitCode
    try {
      const reporter = new GpubenchReporter({
        options: resolveOptions({ jsonReport: 'taken', table: false }),
        root: dir,
        projectName: 'p',
        update: 'none',
        env: { GITHUB_STEP_SUMMARY: path.join(dir, 'missing/summary.md') },
      })
      await reporter.onTestRunStart()
      expect(errors).toEqual([
        expect.stringMatching(/^gpubench: jsonReport ".*taken" is a directory/),
        expect.stringMatching(/^gpubench: \$GITHUB_STEP_SUMMARY ".*summary.md": its folder .* does not exist$/),
      ])
      expect(process.exitCode).toBe(1)
      process.exitCode = 0
      errors.length = 0
      const testCase = {
        meta: () => ({ gpubench: { records: [measuredRecord()] } }),
        project: { name: 'p' },
        module: { moduleId: path.join(dir, 'a.bench.ts') },
        result: () => ({ state: 'passed' }),
        fullName: 'busy-loop',
      } as unknown as TestCase
      reporter.onTestCaseResult(testCase)
      await reporter.onTestRunEnd([], [], 'passed')
      expect(errors.filter((e) => e.startsWith('gpubench: could not'))).toEqual([
        expect.stringMatching(/^gpubench: could not append \$GITHUB_STEP_SUMMARY ".*summary.md": ENOENT/),
        expect.stringMatching(/^gpubench: could not write jsonReport ".*taken": EISDIR/),
      ])
      for (const line of errors) expect(line).not.toMatch(/\n\s+at /)
      expect(process.exitCode).toBe(1)
    } finally {
      spy.mockRestore()
      vi.restoreAllMocks()
      process.exitCode = exitCode
    }
  })
})
