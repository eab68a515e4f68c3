/**
 * The device process (src/process): a kernel that outlasts the timeout fails its benchmark with
 * the timeout, its process is killed, and the next benchmark runs on a fresh one; a process that
 * stops answering (frozen with SIGSTOP, as one blocked in native code would be) or dies is handled
 * the same way. Real Dawn on the real adapter throughout; nothing is simulated but the freeze.
 */
import { launch } from '@gpubench/core'
import { afterAll, describe, expect, it } from 'vitest'
import { createWebgpuBackend, DAWN_LIMIT_NOTICE, type IsolatedWebgpuBackend, SILENCE_GRACE_MS } from '../src/index.ts'
import { childExecArgv, lineSplitter } from '../src/process/client.ts'
import { unavailable } from './adapter.ts'
import { endless, hugeGrid } from './fixtures/hung-kernels.ts'

const TIMEOUT_MS = 1_500

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A short benchmark on the backend: it must work after any fault. */
async function launchWorks(backend: IsolatedWebgpuBackend): Promise<void> {
  const next = await backend.prepare(launch({ launchesPerSample: 5 }))
  try {
    await next.cold()
    expect((await next.run(3)).every((ns) => ns > 0)).toBe(true)
  } finally {
    await next.dispose()
  }
}

describe("Dawn's limit notices", () => {
  it('are recognised exactly, and other stderr lines are not', () => {
    for (const kind of ['Uniform', 'Storage']) {
      expect(
        DAWN_LIMIT_NOTICE.test(
          `Warning: max${'Dynamic'}${kind}BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.`,
        ),
      ).toBe(true)
    }
    expect(DAWN_LIMIT_NOTICE.test('Warning: maxBufferSize artificially reduced from 1 to 0.')).toBe(false)
    expect(DAWN_LIMIT_NOTICE.test('Error: device lost')).toBe(false)
  })

  it('are matched line by line, whatever the chunks', () => {
    const lines: string[] = []
    const split = lineSplitter((line) => lines.push(line))
    split.push('first li')
    split.push('ne\nsecond\nthi')
    split.flush()
    expect(lines).toEqual(['first line', 'second', 'thi'])
  })
})

describe('the device process command line', () => {
  it("keeps only the caller's flags that load TypeScript, and none for built JavaScript", () => {
    const caller = ['--conditions=development', '--experimental-strip-types', '--inspect=9229', '--no-warnings']
    expect(childExecArgv('/x/device-process.ts', caller)).toEqual(['--experimental-strip-types', '--no-warnings'])
    expect(childExecArgv('/x/device-process.js', caller)).toEqual([])
  })
})

describe.skipIf(unavailable)('device work in a device process', { timeout: 60_000 }, () => {
  const backend = createWebgpuBackend({ timeoutMs: TIMEOUT_MS }) as IsolatedWebgpuBackend
  afterAll(() => backend.shutdown())

  for (const kernel of [endless, hugeGrid]) {
    it(`fails '${kernel.name}' with the timeout within its grace, kills its process, and the next benchmark runs`, async () => {
      await launchWorks(backend) // the process is up and the adapter probed before the clock starts
      const before = backend.deviceProcess()
      expect(alive(before?.pid)).toBe(true)
      const runnable = await backend.prepare(kernel)
      const t0 = performance.now()
      await expect(runnable.cold()).rejects.toThrow(
        new RegExp(
          `timed out after ${TIMEOUT_MS} ms waiting for ${kernel.name}: the cold run; its device process was killed`,
        ),
      )
      const elapsedMs = performance.now() - t0
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS)
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + SILENCE_GRACE_MS)
      expect(alive(before?.pid)).toBe(false) // gone, with the kernel's threads: its cores are free again
      await expect(runnable.run(1)).rejects.toThrow(/timed out .*\(this benchmark cannot continue\)/)
      await runnable.dispose() // nothing left to free, and no error
      await launchWorks(backend)
      const after = backend.deviceProcess()
      expect(after?.starts).toBe((before?.starts ?? 0) + 1)
      expect(after?.pid).not.toBe(before?.pid)
    })
  }

  it('gives a benchmark started while a hung one is still in flight its own process, which survives the kill', async () => {
    await launchWorks(backend)
    const before = backend.deviceProcess()
    const hung = await backend.prepare(endless)
    const abandoned = hung.cold() // as when Vitest's own test timeout ends a test first
    abandoned.catch(() => {})
    const next = await backend.prepare(launch({ launchesPerSample: 5 }))
    try {
      expect(backend.deviceProcess()?.pid).not.toBe(before?.pid)
      await expect(abandoned).rejects.toThrow(/timed out after 1500 ms waiting for endless: the cold run/)
      expect(alive(before?.pid)).toBe(false)
      await next.cold()
      expect((await next.run(3)).every((ns) => ns > 0)).toBe(true)
    } finally {
      await next.dispose()
      await hung.dispose()
    }
  })

  it('kills a process that stops answering (frozen) after the timeout plus the grace', async () => {
    await launchWorks(backend)
    const pid = backend.deviceProcess()?.pid
    if (pid === undefined) throw new Error('no device process')
    const runnable = await backend.prepare(launch({ launchesPerSample: 5 }))
    process.kill(pid, 'SIGSTOP') // as if blocked in native code: no answer, no heartbeat
    const t0 = performance.now()
    await expect(runnable.cold()).rejects.toThrow(
      /launch x5: cold\(\): the WebGPU device process stopped answering for \d+ ms \(timeout 1500 ms plus 2000 ms grace\)/,
    )
    const elapsedMs = performance.now() - t0
    expect(elapsedMs).toBeGreaterThan(TIMEOUT_MS + SILENCE_GRACE_MS)
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 2 * SILENCE_GRACE_MS)
    expect(alive(pid)).toBe(false)
    await runnable.dispose()
    await launchWorks(backend)
  })

  it('fails the pending request of a process that dies, naming the signal, and the next benchmark runs', async () => {
    await launchWorks(backend)
    const pid = backend.deviceProcess()?.pid
    if (pid === undefined) throw new Error('no device process')
    const runnable = await backend.prepare(endless)
    const cold = runnable.cold()
    setTimeout(() => process.kill(pid, 'SIGKILL'), 200) // as a driver crash would end it
    await expect(cold).rejects.toThrow(/endless: cold\(\): the WebGPU device process was killed by SIGKILL/)
    await runnable.dispose()
    await launchWorks(backend)
  })

  it('shutdown ends the process', async () => {
    await launchWorks(backend)
    const pid = backend.deviceProcess()?.pid
    expect(alive(pid)).toBe(true)
    await backend.shutdown()
    // SIGKILL is sent at once; the process is gone once the system has reaped it, which a loaded
    // machine can delay (200 ms were not enough with both cores busy): wait for it, up to 10 s.
    const deadline = performance.now() + 10_000
    while (alive(pid) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(alive(pid)).toBe(false)
    expect(backend.deviceProcess()).toBeUndefined()
  })
})
