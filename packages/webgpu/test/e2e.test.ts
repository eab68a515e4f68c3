/**
 * End to end: a kernel that never ends fails its own benchmark with the timeout, and the run goes
 * on. `vitest bench` runs the fixture project (test/fixtures/hung-kernel: the real plugin, the
 * WebGPU backend, GPUBENCH_WEBGPU_TIMEOUT_MS=3000) as a child process; its JSON report gives each
 * benchmark's status, duration and error.
 *
 * Without containment this run never ends: the timed-out device cannot be destroyed while its
 * kernel spins (Dawn waits for the queue), so the test's own timeout would kill it.
 *
 * Named e2e.test.ts so the root `test` script runs it with the other end-to-end files, one file
 * at a time after the unit tests: its bounds are on wall time.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SILENCE_GRACE_MS } from '../src/index.ts'
import { unavailable } from './adapter.ts'

const here = dirname(fileURLToPath(import.meta.url))
const WORKSPACE = resolve(here, '..', '..', '..')
const CONFIG = join(here, 'fixtures', 'hung-kernel', 'vitest.config.ts')
const TIMEOUT_MS = 3_000
const RUN_TIMEOUT_MS = 90_000

interface Assertion {
  title: string
  status: string
  duration?: number
  failureMessages?: string[]
}

let dir: string
let code: number | null
let output: string
let results: Map<string, Assertion>

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|GPUBENCH_|GITHUB_)/.test(key) || key === 'TEST' || key === 'NODE_ENV' || key === 'CI') continue
    env[key] = value
  }
  return {
    ...env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir(),
    GPUBENCH_FIXTURE_BASELINES: join(dir, 'baselines'),
    GPUBENCH_WEBGPU_TIMEOUT_MS: String(TIMEOUT_MS),
  }
}

/** Processes (other than this one) whose environment holds `marker`: what the fixture run left running. */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '')
    if (environ.includes(marker)) found.push(Number(entry))
  }
  return found
}

describe.skipIf(unavailable)('a kernel that never ends, in a vitest bench run', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gpubench-hung-'))
    const report = join(dir, 'report.json')
    const cli = join(WORKSPACE, 'node_modules', '.bin', 'vitest')
    const argv = ['bench', '--run', '--config', CONFIG, '--reporter=default', '--reporter=json']
    argv.push(`--outputFile.json=${report}`)
    ;({ code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
      const child = spawn(cli, argv, { cwd: WORKSPACE, env: childEnv() })
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
    }))
    const json = JSON.parse(await readFile(report, 'utf8').catch(() => '{"testResults":[]}')) as {
      testResults: Array<{ assertionResults: Assertion[] }>
    }
    results = new Map(json.testResults.flatMap((f) => f.assertionResults).map((a) => [a.title, a]))
  }, RUN_TIMEOUT_MS + 10_000)

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('ends the endless benchmark with the timeout, within the timeout plus the stated grace', () => {
    expect(code, output).toBe(1) // one failed benchmark; a hang would have been killed (code null)
    const endless = results.get('endless')
    expect(endless?.status, output).toBe('failed')
    expect(endless?.failureMessages?.[0]).toMatch(
      /^BackendError: webgpu webgpu-\S+: timed out after 3000 ms waiting for endless: the cold run; its device process was killed \(SIGKILL\)/,
    )
    // Its duration: prepare (device, upload, WGSL check), then the cold run's wait until the timeout.
    expect(endless?.duration).toBeGreaterThanOrEqual(TIMEOUT_MS)
    expect(endless?.duration).toBeLessThan(TIMEOUT_MS + SILENCE_GRACE_MS)
  })

  it('runs the next benchmark, on a fresh device process, and it passes', () => {
    expect(results.get('fill before')?.status, output).toBe('passed')
    expect(results.get('fill after')?.status, output).toBe('passed')
    expect(output).toMatch(/fill after\s+webgpu\s+webgpu-\S+\s+[\d.]+ µs/)
  })

  it('leaves no process behind: the killed device process and its successor are gone', async () => {
    expect(await processesWith(join(dir, 'baselines'))).toEqual([])
  })

  it("keeps Dawn's limit notices out of the output", () => {
    expect(output).not.toMatch(/artificially reduced/)
  })
})
