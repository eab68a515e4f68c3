/**
 * A user's mistakes met before anything is measured, in real `vitest bench` runs of fixture
 * projects (a temporary copy each, node_modules linked to this workspace's packages):
 * - vitest.config.ts without gpubench(): `bench.gpu()` names the missing plugin, rather than
 *   `TypeError: bench.gpu is not a function`;
 * - a rate literal that does not parse (`'50 GFLOPS/s'`) fails the file when it is loaded, and
 *   its benchmark never runs.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { parseDuration, parseRate } from '@gpubench/core'
import { afterAll, expect, test } from 'vitest'
import { AssertionLiteralError, checkAssertionLiterals } from '../src/node/literal-check.ts'

const here = dirname(fileURLToPath(import.meta.url))
const PLUGIN_DIR = resolve(here, '..')
const VITEST_DIR = realpathSync(join(PLUGIN_DIR, 'node_modules', 'vitest'))
const made: string[] = []
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

function fixtureCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gpubench-${name}-`))
  made.push(dir)
  cpSync(join(here, 'fixtures', name), dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n')
  mkdirSync(join(dir, 'node_modules', '@gpubench'), { recursive: true })
  symlinkSync(VITEST_DIR, join(dir, 'node_modules', 'vitest'))
  symlinkSync(PLUGIN_DIR, join(dir, 'node_modules', '@gpubench', 'vitest-plugin'))
  symlinkSync(resolve(PLUGIN_DIR, '..', 'core'), join(dir, 'node_modules', '@gpubench', 'core'))
  return dir
}

function vitestBench(dir: string): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: '' }
  for (const key of Object.keys(env)) if (/^(VITEST|GPUBENCH_)/.test(key) || key === 'NODE_ENV') delete env[key]
  const run = spawnSync(process.execPath, [join(VITEST_DIR, 'vitest.mjs'), 'bench', '--run'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: run.status, output: stripVTControlCharacters(`${run.stdout}${run.stderr}`) }
}

test('without gpubench() in the config, bench.gpu() names the missing plugin', () => {
  const run = vitestBench(fixtureCopy('no-plugin'))
  expect(run.status, run.output).toBe(1)
  expect(run.output).toContain("bench.gpu() needs the gpubench plugin: add gpubench() from '@gpubench/vitest-plugin'")
  expect(run.output).not.toContain('is not a function')
}, 60_000)

test('a rate literal that does not parse fails its file before the benchmark runs', () => {
  const dir = fixtureCopy('bad-literal')
  const run = vitestBench(dir)
  expect(run.status, run.output).toBe(1)
  expect(run.output).toMatch(/typo\.bench\.ts:9:\d+: toBeAtLeast\("50 GFLOPS\/s"\): .*GFLOP\/s/)
  expect(existsSync(join(dir, 'measured.txt'))).toBe(false)
}, 60_000)

const parsers = { rate: parseRate, duration: parseDuration }

test('literal check: each literal form, with file, line and column of the first bad one', () => {
  const good = [
    "expectThroughput(r).toBeAtLeast('50 GFLOP/s')",
    'expectThroughput(r).toBeAtLeast("1.5 TB/s")',
    'expectThroughput(r).toTakeAtMost(`2 ms`)',
    'expectThroughput(r).toBeAtLeast(floor)', // computed: the assertion checks it
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template with a substitution
    'expectThroughput(r).toBeAtLeast(`${n} GFLOP/s`)', // the assertion checks it at run time
  ].join('\n')
  expect(() => checkAssertionLiterals(good, 'good.bench.ts', parsers)).not.toThrow()
  const bad = "const a = 1\n  expectThroughput(r).toTakeAtMost('2 sec')\n"
  expect(() => checkAssertionLiterals(bad, 'bad.bench.ts', parsers)).toThrow(AssertionLiteralError)
  expect(() => checkAssertionLiterals(bad, 'bad.bench.ts', parsers)).toThrow(
    /^bad\.bench\.ts:2:22: toTakeAtMost\("2 sec"\): /,
  )
  const commented = [
    "// expectThroughput(r).toBeAtLeast('50 GFLOPS/s') in a line comment",
    "/* and in a block: expectThroughput(r).toTakeAtMost('2 sec') */",
    "const s = '// not a comment'; expectThroughput(r).toBeAtLeast('1 GFLOP/s')",
  ].join('\n')
  expect(() => checkAssertionLiterals(commented, 'c.bench.ts', parsers)).not.toThrow()
  const afterComment = "/* a\n b */ expectThroughput(r).toBeAtLeast('5 flops')"
  expect(() => checkAssertionLiterals(afterComment, 'd.bench.ts', parsers)).toThrow(/^d\.bench\.ts:2:26: /)
  const rate = "expectThroughput(r).toBeAtLeast('fast', { margin: 1 })"
  expect(() => checkAssertionLiterals(rate, 'x.ts', parsers)).toThrow(/toBeAtLeast\("fast"\)/)
})
