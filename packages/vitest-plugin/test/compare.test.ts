/**
 * `gpubench compare`: the paired decision, the pieces around it, and the command end to end on a
 * temporary git repository made from test/fixtures/compare-project (a host function whose work a
 * head commit doubles).
 *
 * The fixture's dependencies are links to this workspace's packages, made by the test for the
 * head and by `--install-command` for the base checkout (no registry is reached): the install
 * step is the user's package manager in real use, and only its command differs here.
 */
import { execFileSync, spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { compareExitCode, parseCompareArgs } from '../src/cli/compare.ts'
import { compareCacheDir, detectInstallCommand } from '../src/compare/base.ts'
import { look, lookSchedule, pairedFigures } from '../src/compare/decision.ts'
import type { CompareResult } from '../src/compare/output.ts'
import {
  cpuNumbers,
  cpuSets,
  cpuTimes,
  mediansOf,
  type ProcessRun,
  type ProcessSpec,
  processEnv,
} from '../src/compare/process.ts'
import { compareLoop } from '../src/compare/run.ts'
import { resolveOptions } from '../src/options.ts'
import type { JsonReport } from '../src/report/json.ts'

const here = dirname(fileURLToPath(import.meta.url))
const PLUGIN_DIR = resolve(here, '..')
const CORE_DIR = resolve(here, '..', '..', 'core')
const FIXTURE = join(here, 'fixtures', 'compare-project')
const MAIN = join(PLUGIN_DIR, 'src', 'cli', 'main.ts')
const BENCH = 'lcg walk [host]'

describe('the paired decision', () => {
  test('looks double from 4 up to the most pairs, which is always a look', () => {
    expect(lookSchedule(16)).toEqual([4, 8, 16])
    expect(lookSchedule(12)).toEqual([4, 8, 12])
    expect(lookSchedule(4)).toEqual([4])
    expect(lookSchedule(3)).toEqual([3])
    expect(() => lookSchedule(1)).toThrow(/maxPairs/)
  })

  const noisy = (center: number, n: number, spread = 0.03) =>
    Array.from({ length: n }, (_, i) => center + spread * Math.sin(1 + 2.3 * i))

  test('a doubling in 4 noisy pairs is regressed; the same code is same; the level splits over the looks', () => {
    const decisions = look(
      new Map([
        ['slow', noisy(Math.log(2), 4)],
        ['equal', noisy(0, 4, 0.01)],
      ]),
      { alpha: 0.01, tolerance: 0.1, looks: 1 },
    )
    expect(decisions.get('slow')).toMatchObject({ verdict: 'regressed', pairs: 4, decidedAt: 4 })
    expect(decisions.get('slow')!.ratio).toBeCloseTo(2, 1)
    expect(decisions.get('equal')).toMatchObject({ verdict: 'same' })
    // The interval is at alpha / looks on each side: more looks planned, a wider interval.
    const one = pairedFigures(noisy(0, 8), 0.01, 0.1)
    const three = pairedFigures(noisy(0, 8), 0.01 / 3, 0.1)
    expect(three.ratioHigh!).toBeGreaterThan(one.ratioHigh!)
    expect(three.detectableRatio!).toBeGreaterThan(one.detectableRatio!)
  })

  test('a slowdown within the tolerance never reads regressed, however sure; a noisy benchmark stays inconclusive', () => {
    const decisions = look(
      new Map([
        ['within', noisy(Math.log(1.04), 16, 0.001)],
        ['noisy', noisy(Math.log(1.3), 4, 0.5)],
        ['faster', noisy(Math.log(0.5), 4)],
      ]),
      { alpha: 0.01, tolerance: 0.05, looks: 3 },
    )
    expect(decisions.get('within')!.verdict).toBe('same')
    expect(decisions.get('noisy')).toMatchObject({ verdict: 'inconclusive', decidedAt: null })
    expect(decisions.get('faster')!.verdict).toBe('improved')
  })

  test('Holm over the benchmarks: one regression among many needs more than one alone', () => {
    // A p-value between alpha / 20 and alpha: rejected alone, not among 20 undecided benchmarks.
    const edge = noisy(Math.log(1.6), 4, 0.12)
    const alone = look(new Map([['a', edge]]), { alpha: 0.01, tolerance: 0.05, looks: 1 })
    const p = alone.get('a')!.pValue!
    expect(p).toBeLessThan(0.01)
    expect(p).toBeGreaterThan(0.01 / 20)
    expect(alone.get('a')!.verdict).toBe('regressed')
    const crowd = new Map([['a', edge], ...Array.from({ length: 19 }, (_, i) => [`b${i}`, noisy(0, 4, 0.5)] as const)])
    expect(look(crowd, { alpha: 0.01, tolerance: 0.05, looks: 1 }).get('a')!.verdict).not.toBe('regressed')
  })

  test('the exit status: 1 on a regression; inconclusive and one-sided benchmarks only under --strict', () => {
    const result = (outcomes: string[], faults: string[] = []) =>
      ({ benchmarks: outcomes.map((outcome, i) => ({ name: `b${i}`, outcome })), faults }) as unknown as Pick<
        CompareResult,
        'benchmarks' | 'faults'
      >
    expect(compareExitCode(result(['same', 'regressed']), false)).toBe(1)
    expect(compareExitCode(result(['same', 'inconclusive', 'only on head']), false)).toBe(0)
    expect(compareExitCode(result(['same', 'inconclusive']), true)).toBe(1)
    expect(compareExitCode(result(['same', 'improved']), true)).toBe(0)
    expect(compareExitCode(result([], ['the base could not be prepared']), false)).toBe(0)
    expect(compareExitCode(result([], ['the base could not be prepared']), true)).toBe(1)
  })
})

describe('the comparison loop', () => {
  /** A process that measures without running anything: `slow` twice as long on the head, `gone` only on the base. */
  const fake = (spec: ProcessSpec): ProcessRun => {
    const wobble = 1 + 0.01 * Math.sin(spec.pair * 7 + (spec.side === 'head' ? 1 : 0))
    const medians: Record<string, number> = {
      steady: 1000 * wobble,
      slow: (spec.side === 'head' ? 2000 : 1000) * wobble,
    }
    if (spec.side === 'base') medians.gone = 500
    return { ...spec, seconds: 0, exitCode: 0, steal: 0, load: 1, medians, problem: null, log: '' }
  }
  const settings = {
    headDir: '/head',
    baseDir: '/base',
    vitestArgs: ['x.bench.ts'],
    alpha: 0.01,
    tolerance: 0.05,
    maxPairs: 16,
    maxSeconds: 600,
    cpuSets: ['0', '1'],
    log: () => {},
    run: fake,
  }

  test('ABBA pairs on alternating CPU sets, stopped at the first look where every benchmark is decided', () => {
    const result = compareLoop(settings)
    expect(result.stoppedBy).toBe('all decided')
    expect(result.pairs).toBe(4)
    expect(result.processes.map((p) => `${p.side}@${p.cpuSet}`)).toEqual([
      'base@0',
      'head@0',
      'head@1',
      'base@1',
      'base@0',
      'head@0',
      'head@1',
      'base@1',
    ])
    const byName = Object.fromEntries(result.benchmarks.map((b) => [b.name, b]))
    expect(byName.slow).toMatchObject({ outcome: 'regressed', baseMedianNs: expect.closeTo(1000, -2), pairs: 4 })
    expect(byName.steady).toMatchObject({ outcome: 'same', pairs: 4 })
    expect(byName.gone).toMatchObject({ outcome: 'only on base', headMedianNs: null })
    expect(result.levelPerLook).toBeCloseTo(0.01 / 3)
  })

  test('out of time after one pair: nothing decided, nothing judged on a single pair', () => {
    const result = compareLoop({ ...settings, maxSeconds: 1e-9 })
    expect(result.stoppedBy).toBe('max time')
    expect(result.pairs).toBe(1)
    expect(result.benchmarks.find((b) => b.name === 'slow')).toMatchObject({ outcome: 'inconclusive', pairs: 1 })
  })
})

describe('the pieces of a comparison', () => {
  test("compare's arguments: its own before --, vitest's after; mistakes named", () => {
    const args = parseCompareArgs([
      '--base',
      'main',
      '--max-pairs=8',
      '--tolerance',
      '0.2',
      '--',
      'a.bench.ts',
      '-t',
      'x',
    ])
    expect(args).toMatchObject({ base: 'main', maxPairs: 8, tolerance: 0.2, vitestArgs: ['a.bench.ts', '-t', 'x'] })
    expect(() => parseCompareArgs(['--max-pairs', '1'])).toThrow(
      /--max-pairs must be an integer from 2 to 200, got "1"/,
    )
    expect(() => parseCompareArgs(['--alpha', '0.7'])).toThrow(/--alpha must be a fraction in \(0, 0.5\)/)
    expect(() => parseCompareArgs(['a.bench.ts'])).toThrow(/unknown argument "a.bench.ts".*after --/)
    expect(() => parseCompareArgs(['--base'])).toThrow(/--base needs a value/)
    expect(() => parseCompareArgs(['--', '-u'])).toThrow(/compare writes no baselines/)
  })

  test('GPUBENCH_COMPARE_REPORT makes a run a measurement: its report there, no baselines, nothing strict or re-measured', () => {
    const user = { baselineDir: 'baselines', jsonReport: 'mine.json', strict: true, htmlReport: 'r.html' }
    const plain = resolveOptions(user, {})
    expect(plain).toMatchObject({ baselineDir: 'baselines', jsonReport: 'mine.json', strict: true })
    const worker = resolveOptions(user, { GPUBENCH_COMPARE_REPORT: '/tmp/x/pair001-base.json' })
    expect(worker).toMatchObject({
      jsonReport: '/tmp/x/pair001-base.json',
      baselineDir: '/tmp/x/pair001-base.json.no-baselines',
      strict: false,
      confirmRegressions: 0,
      htmlReport: null,
      stepSummary: false,
    })
    const env = processEnv('/tmp/r.json', { PATH: '/bin', GITHUB_STEP_SUMMARY: '/s.md', GPUBENCH_RECORD: 'add-run' })
    expect(env).toEqual({ PATH: '/bin', GPUBENCH_COMPARE_REPORT: '/tmp/r.json' })
  })

  test('the medians of a JSON report, by name and backend; skipped records left out', () => {
    const report = {
      benchmarks: [
        { record: { status: 'measured', key: 'gemm', backend: 'cpu', entry: { stats: { medianNs: 1200 } } } },
        { record: { status: 'skipped', key: 'gemm', backend: 'cuda', reason: 'no device' } },
      ],
    } as unknown as JsonReport
    expect(mediansOf(report)).toEqual({ 'gemm [cpu]': 1200 })
  })

  test('steal time and CPU sets', () => {
    const stat = [
      'cpu  100 0 50 800 10 0 0 40 0 0',
      'cpu0 50 0 25 400 5 0 0 30 0 0',
      'cpu1 50 0 25 400 5 0 0 10 0 0',
      'intr 1 2 3',
    ].join('\n')
    expect(cpuTimes(stat, null)).toEqual({ steal: 40, total: 1000 })
    expect(cpuTimes(stat, [1])).toEqual({ steal: 10, total: 490 })
    expect(cpuTimes('intr 1', null)).toBeNull()
    expect(cpuNumbers('0-2,5')).toEqual([0, 1, 2, 5])
    if (process.platform === 'linux') {
      expect(cpuSets(true, 8, () => true)).toEqual(['0-3', '4-7'])
      expect(cpuSets(true, 2, () => true)).toEqual(['0', '1'])
    }
    expect(cpuSets(true, 1, () => true)).toEqual([])
    expect(cpuSets(false, 8, () => true)).toEqual([])
    expect(cpuSets(true, 8, () => false)).toEqual([])
  })

  test('base checkouts are kept outside the project, one folder per project', () => {
    const a = compareCacheDir('/work/app', null, { XDG_CACHE_HOME: '/c' })
    expect(a).toMatch(/^\/c\/gpubench\/compare\/app-[0-9a-f]{10}$/)
    expect(compareCacheDir('/other/app', null, { XDG_CACHE_HOME: '/c' })).not.toBe(a)
    expect(compareCacheDir('/work/app', null, { GPUBENCH_COMPARE_CACHE: '/x', XDG_CACHE_HOME: '/c' })).toBe('/x')
    expect(compareCacheDir('/work/app', '/y', { GPUBENCH_COMPARE_CACHE: '/x' })).toBe('/y')
  })

  test('the install command comes from the lockfile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gpubench-lock-'))
    try {
      expect(detectInstallCommand(dir, () => true)).toBe('npm install')
      await writeFile(join(dir, 'package-lock.json'), '{}')
      expect(detectInstallCommand(dir, () => true)).toBe('npm ci')
      await writeFile(join(dir, 'yarn.lock'), '')
      expect(detectInstallCommand(dir, () => true)).toBe('yarn install --frozen-lockfile')
      await writeFile(join(dir, 'pnpm-lock.yaml'), '')
      await writeFile(join(dir, 'package.json'), '{ "packageManager": "pnpm@10.1.0+sha512.abc" }')
      expect(detectInstallCommand(dir, () => true)).toBe('pnpm install --frozen-lockfile')
      expect(detectInstallCommand(dir, () => false)).toBe('npx -y pnpm@10.1.0 install --frozen-lockfile')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

interface Run {
  code: number | null
  output: string
}

/** Environment of the child: this process's, without Vitest's own worker variables or CI outputs. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|GPUBENCH_|GITHUB_)/.test(key) || key === 'TEST' || key === 'NODE_ENV' || key === 'CI') continue
    env[key] = value
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra }
}

function gpubench(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: childEnv(env) })
    let text = ''
    child.stdout.on('data', (chunk) => {
      text += chunk
    })
    child.stderr.on('data', (chunk) => {
      text += chunk
    })
    child.on('error', fail)
    child.on('close', (code) => done({ code, output: stripVTControlCharacters(text) }))
  })
}

describe('gpubench compare on a git repository', () => {
  let dir: string
  let cache: string
  let linkCommand: string

  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=gpubench test', '-c', 'user.email=test@example.invalid', ...args], {
      cwd: dir,
      stdio: 'pipe',
    })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gpubench-compare-test-'))
    cache = await mkdtemp(join(tmpdir(), 'gpubench-compare-cache-'))
    await cp(FIXTURE, dir, { recursive: true })
    const dependencies = { '@gpubench/core': 'workspace:*', '@gpubench/vitest-plugin': 'workspace:*', vitest: '^5.1.0' }
    await writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'compare-fixture', private: true, type: 'module', dependencies }, null, 2)}\n`,
    )
    await writeFile(join(dir, '.gitignore'), 'node_modules/\n')
    const vitest = await realpath(join(PLUGIN_DIR, 'node_modules', 'vitest'))
    // The install of both sides: links to this workspace's packages.
    linkCommand = [
      'mkdir -p node_modules/@gpubench',
      `ln -sfn '${vitest}' node_modules/vitest`,
      `ln -sfn '${PLUGIN_DIR}' node_modules/@gpubench/vitest-plugin`,
      `ln -sfn '${CORE_DIR}' node_modules/@gpubench/core`,
    ].join(' && ')
    execFileSync('sh', ['-c', linkCommand], { cwd: dir })
    git('init', '-q', '-b', 'main')
    git('add', '.')
    git('commit', '-q', '-m', 'base')
  })

  afterAll(async () => {
    if (dir) {
      await rm(dir, { recursive: true, force: true })
      await rm(cache, { recursive: true, force: true })
    }
  })

  const compareArgs = (json: string, base: string) => [
    'compare',
    '--base',
    base,
    '--max-pairs',
    '4',
    '--tolerance',
    '0.2',
    '--max-time',
    '240',
    '--json',
    json,
    '--install-command',
    linkCommand,
    '--cache-dir',
    cache,
  ]

  test('head equal to the base exits 0, with nothing written to baselines/', { timeout: 300_000 }, async () => {
    const summary = join(dir, 'summary.md')
    await writeFile(summary, '')
    const run = await gpubench(dir, compareArgs('equal.json', 'HEAD'), { GITHUB_STEP_SUMMARY: summary })
    expect(run.output).toMatch(/installing the base/)
    expect(run.code, run.output).toBe(0)
    const report = JSON.parse(await readFile(join(dir, 'equal.json'), 'utf8')) as CompareResult
    expect(report.format).toBe('gpubench-compare')
    const bench = report.benchmarks.find((b) => b.name === BENCH)
    expect(bench, run.output).toBeDefined()
    expect(bench!.outcome).not.toBe('regressed')
    expect(bench!.pairs).toBeGreaterThanOrEqual(2)
    expect(report.processes.length).toBe(2 * report.pairs)
    expect(report.processes.slice(0, 4).map((p) => p.side)).toEqual(['base', 'head', 'head', 'base'])
    expect(await readFile(summary, 'utf8')).toMatch(/### gpubench compare: no regression[\s\S]*\| lcg walk \[host\] \|/)
    await expect(readFile(join(dir, 'baselines', 'x.json'))).rejects.toThrow()
    expect(execFileSync('ls', [dir]).toString()).not.toMatch(/baselines/)
  })

  test('a head commit that does twice the work exits 1, naming the benchmark with both figures', {
    timeout: 300_000,
  }, async () => {
    const work = join(dir, 'work.ts')
    await writeFile(work, (await readFile(work, 'utf8')).replace('STEPS = 40_000', 'STEPS = 80_000'))
    // A benchmark the base does not have: reported as such, never a crash or a failure.
    const source = await readFile(join(dir, 'work.bench.ts'), 'utf8')
    await writeFile(join(dir, 'new.bench.ts'), source.replaceAll("'lcg walk'", "'new walk'"))
    git('add', 'new.bench.ts')
    git('commit', '-q', '-am', 'twice the work')
    const run = await gpubench(dir, compareArgs('double.json', 'HEAD~1'))
    expect(run.output).toMatch(/\(reused\)/)
    expect(run.code, run.output).toBe(1)
    const line = run.output.split('\n').find((l) => l.startsWith(`REGRESSED ${BENCH}`))
    expect(line, run.output).toMatch(/base [\d.]+ [µm]?s, head [\d.]+ [µm]?s, head\/base [12]\.\d+x/)
    const report = JSON.parse(await readFile(join(dir, 'double.json'), 'utf8')) as CompareResult
    const bench = report.benchmarks.find((b) => b.name === BENCH)!
    expect(bench.outcome).toBe('regressed')
    expect(bench.ratio!).toBeGreaterThan(1.5)
    expect(bench.headMedianNs! / bench.baseMedianNs!).toBeGreaterThan(1.5)
    expect(report.benchmarks.find((b) => b.name === 'new walk [host]')).toMatchObject({
      outcome: 'only on head',
      baseMedianNs: null,
    })
    expect(run.output).toMatch(/notice: new walk \[host\]: only on head: measured by the head only/)
  })

  test('a base that fails to install is reported, not a crash', { timeout: 60_000 }, async () => {
    await mkdir(join(dir, 'sub'), { recursive: true })
    await writeFile(join(dir, 'sub', 'note.txt'), 'another commit\n')
    git('add', 'sub')
    git('commit', '-q', '-m', 'another base')
    const run = await gpubench(
      dir,
      ['compare', '--base', 'HEAD', '--install-command', 'echo no registry here; exit 3'],
      {
        GPUBENCH_COMPARE_CACHE: cache,
      },
    )
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(
      /fault: the base could not be prepared.*the base install \(echo no registry here; exit 3\) exited 3/,
    )
    const strict = await gpubench(dir, ['compare', '--base', 'HEAD', '--strict', '--install-command', 'exit 3'], {
      GPUBENCH_COMPARE_CACHE: cache,
    })
    expect(strict.code, strict.output).toBe(1)
  })
})
