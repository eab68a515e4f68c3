import { describe, expect, test } from 'vitest'
import type { DeviceDescription, Runnable } from '../src/backend.ts'
import { measure, relativeNoiseOf, TARGET_CALL_NS } from '../src/measure/engine.ts'
import { MeasurementError } from '../src/measure/errors.ts'
import { rng, variates } from '../src/measure/random.ts'
import { PAPER_METHOD } from '../src/measure/stopping-rule.ts'

const device: DeviceDescription = { id: 'fake-gpu-1', backend: 'cuda', name: 'Fake GPU', details: {} }

interface FakeOptions {
  /** Duration of run i (0-based, over all run calls), ns. */
  duration?: (i: number) => number
  /** Host cost of one run(n) call, ns. */
  callNs?: number
  coldNs?: number
  /** Replace what run(n) returns. */
  tamper?: (durations: number[], call: number) => unknown
}

/** A runnable on a virtual clock that records every call made to it. */
function fake(options: FakeOptions = {}) {
  let clockNs = 0
  let runs = 0
  const calls: number[] = []
  const returned: number[] = []
  let colds = 0
  const duration = options.duration ?? (() => 1e6)
  const runnable: Runnable = {
    target: { kind: 'function', name: 'fake', fn: () => undefined },
    device,
    timing: 'cuda-events',
    notes: [],
    async cold() {
      colds++
      clockNs += options.coldNs ?? 5e6
      return options.coldNs ?? 5e6
    },
    async run(n: number) {
      calls.push(n)
      const out: number[] = []
      for (let i = 0; i < n; i++) out.push(duration(runs++))
      clockNs += (options.callNs ?? 10e3) + out.reduce((a, b) => a + b, 0)
      returned.push(...out)
      return (options.tamper?.(out, calls.length - 1) ?? out) as number[]
    },
    async verify() {
      throw new Error('not used')
    },
    async dispose() {},
  }
  return { runnable, now: () => clockNs, calls, returned, colds: () => colds }
}

