import type { TimestampProvider } from 'tinybench'
import { describe, expect, test } from 'vitest'
import { BackendError, BackendUnavailableError, type HostFunctionTarget } from '../src/backend.ts'
import {
  createHostBackend,
  HOST_WORKLOAD_REASON,
  hostBackend,
  hostFunction,
  MIN_SAMPLE_SPAN_NS,
} from '../src/backends/host-backend.ts'
import type { HostInfo } from '../src/device.ts'
import { measure } from '../src/measure/engine.ts'
import { gemm } from '../src/workloads.ts'

const facts: HostInfo = {
  cpuModel: 'EPYC 7B13',
  cpuVendor: 'AMD',
  cores: 2,
  memoryBytes: 24e9,
  os: 'Debian GNU/Linux 12',
  arch: 'x64',
  gpus: [],
}
const backend = createHostBackend({ hostInfo: async () => facts })
const quick = { minTimeNs: 20e6, maxTimeNs: 2e9, maxNoise: 0.02 }

/** Busy-waits for `ns` on the host clock: a function whose true duration is known, whatever the JIT does. */
function spin(ns: number): void {
  const end = process.hrtime.bigint() + BigInt(ns)
  while (process.hrtime.bigint() < end) {
    // wait
  }
}

describe('hostFunction', () => {
  test('makes a frozen function target with optional counts', () => {
    const fn = () => 1
    const t = hostFunction('sum', fn, { flops: 1000, bytes: 8 })
    expect(t).toEqual({ kind: 'function', name: 'sum', fn, flops: 1000, bytes: 8 })
    expect(Object.isFrozen(t)).toBe(true)
    expect(hostFunction('plain', fn)).not.toHaveProperty('flops')
  })

  test('refuses a bad name, function or count', () => {
    expect(() => hostFunction('', () => 1)).toThrow(/'name' must be a non-empty string/)
    expect(() => hostFunction('x', 42 as unknown as () => unknown)).toThrow(
      /hostFunction 'x': 'fn' must be a function, got number/,
    )
    expect(() => hostFunction('x', () => 1, { flops: -1 })).toThrow(/'flops' must be a finite number >= 0, got -1/)
    expect(() => hostFunction('x', () => 1, { bytes: Number.NaN })).toThrow(
      /'bytes' must be a finite number >= 0, got NaN/,
    )
  })
})

