/**
 * The native backends' device process (src/process/contained.ts), on the real addon: a call into
 * the device that outlasts its limit ends its benchmark with an error that says so, within the
 * limit plus core's SILENCE_GRACE_MS, and the next benchmark runs in a fresh process; step
 * records of a training runnable cross the boundary; isolation and timeout are validated.
 *
 * The long call is a real kernel: an 8192^3 f32 GEMM on the portable own kernels (1.1 TFLOP, tens
 * of seconds on two cores), against a limit of half a second.
 */
import { BackendError, gemm, gemv, type Runnable, SILENCE_GRACE_MS, train, trainTarget } from '@gpubench/core'
import { afterAll, describe, expect, test } from 'vitest'
import {
  ContainedBackend,
  cpuBackend,
  createCpuBackend,
  createCudaBackend,
  createMetalBackend,
  ENV_NATIVE_ISOLATION,
  ENV_NATIVE_TIMEOUT_MS,
} from '../src/index.ts'

const LIMIT_MS = 500
/** Beyond the limit and its grace: the silence check's period, the kill and the exit, on a busy machine. */
const KILL_SLACK_MS = 3_000

const slow = createCpuBackend({ blas: 'own', isa: 'portable', timeoutMs: LIMIT_MS }) as ContainedBackend
afterAll(async () => {
  await slow.shutdown()
})

async function withEnv<T>(name: string, value: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env[name]
  process.env[name] = value
  try {
    return await body()
  } finally {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  }
}

describe('a native call that outlasts its limit', () => {
  test('ends its benchmark within the limit plus the grace, naming the workload, the device and the limit; the next benchmark runs in a fresh process', async () => {
    const probe = await slow.probe()
    expect(probe.available).toBe(true)
    if (!probe.available) return
    const first = slow.deviceProcess()
    expect(first?.starts).toBe(1)

    // Preparing fills 0.8 GB of inputs in the process, itself a call under the limit on a slow
    // machine: whichever call outlasts the limit first ends the benchmark.
    let long: Runnable | undefined
    const started = performance.now()
    const error = await slow
      .prepare(gemm({ batch: 1, m: 8192, n: 8192, k: 8192, dtype: 'f32' }))
      .then((r) => {
        long = r
        return r.cold()
      })
      .then(
        () => null,
        (e: unknown) => e,
      )
    const elapsed = performance.now() - started
    expect(error).toBeInstanceOf(BackendError)
    const message = (error as Error).message
    expect(message).toContain('gemm 1x8192x8192x8192 f32')
    expect(message).toContain(probe.device.id)
    expect(message).toMatch(new RegExp(`timeout ${LIMIT_MS} ms plus ${SILENCE_GRACE_MS} ms grace`))
    expect(message).toMatch(/killed \(SIGKILL\)/)
    expect(elapsed).toBeGreaterThan(LIMIT_MS)
    expect(elapsed).toBeLessThan(LIMIT_MS + SILENCE_GRACE_MS + KILL_SLACK_MS)
    if (long) {
      // The killed process's runnable says it cannot go on; disposing it is harmless.
      await expect(long.run(1)).rejects.toThrow(/this benchmark cannot continue/)
      await long.dispose()
    }

    const next = await slow.prepare(gemv({ m: 64, n: 64 }))
    const report = await next.verify()
    expect(report.ok).toBe(true)
    expect((await next.run(3)).every((ns) => ns > 0)).toBe(true)
    await next.dispose()
    const second = slow.deviceProcess()
    expect(second?.starts).toBe(2)
    expect(second?.pid).not.toBe(first?.pid)
  }, 60_000)
})