describe('measure', () => {
  test('keeps the cold run apart, discards warm-up, and keeps every sample it asked for', async () => {
    const noise = variates(rng(1))
    const f = fake({ duration: () => 1e6 * Math.exp(0.01 * noise.normal()), coldNs: 40e6 })
    const m = await measure(f.runnable, {}, { now: f.now })
    expect(m.coldNs).toBe(40e6)
    expect(m.warmupRuns).toBe(2)
    expect(f.calls[0]).toBe(2) // the warm-up, one call
    const sampled = f.returned.slice(2)
    expect(m.samplesNs).toEqual([...sampled].sort((a, b) => a - b))
    expect(m.stats.n).toBe(sampled.length)
    expect(m.samplesNs).not.toContain(40e6)
  })

  test('samples until min time, then stops by noise; batches aim at ~10 ms per call', async () => {
    const noise = variates(rng(2))
    const f = fake({ duration: () => 1e6 * Math.exp(0.01 * noise.normal()) })
    const m = await measure(f.runnable, {}, { now: f.now })
    expect(m.stoppedBy).toBe('noise')
    const deviceTime = m.samplesNs.reduce((a, b) => a + b, 0)
    expect(deviceTime).toBeGreaterThanOrEqual(0.5e9)
    expect(m.relativeNoise).toBeLessThanOrEqual(0.005)
    expect(m.relativeNoise).toBe(relativeNoiseOf(m.stats))
    // 1 ms runs: about 10 per call once sized, never one JS call per sample
    const sampling = f.calls.slice(1)
    expect(sampling[0]).toBe(Math.floor(TARGET_CALL_NS / (1e6 + 5e3))) // sized from the warm-up's wall time per run
    expect(sampling.length).toBeLessThan(m.stats.n / 5)
    expect(m.wallTimeNs).toBe(f.now())
  })

  test('noisier runs take more samples than quiet ones', async () => {
    const quietNoise = variates(rng(3))
    const noisyNoise = variates(rng(3))
    const quiet = fake({ duration: () => 1e6 * Math.exp(0.01 * quietNoise.normal()) })
    const noisy = fake({ duration: () => 1e6 * Math.exp(0.08 * noisyNoise.normal()) })
    const q = await measure(quiet.runnable, {}, { now: quiet.now })
    const n = await measure(noisy.runnable, {}, { now: noisy.now })
    expect(q.stats.n).toBeLessThan(600)
    expect(n.stats.n).toBeGreaterThan(2 * q.stats.n)
    expect(n.stoppedBy).toBe('noise')
    expect(n.relativeNoise).toBeLessThanOrEqual(0.005)
  })

  test('stops at the time cap, with the samples it has', async () => {
    const noise = variates(rng(4))
    const f = fake({ duration: () => 100e6 * Math.exp(0.2 * noise.normal()) })
    const m = await measure(f.runnable, { maxTimeNs: 2e9, minTimeNs: 0 }, { now: f.now })
    expect(m.stoppedBy).toBe('max-time')
    expect(m.stats.n).toBeGreaterThanOrEqual(10)
    expect(m.stats.n).toBeLessThan(25)
    expect(m.relativeNoise).toBeGreaterThan(0.005)
  })

  test('stops at maxSamples, never asking for more', async () => {
    const noise = variates(rng(5))
    const f = fake({ duration: () => 1e3 * Math.exp(0.3 * noise.normal()) })
    const m = await measure(f.runnable, { maxSamples: 777 }, { now: f.now })
    expect(m.stoppedBy).toBe('max-samples')
    expect(m.stats.n).toBe(777)
    expect(f.calls.slice(1).reduce((a, b) => a + b, 0)).toBe(777)
  })

  test('the paper method: 10 warm-up runs, then exactly 100 samples in one call', async () => {
    const f = fake({ duration: (i) => 1e5 + i })
    const m = await measure(f.runnable, PAPER_METHOD, { now: f.now })
    expect(f.calls).toEqual([10, 100])
    expect(m.stoppedBy).toBe('fixed-count')
    expect(m.stats.n).toBe(100)
    expect(m.stats.meanNs).toBeCloseTo(1e5 + 10 + 49.5, 9)
  })

  test('a fixed batch size is used as given', async () => {
    const f = fake()
    await measure(f.runnable, { batch: 7, minSamples: 20, maxSamples: 20, warmupRuns: 0 }, { now: f.now })
    expect(f.calls).toEqual([7, 7, 6])
  })

  test('without warm-up the first batch is a single run, then grows at most 16-fold per call', async () => {
    const f = fake({ duration: () => 1e3, callNs: 0 })
    await measure(f.runnable, { warmupRuns: 0, minTimeNs: 0.05e9 }, { now: f.now })
    expect(f.calls[0]).toBe(1)
    for (let i = 1; i < f.calls.length; i++) {
      expect(f.calls[i] as number).toBeLessThanOrEqual(16 * (f.calls[i - 1] as number))
    }
    expect(Math.max(...f.calls)).toBeGreaterThan(1000)
  })

  test('a runnable measured a second time is warm: coldNs is null and cold() is not called again', async () => {
    const f = fake()
    const first = await measure(f.runnable, { minTimeNs: 0, minSamples: 10, maxSamples: 10 }, { now: f.now })
    const second = await measure(f.runnable, { minTimeNs: 0, minSamples: 10, maxSamples: 10 }, { now: f.now })
    expect(first.coldNs).toBe(5e6)
    expect(second.coldNs).toBeNull()
    expect(f.colds()).toBe(1)
  })

  test('uses the host clock when none is injected', async () => {
    const f = fake()
    const m = await measure(f.runnable, { minTimeNs: 0, minSamples: 5, maxSamples: 5 })
    expect(m.wallTimeNs).toBeGreaterThan(0)
    expect(m.wallTimeNs).toBeLessThan(5e9)
  })

  const broken: Array<[string, (d: number[], call: number) => unknown, RegExp]> = [
    ['zeros', (d) => d.map(() => 0), /run\(\d+\) returned an invalid duration at index 0: 0 ns/],
    ['NaN', (d, call) => (call === 1 ? d.map((v, i) => (i === 3 ? Number.NaN : v)) : d), /at index 3: NaN ns/],
    ['negative', (d) => d.map((v) => -v), /invalid duration at index 0: -1000000 ns/],
    ['infinite', (d) => d.map(() => Number.POSITIVE_INFINITY), /Infinity ns/],
    ['too few', (d) => d.slice(1), /returned 1 durations, expected 2/],
    ['not an array', () => 'fast', /returned string, expected an array of 2 durations/],
    ['strings', (d) => d.map(String), /"1000000" \(string\)/],
  ]
  for (const [name, tamper, message] of broken) {
    test(`a runnable returning ${name} is an error naming the backend and device`, async () => {
      const attempt = () => {
        const f = fake({ tamper })
        return measure(f.runnable, {}, { now: f.now })
      }
      await expect(attempt()).rejects.toThrow(MeasurementError)
      await expect(attempt()).rejects.toThrow(/cuda device 'fake-gpu-1'/)
      await expect(attempt()).rejects.toThrow(message)
    })
  }

  test('a cold run of zero is an error', async () => {
    const f = fake({ coldNs: 0 })
    await expect(measure(f.runnable, {}, { now: f.now })).rejects.toThrow(
      /cuda device 'fake-gpu-1': cold\(\) returned an invalid duration: 0 ns/,
    )
  })

  test('a bad rule is refused before anything runs', async () => {
    const f = fake()
    await expect(measure(f.runnable, { minSamples: -1 }, { now: f.now })).rejects.toThrow(/field 'minSamples'/)
    expect(f.colds()).toBe(0)
  })
})
