/**
 * The gate, end to end, on the real suite: `vitest bench` over suites/matmul.bench.ts (first
 * quick shape, f32, CPU backend) exits 0 against a baseline it recorded (three runs, in separate
 * processes), and exits 1 once the kernel does twice the work, leaving the baseline file byte for byte as it was.
 *
 * The slowing is a fixture (test/fixtures/slowed-kernel): Vite's `resolve.alias` swaps
 * `@gpubench/native` for a module that re-exports the real package with a CPU backend whose
 * samples each time `SLOWED_KERNEL_FACTOR` real executions. The product has no such knob.
 *
 * Vitest runs as a child process on the workspace's Node (node_modules/.bin/vitest), with a
 * temporary baseline folder and JSON report.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { MeasuredRecord } from '../src/record.ts'
import type { JsonReport } from '../src/report/json.ts'
import { sumGroups } from './fixtures/slowed-kernel/native-slowed.ts'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = resolve(here, '..', '..', '..')
const CONFIG = join(here, 'fixtures', 'slowed-kernel', 'vitest.config.ts')
const BENCH = 'matmul/quick/gemm 8x256x256x256 f32'
/** The test of that benchmark in suites/matmul.bench.ts (`describe('matmul')`, test `8x256x256x256 f32`), as a `-t` pattern. */
const TEST_PATTERN = '^matmul\\W+8x256x256x256 f32$'
const RUN_TIMEOUT_MS = 120_000

interface Run {
  code: number | null
  output: string
  report: JsonReport
}

let dir: string
let baselines: string
let recordRun: Run

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|GPUBENCH_|GITHUB_|SLOWED_)/.test(key) || key === 'TEST' || key === 'NODE_ENV' || key === 'CI')
      continue
    env[key] = value
  }
  return {
    ...env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    XDG_RUNTIME_DIR: tmpdir(),
    GPUBENCH_PRESET: 'quick',
    GPUBENCH_FIXTURE_BASELINES: baselines,
    GPUBENCH_FIXTURE_REPORT: join(dir, 'report.json'),
    ...extra,
  }
}

async function vitestBench(factor: 1 | 2, args: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const cli = join(WORKSPACE, 'node_modules', '.bin', 'vitest')
  const argv = ['bench', '--run', '--config', CONFIG, '-t', TEST_PATTERN, ...args]
  await rm(join(dir, 'report.json'), { force: true })
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
    const child = spawn(cli, argv, { cwd: WORKSPACE, env: childEnv({ SLOWED_KERNEL_FACTOR: String(factor), ...env }) })
    let text = ''
    child.stdout.on('data', (chunk) => {
      text += chunk
    })
    child.stderr.on('data', (chunk) => {
      text += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.on('error', fail)
    child.on('close', (exitCode) => {
      clearTimeout(timer)
      done({ code: exitCode, output: stripVTControlCharacters(text) })
    })
  })
  let report: JsonReport
  try {
    report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReport
  } catch (error) {
    throw new Error(`vitest bench (exit ${code}) left no readable JSON report: ${(error as Error).message}\n${output}`)
  }
  return { code, output, report }
}

/** The CPU record of the one benchmark in a run's JSON report. */
function cpuRecord(run: Run): MeasuredRecord {
  const measured = run.report.benchmarks
    .map((b) => b.record)
    .filter((r): r is MeasuredRecord => r.status === 'measured')
  expect(
    measured.map((r) => [r.key, r.backend]),
    run.output,
  ).toEqual([[BENCH, 'cpu']])
  return measured[0]!
}

async function baselineFile(): Promise<{ file: string; bytes: string }> {
  const names = await readdir(baselines)
  expect(names).toHaveLength(1)
  const file = join(baselines, names[0]!)
  return { file, bytes: await readFile(file, 'utf8') }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gpubench-slowed-'))
  baselines = join(dir, 'baselines')
  recordRun = await vitestBench(1, ['-u'])
  // Two more runs, each in its own process, so the verdict has the spread between runs (a
  // one-run baseline stands on its prior alone, see README "The gate").
  for (let i = 0; i < 2; i++) {
    const added = await vitestBench(1, ['-u'], { GPUBENCH_RECORD: 'add-run' })
    if (added.code !== 0) throw new Error(`recording an added run failed (exit ${added.code}):\n${added.output}`)
  }
}, 3 * RUN_TIMEOUT_MS)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('the fixture sums consecutive groups of real durations', () => {
  expect(sumGroups([1, 2, 3, 4], 2)).toEqual([3, 7])
  expect(sumGroups([5, 6], 1)).toEqual([5, 6])
  expect(() => sumGroups([1, 2, 3], 2)).toThrow(/3 durations cannot be grouped by 2/)
})