describe('the device process', () => {
  test('is the default: kernels run in a child process, durations and notes come back, verification runs there', async () => {
    const backend = cpuBackend as ContainedBackend
    expect(backend).toBeInstanceOf(ContainedBackend)
    const r = await backend.prepare(gemm({ batch: 1, m: 96, n: 80, k: 72, dtype: 'f32' }))
    expect(backend.isolation).toBe('process')
    expect(backend.deviceProcess()?.pid).not.toBe(process.pid)
    const cold = await r.cold()
    expect(cold).toBeGreaterThan(0)
    const durations = await r.run(4)
    expect(durations).toHaveLength(4)
    expect(r.notes.some((n) => /gemm:/.test(n))).toBe(true)
    const report = await r.verify()
    expect(report.ok).toBe(true)
    expect(report.checked).toBeGreaterThan(0)
    await r.dispose()
    await r.dispose()
  })

  test("a training step's records cross: one per step, cold first, and steps(n) for a series", async () => {
    const w = train({ model: 'quick', batch: 2, seq: 16, dtype: 'f32' })
    const r = (await cpuBackend.prepare(trainTarget(w, 'cpu'))) as unknown as {
      cold(): Promise<number>
      run(n: number): Promise<number[]>
      steps(n: number): Promise<{ loss: number; stepNs: number }[]>
      records: { loss: number; stepNs: number }[]
      dispose(): Promise<void>
    }
    try {
      const cold = await r.cold()
      expect(r.records).toHaveLength(1)
      expect(r.records[0]?.stepNs).toBe(cold)
      const durations = await r.run(2)
      expect(r.records.slice(1).map((s) => s.stepNs)).toEqual(durations)
      const more = await r.steps(3)
      expect(more).toHaveLength(3)
      expect(r.records).toHaveLength(6)
      expect(r.records.every((s) => Number.isFinite(s.loss))).toBe(true)
    } finally {
      await r.dispose()
    }
  }, 60_000)

  test("isolation 'none' runs in this process", async () => {
    const local = createCpuBackend({ isolation: 'none' })
    expect(local).not.toBeInstanceOf(ContainedBackend)
    expect(createCudaBackend({ isolation: 'none' })).not.toBeInstanceOf(ContainedBackend)
    expect(createMetalBackend({ isolation: 'none' })).not.toBeInstanceOf(ContainedBackend)
    expect(createCudaBackend()).toBeInstanceOf(ContainedBackend)
  })

  test('where CUDA or Metal is missing, the device process says why, as the backend in this process would', async () => {
    for (const [contained, local] of [
      [createCudaBackend(), createCudaBackend({ isolation: 'none' })],
      [createMetalBackend(), createMetalBackend({ isolation: 'none' })],
    ] as const) {
      const [there, here] = await Promise.all([contained.probe(), local.probe()])
      expect(there.available).toBe(here.available)
      if (!there.available && !here.available) {
        expect(there.reason).toBe(here.reason)
        // and keeps no idle process for a backend that cannot run
        expect((contained as ContainedBackend).deviceProcess()).toBeUndefined()
      }
      await (contained as ContainedBackend).shutdown()
    }
  }, 60_000)

  test('bad isolation and timeout values are refused, naming the option or the variable', async () => {
    await withEnv(ENV_NATIVE_ISOLATION, 'thread', async () => {
      const probe = await createCpuBackend().probe()
      expect(probe.available).toBe(false)
      if (!probe.available) {
        expect(probe.reason).toBe('$GPUBENCH_NATIVE_ISOLATION must be one of process, none, got "thread"')
      }
    })
    await withEnv(ENV_NATIVE_TIMEOUT_MS, '3000000000', async () => {
      const probe = await createCpuBackend().probe()
      expect(probe.available).toBe(false)
      if (!probe.available)
        expect(probe.reason).toMatch(
          /^\$GPUBENCH_NATIVE_TIMEOUT_MS must be a positive number of milliseconds up to 2147483647 \(Node's timer range\), got "3000000000"$/,
        )
    })
    for (const timeoutMs of [0, -5, Number.NaN, 2 ** 31]) {
      const backend = createCpuBackend({ timeoutMs })
      await expect(backend.prepare(gemv({ m: 4, n: 4 }))).rejects.toThrow(
        /cpu option 'timeoutMs' must be a positive number of milliseconds/,
      )
    }
    const bad = createCpuBackend({ isolation: 'thread' as 'none' })
    await expect(bad.prepare(gemv({ m: 4, n: 4 }))).rejects.toThrow(
      `cpu option 'isolation' must be one of process, none, got "thread"`,
    )
  })
})
