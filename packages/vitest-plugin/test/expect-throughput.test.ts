import { gemm, type Measurement, sortSamples } from '@gpubench/core'
import { describe, expect, type TestContext, test } from 'vitest'
import type { BaselineLookup, RecordedVerdict } from '../src/record.ts'
import { expectThroughput, ThroughputAssertionError } from '../src/runtime/expect-throughput.ts'
import { Judgement } from '../src/runtime/judgement.ts'
import type { GpuBenchResult } from '../src/runtime/result.ts'
import { linkResult } from '../src/runtime/result-link.ts'
import { verdictFor } from '../src/runtime/verdict.ts'
import { foundBaseline, statsAround } from './records.ts'

/** A baseline from a device file whose runs span two sittings, so no unseen shift between sittings is allowed for. */
function settledBaseline(deviceId: string, medianNs: number): BaselineLookup {
  const found = foundBaseline(deviceId, medianNs)
  if (found.state !== 'found') throw new Error('foundBaseline returned no baseline')
  return { ...found, deviceSittings: 2 }
}

const workload = gemm({ m: 1000, n: 1000, k: 1000 }) // 2e9 FLOP, 12e6 bytes

function result(options: { medianNs?: number; baseline?: BaselineLookup; peak?: boolean } = {}): GpuBenchResult {
  const medianNs = options.medianNs ?? 40e6 // 2e9 FLOP in 40 ms: 50 GFLOP/s
  const stats = statsAround(medianNs)
  const measurement: Measurement = {
    coldNs: 90e6,
    samplesNs: sortSamples([medianNs]),
    stats,
    warmupRuns: 2,
    wallTimeNs: 1e9,
    stoppedBy: 'noise',
    relativeNoise: 0.003,
    rounds: 1,
    roundMediansNs: [medianNs],
  }
  const baseline: BaselineLookup = options.baseline ?? { state: 'missing', file: '/b/cpu-test-2c.json' }
  const verdict: RecordedVerdict | null = verdictFor(stats, baseline, 0.05)
  return {
    name: 'gemm-1000',
    backend: 'cpu',
    device: {
      id: 'cpu-test-2c',
      backend: 'cpu',
      name: 'Test CPU (2 cores)',
      details: {},
      ...(options.peak ? { peak: { flopPerSecond: { f32: 200e9 }, bytesPerSecond: 20e9 } } : {}),
    },
    timing: 'steady-clock',
    target: workload,
    targetLabel: 'gemm 1x1000x1000x1000 f32',
    measurement,
    flops: 2e9,
    bytes: 12e6,
    flopPerSecond: 2e9 / (medianNs / 1e9),
    bytesPerSecond: 12e6 / (medianNs / 1e9),
    baseline,
    verdict,
    notes: [],
  }
}

function failure(run: () => void): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ThroughputAssertionError)
    return (error as Error).message
  }
  throw new Error('expected the assertion to fail')
}

describe('toBeAtLeast', () => {
  test('passes at or above the floor, in FLOP/s and B/s', () => {
    expectThroughput(result()).toBeAtLeast('50 GFLOP/s')
    expectThroughput(result()).toBeAtLeast('300 MB/s')
  })

  test('a failure gives both figures with units, the interval, n and the device', () => {
    const message = failure(() => expectThroughput(result()).toBeAtLeast('60 GFLOP/s'))
    expect(message).toContain(
      "'gemm-1000' on cpu-test-2c (cpu, Test CPU (2 cores)): 50 GFLOP/s is below the floor of 60 GFLOP/s",
    )
    expect(message).toMatch(
      /measured: 50 GFLOP\/s \[CI [\d.]+ GFLOP\/s – [\d.]+ GFLOP\/s\] from median 40 ms \[95% CI [\d.]+ ms – [\d.]+ ms\], n = 50/,
    )
  })

  test('a malformed rate is a usage error, not a failed assertion', () => {
    expect(() => expectThroughput(result()).toBeAtLeast('50 GFLOPS per second')).toThrow(TypeError)
    expect(() => expectThroughput(result()).toBeAtLeast('50 GFLOPS per second')).toThrow(/Malformed rate/)
  })

  test('a target without counts cannot pass a throughput floor', () => {
    const noCounts = { ...result(), flops: null, flopPerSecond: null }
    expect(failure(() => expectThroughput(noCounts).toBeAtLeast('1 FLOP/s'))).toContain('has no FLOP count')
  })
})