describe('host backend', () => {
  test('is available with the host CPU as its device', async () => {
    const probe = await backend.probe()
    expect(probe.available).toBe(true)
    if (!probe.available) return
    expect(probe.device.id).toBe(`host-node${process.versions.node.split('.')[0]}-amd-epyc-7b13-2c`)
    expect(probe.device.backend).toBe('host')
    expect(probe.device.name).toBe('AMD EPYC 7B13 (2 cores)')
    expect(probe.device.details.runtime).toBe(`node ${process.versions.node}`)
    expect(await backend.probe()).toBe(probe) // cached
  })

  test('the default backend probes this machine', async () => {
    const probe = await hostBackend.probe()
    expect(probe.available).toBe(true)
    if (probe.available) expect(probe.device.id).toMatch(/^host-[a-z0-9-]+-\d+c$/)
  }, 30_000)

  test('is unavailable, with the reason, when the host cannot be described', async () => {
    const broken = createHostBackend({
      hostInfo: async () => {
        throw new Error('no /proc')
      },
    })
    expect(await broken.probe()).toEqual({
      available: false,
      reason: "host: the host's facts could not be read: no /proc",
    })
    await expect(broken.prepare(hostFunction('f', () => 1))).rejects.toThrow(BackendUnavailableError)
  })

  test('supports functions only', () => {
    expect(backend.kind).toBe('host')
    expect(backend.supports(hostFunction('f', () => 1))).toBe(true)
    expect(backend.supports(gemm({ m: 2, n: 2, k: 2 }))).toBe(HOST_WORKLOAD_REASON)
    expect(HOST_WORKLOAD_REASON).toBe(
      'the host backend measures JavaScript functions; run workloads on cpu, cuda, metal or webgpu',
    )
    expect(backend.supports({ kind: 'custom', backend: 'webgpu', name: 'my-pipeline', spec: {} })).toMatch(
      /'my-pipeline' is a webgpu target/,
    )
  })

  test('prepare refuses what it does not support', async () => {
    await expect(backend.prepare(gemm({ m: 2, n: 2, k: 2 }))).rejects.toThrow(BackendError)
    await expect(backend.prepare(gemm({ m: 2, n: 2, k: 2 }))).rejects.toThrow(HOST_WORKLOAD_REASON)
  })

  test('measures a sync function: its known duration, within the clock overhead', async () => {
    // A virtual clock: each reading costs READ_NS, and a call of `work(ns)` takes exactly ns. So
    // the expected samples are known to the nanosecond, and a busy machine cannot move them
    // (the speed of real code is measured in suites/, not asserted here).
    const READ_NS = 40
    let now = 0
    const virtual: TimestampProvider = {
      name: 'virtual',
      fn: () => {
        const reading = now
        now += READ_NS
        return reading
      },
      toMs: (v) => Number(v) / 1e6,
      fromMs: (v) => v * 1e6,
    }
    const work = (ns: number) => () => {
      now += ns
    }
    const virtualBackend = createHostBackend({ hostInfo: async () => facts, timestampProvider: virtual })
    const short = await virtualBackend.prepare(hostFunction('20 µs', work(20e3)))
    const long = await virtualBackend.prepare(hostFunction('80 µs', work(80e3)))
    const tiny = await virtualBackend.prepare(hostFunction('10 ns', work(10)))
    expect(short.timing).toBe('steady-clock')
    expect(short.notes[0]).toMatch(/virtual, overhead about 40 ns per reading/)
    expect(await short.cold()).toBe(20e3 + READ_NS)
    // One call spans far more than 100 readings' overhead: one call per sample, plus one reading.
    expect(await short.run(5)).toEqual([20040, 20040, 20040, 20040, 20040])
    expect(await long.run(3)).toEqual([80040, 80040, 80040])
    // 10 ns calls: the smallest power of two whose span reaches 100 readings (4000 ns) is 512,
    // and the one reading in each sample is shared by its 512 calls.
    const perCall = await tiny.run(4)
    expect(tiny.notes.join('\n')).toMatch(/each sample times 512 back-to-back calls/)
    expect(perCall).toEqual(Array(4).fill((512 * 10 + READ_NS) / 512))
    const a = await measure(short, quick)
    const b = await measure(long, quick)
    expect(a.coldNs).toBeGreaterThan(0)
    expect(a.stats.minNs).toBe(20e3 + READ_NS)
    expect(a.stats.medianNs).toBe(20e3 + READ_NS)
    expect(b.stats.medianNs / a.stats.medianNs).toBeCloseTo(80040 / 20040, 12)
  }, 30_000)

  test('a tiny function is timed over many calls per sample, reported per call', async () => {
    let calls = 0
    const runnable = await backend.prepare(
      hostFunction('tiny', () => {
        calls++
      }),
    )
    await runnable.cold()
    const before = calls
    const samples = await runnable.run(50)
    const perSample = (calls - before) / 50
    expect(samples).toHaveLength(50)
    for (const s of samples) expect(s).toBeGreaterThan(0)
    expect(runnable.notes.join('\n')).toMatch(/each sample times (\d+) back-to-back calls/)
    const stated = Number(/each sample times (\d+)/.exec(runnable.notes.join('\n'))?.[1])
    // the calibration's own calls happened before these samples; afterwards exactly `stated` per sample
    const again = calls
    await runnable.run(10)
    expect((calls - again) / 10).toBe(stated)
    expect(perSample).toBeGreaterThanOrEqual(stated)
    // one sample spans at least the minimum, so per call it is that span divided by the calls
    const median = [...samples].sort((x, y) => x - y)[25] as number
    expect(median * stated).toBeGreaterThanOrEqual(MIN_SAMPLE_SPAN_NS * 0.3)
  })

  test('measures an async function, awaited inside the timed span', async () => {
    const runnable = await backend.prepare(
      hostFunction('async 50 µs', async () => {
        await null
        spin(50e3)
      }),
    )
    const m = await measure(runnable, quick)
    expect(m.stats.minNs).toBeGreaterThanOrEqual(50e3) // the work after the first await is inside the span
    expect(m.stats.medianNs).toBeLessThan(50e3 * 1.25)
    const timer = await backend.prepare(
      hostFunction('timer', () => new Promise<void>((resolve) => setTimeout(resolve, 3))),
    )
    const t = await measure(timer, { minTimeNs: 0, minSamples: 5, maxSamples: 5, warmupRuns: 1 })
    // libuv measures timeouts from its cached loop time, so a 3 ms timer may fire a little sooner than 3 ms
    expect(t.stats.minNs).toBeGreaterThan(1e6)
  }, 30_000)

  test('a function that throws is a BackendError naming it, with the cause', async () => {
    const runnable = await backend.prepare(
      hostFunction('broken', () => {
        throw new Error('boom')
      }),
    )
    const error = await runnable.cold().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toBe("host: function 'broken' threw during cold: boom")
    expect((error as Error).cause).toBeInstanceOf(Error)
    const rejecting = await backend.prepare(hostFunction('rejects', () => Promise.reject(new Error('nope'))))
    await expect(rejecting.run(1)).rejects.toThrow("host: function 'rejects' threw during run: nope")
  })

  test('verify reports whether one call completes (a function has no float64 reference)', async () => {
    const ok = await (await backend.prepare(hostFunction('ok', () => 1))).verify()
    expect(ok).toMatchObject({ ok: true, checked: 0, scanned: 0 })
    const bad = await (
      await backend.prepare(
        hostFunction('bad', () => {
          throw new Error('broken')
        }),
      )
    ).verify()
    expect(bad.ok).toBe(false)
    expect(bad.failure).toBe("host: function 'bad' threw during verify: broken")
  })

  test('run(n) checks n, and nothing runs after dispose', async () => {
    const runnable = await backend.prepare(hostFunction('f', () => spin(100)))
    await expect(runnable.run(0)).rejects.toThrow(/run\(n\) needs an integer n >= 1, got 0/)
    await runnable.dispose()
    await runnable.dispose() // safe twice
    await expect(runnable.run(1)).rejects.toThrow(/run\(\) on 'f' after dispose\(\)/)
  })

  test('a clock that never advances is an error, never a zero duration', async () => {
    const frozen: TimestampProvider = { name: 'frozen', fn: () => 1000, toMs: (v) => Number(v), fromMs: (v) => v }
    const stuck = createHostBackend({ hostInfo: async () => facts, timestampProvider: frozen })
    const runnable = await stuck.prepare(hostFunction('f', () => 1))
    await expect(runnable.cold()).rejects.toThrow(/the clock \(frozen\) did not advance over 1 call\(s\) of 'f'/)
  })

  test('a target without a function is refused', () => {
    const target = { kind: 'function', name: 'nothing' } as unknown as HostFunctionTarget
    expect(backend.supports(target)).toMatch(/target 'nothing' has no function to call/)
  })
})
