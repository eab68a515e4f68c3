import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, test, vi } from 'vitest'
import { main } from '../src/cli/commands.ts'
import { MAX_RECORD_RUNS, parseRecordArgs } from '../src/cli/record.ts'
import { CliError, findVitest } from '../src/cli/vitest-process.ts'

const scratch = mkdtempSync(join(tmpdir(), 'gpubench-cli-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

test('record: --runs, --add and vitest arguments after --', () => {
  expect(parseRecordArgs([])).toEqual({ runs: 5, add: false, vitestArgs: [] })
  expect(parseRecordArgs(['--runs', '3', '--', 'suites/matmul', '-t', 'f32'])).toEqual({
    runs: 3,
    add: false,
    vitestArgs: ['suites/matmul', '-t', 'f32'],
  })
  expect(parseRecordArgs(['--runs=7'])).toEqual({ runs: 7, add: false, vitestArgs: [] })
  expect(parseRecordArgs(['--add', '--runs', '2', '--', '--add'])).toEqual({
    runs: 2,
    add: true,
    vitestArgs: ['--add'],
  })
})

test('record: a bad run count or an unknown argument is an error that names it', () => {
  for (const bad of [
    ['--runs'],
    ['--runs', '0'],
    ['--runs', '2.5'],
    ['--runs', ''],
    ['--runs', `${MAX_RECORD_RUNS + 1}`],
  ]) {
    expect(() => parseRecordArgs(bad)).toThrow(CliError)
  }
  expect(() => parseRecordArgs(['--runs', 'x'])).toThrow(/--runs must be an integer from 1 to 20, got "x"/)
  expect(() => parseRecordArgs(['matmul.bench.ts'])).toThrow(/unknown argument "matmul.bench.ts".*after --/)
})

test('the Vitest of the project is found; a folder without one is told what to install', () => {
  expect(findVitest(process.cwd())).toMatch(/vitest[/\\]vitest\.mjs$/)
  expect(() => findVitest(scratch)).toThrow(/vitest is not installed in .*gpubench-cli-/)
})

test('the command line: help, an unknown command, a user mistake as one line with exit 2', async () => {
  const out = vi.spyOn(console, 'log').mockImplementation(() => {})
  const err = vi.spyOn(console, 'error').mockImplementation(() => {})
  expect(await main(['--help'])).toBe(0)
  expect(out.mock.calls.flat().join('\n')).toMatch(/record\s+record this device's baselines/)
  expect(await main([])).toBe(2)
  expect(await main(['recrod'])).toBe(2)
  expect(err.mock.calls.flat().join('\n')).toContain('unknown command "recrod"')
  err.mockClear()
  expect(await main(['record', '--runs', '0'])).toBe(2)
  expect(err.mock.calls.flat()).toEqual(['gpubench record: --runs must be an integer from 1 to 20, got "0"'])
  expect(await main(['record', '--help'])).toBe(0)
})