test('toTakeAtMost is a ceiling on the median', () => {
  expectThroughput(result()).toTakeAtMost('40 ms')
  expect(failure(() => expectThroughput(result()).toTakeAtMost('30 ms'))).toMatch(
    /median 40 ms exceeds the ceiling of 30 ms\n {2}measured: median 40 ms \[95% CI/,
  )
})

describe('toMatchBaseline', () => {
  test('same within tolerance passes', () => {
    expectThroughput(result({ baseline: foundBaseline('cpu-test-2c', 40e6) })).toMatchBaseline()
  })

  test('a regression names both medians, rates, the baseline date, commit and file, and the device', () => {
    // 2x against a one-run baseline: beyond what the prior lets runs differ by at 1%
    const regressed = result({ medianNs: 80e6, baseline: settledBaseline('cpu-test-2c', 40e6) })
    expect(regressed.verdict?.kind).toBe('regressed')
    const message = failure(() => expectThroughput(regressed).toMatchBaseline())
    expect(message).toContain("'gemm-1000' on cpu-test-2c (cpu, Test CPU (2 cores)) regressed against its baseline")
    expect(message).toMatch(/now: +median 80 ms \[95% CI .*\], n = 50, 25 GFLOP\/s/)
    expect(message).toMatch(
      /baseline: +median 40 ms \[95% CI .*\], n = 50, 2.4 GFLOP\/s, recorded 2026-11-20T10:00:00.000Z at commit abc1234def \(\/tmp\/baselines\/cpu-test-2c.json\)/,
    )
    expect(message).toMatch(/ratio now\/baseline 2.000x \[1.9\d\dx – 2.0\d\dx\], tolerance 5.0%/)
  })

  test('a one-run baseline does not call 30% a regression: how much runs differ is unknown', () => {
    const slower = result({ medianNs: 52e6, baseline: settledBaseline('cpu-test-2c', 40e6) })
    expect(slower.verdict?.kind).toBe('slower')
    expect(slower.verdict?.reason).toMatch(/within what runs differ by/)
    expectThroughput(slower).toMatchBaseline()
  })

  test("in a run of the plugin, a regression is left to the run's decision, with a notice", () => {
    const notices: string[] = []
    const regressed = result({ medianNs: 80e6, baseline: settledBaseline('cpu-test-2c', 40e6) })
    linkResult(regressed, {
      key: 'gemm-1000',
      judgement: new Judgement(regressed.measurement.stats, regressed.baseline, 0.05),
      context: {
        annotate: async (message: string) => {
          notices.push(message)
        },
      } as unknown as TestContext,
      tolerance: 0.05,
      strict: false,
      update: 'none',
    })
    expectThroughput(regressed).toMatchBaseline()
    expect(notices).toEqual([expect.stringMatching(/reads regressed on its own; the run's error control decides/)])
  })

  test('in a run of the plugin, the verdict reported is the judgement’s at the tolerance asked for last', () => {
    const slower = result({ medianNs: 80e6, baseline: settledBaseline('cpu-test-2c', 40e6) })
    const judgement = new Judgement(slower.measurement.stats, slower.baseline, 0.05)
    const context = { annotate: async () => {} } as unknown as TestContext
    linkResult(slower, { key: 'gemm-1000', judgement, context, tolerance: 0.05, strict: false, update: 'none' })
    expect(judgement.verdict?.kind).toBe('regressed')
    expectThroughput(slower).toMatchBaseline({ tolerance: 0.4 })
    expect(judgement.tolerance).toBe(0.4)
    expect(judgement.verdict?.kind).not.toBe('regressed')
    expect(judgement.verdict).toEqual(verdictFor(slower.measurement.stats, slower.baseline, 0.4))
    expectThroughput(slower).toMatchBaseline()
    expect(judgement.verdict?.kind).toBe('regressed')
  })

  test('a larger tolerance accepts the same slowdown', () => {
    const slower = result({ medianNs: 80e6, baseline: settledBaseline('cpu-test-2c', 40e6) })
    expect(() => expectThroughput(slower).toMatchBaseline()).toThrow(/regressed/)
    expectThroughput(slower).toMatchBaseline({ tolerance: 0.4 })
    expect(() => expectThroughput(slower).toMatchBaseline({ tolerance: 2 })).toThrow(/tolerance/)
  })

  test('no baseline passes (with a notice) unless strict', () => {
    expectThroughput(result()).toMatchBaseline()
    expect(failure(() => expectThroughput(result()).toMatchBaseline({ strict: true }))).toMatch(
      /no baseline on this device \(\/b\/cpu-test-2c.json\); run `vitest bench -u` on this device to record one \(strict mode/,
    )
  })

  test('an invalid baseline file fails with its file and JSON pointer', () => {
    const invalid = result({
      baseline: {
        state: 'invalid',
        file: '/b/cpu-test-2c.json',
        pointer: '/entries/gemm-1000/stats/n',
        message: '/b/cpu-test-2c.json at /entries/gemm-1000/stats/n: must be integer',
      },
    })
    expect(failure(() => expectThroughput(invalid).toMatchBaseline())).toContain(
      '/b/cpu-test-2c.json at /entries/gemm-1000/stats/n: must be integer',
    )
  })

  test('under -u, a fault inside its own entry is a notice (the run records it afresh); elsewhere it still fails', () => {
    const invalidAt = (pointer: string): GpuBenchResult =>
      result({
        baseline: {
          state: 'invalid',
          file: '/b/cpu-test-2c.json',
          pointer,
          message: `/b/cpu-test-2c.json at ${pointer}: must be >= 0.000001, got 0`,
        },
      })
    const notices: string[] = []
    const link = (r: GpuBenchResult, update: 'none' | 'all') =>
      linkResult(r, {
        key: 'gemm-1000',
        judgement: new Judgement(r.measurement.stats, r.baseline, 0.05),
        context: {
          annotate: async (message: string) => {
            notices.push(message)
          },
        } as unknown as TestContext,
        tolerance: 0.05,
        strict: false,
        update,
      })
    const own = invalidAt('/entries/gemm-1000/stats/medianNs')
    link(own, 'all')
    expectThroughput(own).toMatchBaseline()
    expect(notices).toEqual([
      expect.stringContaining(
        'at /entries/gemm-1000/stats/medianNs: must be >= 0.000001, got 0; this run records the entry afresh',
      ),
    ])
    const other = invalidAt('/entries/other/stats/medianNs')
    link(other, 'all')
    expect(failure(() => expectThroughput(other).toMatchBaseline())).toContain('at /entries/other/stats/medianNs')
    const withoutUpdate = invalidAt('/entries/gemm-1000/stats/medianNs')
    link(withoutUpdate, 'none')
    expect(failure(() => expectThroughput(withoutUpdate).toMatchBaseline())).toContain('/entries/gemm-1000')
  })

  test('with several results (backend: all), every failing one is listed', () => {
    const good = result({ baseline: foundBaseline('cpu-test-2c', 40e6) })
    const bad = {
      ...result({ medianNs: 120e6, baseline: settledBaseline('cpu-test-2c', 40e6) }),
      backend: 'webgpu' as const,
    }
    const message = failure(() => expectThroughput([good, bad]).toMatchBaseline())
    expect(message.match(/regressed against its baseline/g)).toHaveLength(1)
    expect(message).toContain('(webgpu, Test CPU (2 cores))')
  })
})

describe('toReachRooflineFraction', () => {
  test('uses the device peak: 2e9 FLOP at 200 GFLOP/s is 10 ms, so 40 ms is 25%', () => {
    expectThroughput(result({ peak: true })).toReachRooflineFraction(0.25)
    expect(failure(() => expectThroughput(result({ peak: true })).toReachRooflineFraction(0.5))).toMatch(
      /reaches 25.0% of its roofline, below the required 50.0%\n {2}roofline time 10 ms \(peak 200 GFLOP\/s, 20 GB\/s\)/,
    )
  })

  test('an unknown peak fails rather than passes', () => {
    expect(failure(() => expectThroughput(result()).toReachRooflineFraction(0.1))).toContain(
      "the device's peak is unknown",
    )
  })

  test('the fraction must be in (0, 1]', () => {
    expect(() => expectThroughput(result({ peak: true })).toReachRooflineFraction(1.5)).toThrow(TypeError)
  })
})

test('expectThroughput refuses what is not a result', () => {
  expect(() => expectThroughput({} as GpuBenchResult)).toThrow('is not a result of bench.gpu(...).run()')
  expect(() => expectThroughput([])).toThrow('empty list')
})

test('each check counts as an assertion of the test (expect.assertions sees them)', () => {
  expect.assertions(3)
  expectThroughput(result()).toBeAtLeast('1 GFLOP/s')
  expectThroughput([result(), result()]).toTakeAtMost('1 s')
})