test('a. unslowed, -u: the real suite records the CPU baseline through the aliased package, exit 0', async () => {
  expect(recordRun.code, recordRun.output).toBe(0)
  const record = cpuRecord(recordRun)
  // The note proves the registry's dynamic import of @gpubench/native reached the fixture module.
  expect(record.notes).toContain('slowed-kernel fixture: each sample is 1 execution(s) of the real kernel')
  expect(recordRun.report.benchmarks.find((b) => b.record.status === 'measured')?.baselineWrite.kind).toBe('written')
  const { bytes } = await baselineFile()
  expect(JSON.parse(bytes).entries[BENCH].runs).toHaveLength(3)
  // Only the CPU backend ran; the others are listed with the reason.
  const skipped = recordRun.report.benchmarks.filter((b) => b.record.status === 'skipped')
  expect(skipped.map((b) => b.record.backend).sort()).toEqual(['cuda', 'metal', 'webgpu'])
}, 10_000)

test('b. unslowed again, without -u: exit 0, baseline unchanged', {
  timeout: 3 * RUN_TIMEOUT_MS,
  retry: 2,
}, async () => {
  const before = await baselineFile()
  const run = await vitestBench(1)
  expect(run.code, run.output).toBe(0)
  const record = cpuRecord(run)
  expect(record.verdict?.kind).not.toBe('regressed')
  expect(record.baseline.state).toBe('found')
  expect((await baselineFile()).bytes).toBe(before.bytes)
})

/**
 * Whether a 2x slowdown is within what this run can resolve: the verdict's detectable slowdown
 * (caught 80% of the time at the run's error level) at most 1.8x, where 2x is caught nearly
 * always. A quiet machine gives about 1.6x against this one-sitting baseline (the unseen shift
 * between sittings, 12%, is in the model). On a machine busy with other work the run's own
 * interval can widen until 2x is out of reach (seen: detects >= 10.9x while a benchmark run
 * shared the two cores); then the gate must say `slower`, not fail the run.
 */
const RESOLVES_2X = 1.8

test('c. slowed (twice the work per sample), without -u: exit 1 naming the benchmark, both figures and the device; baseline unchanged', {
  timeout: 3 * RUN_TIMEOUT_MS,
  retry: 2,
}, async () => {
  const before = await baselineFile()
  const baselineEntry = JSON.parse(before.bytes).entries[BENCH]
  const run = await vitestBench(2)
  const record = cpuRecord(run)
  expect(record.notes, run.output).toContain('slowed-kernel fixture: each sample is 2 execution(s) of the real kernel')
  expect((await baselineFile()).bytes).toBe(before.bytes)
  const detectable = record.verdict!.detectableRatio
  expect(detectable, run.output).toBeGreaterThan(1)
  if (detectable! <= RESOLVES_2X) {
    // Twice the work: about twice the time, where the run resolves it. On a machine whose cores
    // are both taken by other work, the 2-thread GEMM read 0.97x to 11x of its baseline, with
    // intervals spanning 10x: such a run says it detects nothing (detects >= 300x), and the
    // branch below only asks it not to fail.
    expect(record.verdict!.ratio, run.output).toBeGreaterThan(1.4)
    expect(record.verdict!.ratio).toBeLessThan(3.5)
  }
  if (record.verdict?.kind !== 'regressed') {
    // Missed only where the run could not resolve 2x at its error rate; then never a failure, and
    // never 'same' or 'faster'.
    console.log(
      `slowed-kernel: the run detects only >= ${detectable!.toFixed(2)}x here; 2x read '${record.verdict?.kind}'`,
    )
    expect(detectable, run.output).toBeGreaterThan(RESOLVES_2X)
    expect(run.code, run.output).toBe(0)
    expect(['slower', 'inconclusive']).toContain(record.verdict?.kind)
    return
  }
  expect(run.code, run.output).toBe(1)
  expect(record.verdict?.kind).toBe('regressed')
  expect(run.output).toContain(`'${BENCH}' on ${record.device.id} (cpu,`)
  expect(run.output).toContain('regressed against its baseline')
  expect(run.output).toMatch(/now: +median [\d.]+ ms \[95% CI [\d.]+ ms – [\d.]+ ms\], n = \d+/)
  expect(run.output).toMatch(/baseline: +median [\d.]+ ms \[95% CI [\d.]+ ms – [\d.]+ ms\], n = \d+/)
  expect(run.output).toContain(`recorded ${baselineEntry.recordedAt}`)
  expect(run.output).toContain(before.file)
})
