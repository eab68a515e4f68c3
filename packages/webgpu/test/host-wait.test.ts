/**
 * How the host waits for timed submissions: Dawn's Node binding polls from the main thread while
 * a promise is pending, which on a software adapter takes a core from the rasteriser. The
 * runnable sleeps through most of a submission's expected device time instead (see
 * SLEEP_FRACTION in runnable.ts). Checked by the CPU time of the main thread that drives the
 * device (Linux /proc): this process's with isolation 'none', the device process's by default.
 * Not by any speed figure: polling through the whole submission costs about as much CPU as the
 * wall time, sleeping a small part of it.
 */
import { readFileSync } from 'node:fs'
import { gemm } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { createWebgpuBackend, type IsolatedWebgpuBackend, RUNS_PER_SUBMISSION } from '../src/index.ts'
import { SLEEP_MIN_NS } from '../src/timer.ts'
import { unavailable } from './adapter.ts'

/** CPU time (user + system) of a process's main thread, in ms, from /proc. */
function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime, stime in clock ticks (USER_HZ 100)
}

describe.skipIf(unavailable || process.platform !== 'linux')('webgpu host wait', () => {
  it.each(['none', 'process'] as const)(
    'leaves the cores to the device during a long timed submission (isolation %s)',
    async (isolation) => {
      const backend = createWebgpuBackend({ isolation })
      const runnable = await backend.prepare(gemm({ m: 256, n: 256, k: 256 }))
      const pid = isolation === 'none' ? process.pid : (backend as IsolatedWebgpuBackend).deviceProcess()?.pid
      if (pid === undefined) throw new Error('no device process')
      try {
        await runnable.cold()
        await runnable.run(2) // one timed submission gives the expected device time per run
        const runs = Math.min(RUNS_PER_SUBMISSION, 24)
        const cpu0 = mainThreadCpuMs(pid)
        const t0 = performance.now()
        const samples = await runnable.run(runs)
        const wallMs = performance.now() - t0
        const cpuMs = mainThreadCpuMs(pid) - cpu0
        expect(samples).toHaveLength(runs)
        const deviceMs = samples.reduce((a, b) => a + b, 0) / 1e6
        // Only meaningful where the submission is long enough to sleep through.
        expect(deviceMs * 1e6).toBeGreaterThan(SLEEP_MIN_NS)
        expect(
          cpuMs,
          `main thread ${cpuMs} ms of CPU in ${wallMs.toFixed(0)} ms (device ${deviceMs.toFixed(0)} ms)`,
        ).toBeLessThan(0.5 * wallMs)
      } finally {
        await runnable.dispose()
        await backend.shutdown()
      }
    },
    60_000,
  )
})
