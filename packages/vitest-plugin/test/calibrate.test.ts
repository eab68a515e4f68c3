import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BaselineEntry, updateBaseline } from '@gpubench/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { main } from '../src/cli/commands.ts'
import { calibrate } from '../src/node/calibrate.ts'
import { measuredRecord, statsAround } from './records.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const DEVICE = { id: 'cpu-test-2c', backend: 'cpu' as const, name: 'Test CPU (2 cores)', details: {} }

/**
 * A stand-in for `vitest bench --run -u`: each call records one run of 12 benchmarks, each
 * benchmark's median the nominal times `factor(run, benchmark)`, as the plugin's reporter would.
 */
function fakeVitest(dir: string, factor: (run: number, benchmark: number) => number, gapMs = 1) {
  let run = 0
  const calls: Array<{ args: readonly string[]; mode: string | undefined }> = []
  const runVitest = async (args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => {
    calls.push({ args, mode: env.GPUBENCH_RECORD })
    const index = run++
    const entries: Record<string, BaselineEntry> = {}
    for (let b = 0; b < 12; b++) {
      const entry = measuredRecord({ key: `b${b}` }).entry
      const stats = statsAround(1e6 * (1 + b / 10) * factor(index, b), 0.005, 200)
      entries[`b${b}`] = { ...entry, stats, recordedAt: new Date(Date.now() + index * gapMs).toISOString() }
    }
    pending = pending.then(() =>
      updateBaseline(dir, DEVICE, entries, { appendRuns: env.GPUBENCH_RECORD === 'add-run' }),
    )
    await pending
    return 0
  }
  let pending: Promise<unknown> = Promise.resolve()
  return { runVitest, calls }
}

async function calibrated(factor: (run: number, benchmark: number) => number, runs = 5, gapMs = 1) {
  const dir = await mkdtemp(join(tmpdir(), 'gpubench-calibrate-'))
  dirs.push(dir)
  const since = new Date(Date.now() - 1000).toISOString()
  const fake = fakeVitest(dir, factor, gapMs)
  // record (step 1) through the fake, then the self-test over what it wrote
  for (let run = 0; run < runs; run++)
    await fake.runVitest(['bench'], { GPUBENCH_RECORD: run === 0 ? 'replace' : 'add-run' })
  const lines: string[] = []
  const result = await calibrate({
    runs,
    cwd: dir,
    baselineDir: dir,
    runVitest: () => 1,
    recordedSince: since,
    log: (line) => lines.push(line),
  })
  return { ...result, text: lines.join('\n') }
}

describe('gpubench calibrate', () => {
  test('records N runs in separate processes: the first replaces, the others add their run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gpubench-calibrate-'))
    dirs.push(dir)
    const fake = fakeVitest(dir, () => 1)
    const lines: string[] = []
    const { status, calibration } = await calibrate({
      runs: 3,
      cwd: dir,
      baselineDir: dir,
      vitestArgs: ['suites/matmul.bench.ts'],
      runVitest: fake.runVitest,
      log: (line) => lines.push(line),
    })
    expect(status).toBe(0)
    expect(fake.calls).toEqual([
      { args: ['bench', '--run', '-u', 'suites/matmul.bench.ts'], mode: 'replace' },
      { args: ['bench', '--run', '-u', 'suites/matmul.bench.ts'], mode: 'add-run' },
      { args: ['bench', '--run', '-u', 'suites/matmul.bench.ts'], mode: 'add-run' },
    ])
    expect(calibration?.runs).toBe(3)
  })

  test('a quiet runner recorded on separate occasions: no false failure, and small slowdowns detectable', async () => {
    const quiet = (run: number, b: number) => 1 + 0.01 * Math.sin(7 * run + b)
    const { status, calibration, text } = await calibrated(quiet, 5, 3600_000)
    expect(status).toBe(0)
    expect(calibration!.heldOut).toBe(5)
    expect(calibration!.failedRuns).toBe(0)
    expect(calibration!.benchmarks).toHaveLength(12)
    for (const b of calibration!.benchmarks) {
      expect(b.falseFailures).toBe(0)
      expect(b.detectableRatio).toBeLessThan(1.35)
    }
    expect(text).toMatch(
      /A\/A self-test: 5 runs, each left out and judged against the other 4 .*: 0 would have failed\./,
    )
    expect(text).toMatch(/cpu-test-2c: detects a slowdown ≥ \d+% in one benchmark \(median of 12\)/)
    expect(calibration!.oneSitting).toEqual([])
    // the same runs minutes apart, one sitting: they cannot show how the machine shifts between sittings
    const one = await calibrated(quiet, 5, 60_000)
    expect(one.calibration!.oneSitting).toEqual(['cpu-test-2c'])
    expect(one.calibration!.failedRuns).toBe(0)
    for (const [i, b] of one.calibration!.benchmarks.entries()) {
      expect(b.detectableRatio).toBeGreaterThan(calibration!.benchmarks[i]!.detectableRatio)
    }
    expect(one.text).toMatch(
      /cpu-test-2c: the runs are of one sitting, so the gate allows for a 12(\.0)?% shift .*gpubench record --add/,
    )
  })

  test('a runner with one 3x slow spell in one benchmark: the self-test shows the false failure', async () => {
    const { calibration, text } = await calibrated((run, b) =>
      run === 2 && b === 4 ? 3 : 1 + 0.01 * Math.sin(7 * run + b),
    )
    expect(calibration!.failedRuns).toBe(1)
    expect(calibration!.benchmarks.find((b) => b.benchmark === 'b4')?.falseFailures).toBe(1)
    expect(text).toMatch(/1 would have failed/)
    expect(text).toMatch(/record more runs/)
  })

  test('a failed recording stops before the self-test, with its status; fewer than 3 runs are refused', async () => {
    const { status, calibration } = await calibrate({
      runs: 3,
      cwd: '/nonexistent',
      baselineDir: '/nonexistent',
      runVitest: () => 7,
      log: () => {},
    })
    expect(status).toBe(7)
    expect(calibration).toBeUndefined()
    await expect(calibrate({ runs: 2, cwd: '.', baselineDir: '.', runVitest: () => 0 })).rejects.toThrow(
      /runs must be an integer from 3 to 20, got 2/,
    )
  })
})

test('the CLI has the command: help lists it, too few runs is a one-line mistake', async () => {
  const out = vi.spyOn(console, 'log').mockImplementation(() => {})
  const err = vi.spyOn(console, 'error').mockImplementation(() => {})
  try {
    expect(await main(['--help'])).toBe(0)
    expect(out.mock.calls.flat().join('\n')).toMatch(/calibrate\s+record runs, then an A\/A self-test/)
    expect(await main(['calibrate', '--runs', '2'])).toBe(2)
    expect(err.mock.calls.flat()).toEqual([
      'gpubench calibrate: --runs must be at least 3 for the self-test (one run left out, two to compare with)',
    ])
    expect(await main(['calibrate', '--help'])).toBe(0)
    expect(out.mock.calls.flat().join('\n')).toMatch(/default\s+5, 3 to 20/)
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
})
