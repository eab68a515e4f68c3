/**
 * `measureOn`: each round of the stopping rule is a fresh prepare by the chosen backend, every
 * runnable is disposed, and verification runs once, on the first round's runnable.
 */
import {
  type Backend,
  type DeviceDescription,
  hostFunction,
  type Runnable,
  stoppingRule,
  type VerifyReport,
} from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { GpuBenchError } from '../src/runtime/bench-gpu.ts'
import type { AvailableBackend } from '../src/runtime/registry.ts'
import { measureOn } from '../src/runtime/run-benchmark.ts'

const device: DeviceDescription = { id: 'fake-cpu-2c', backend: 'cpu', name: 'Fake CPU', details: {} }

/** A backend whose k-th prepare runs at 1 ms × modes[k]; it logs what is done to which runnable. */
function fakeBackend(modes: readonly number[], report: VerifyReport) {
  const log: string[] = []
  let prepared = 0
  const backend: Backend = {
    kind: 'cpu',
    probe: async () => ({ available: true, device }),
    supports: () => true,
    async prepare(target) {
      const k = prepared++
      log.push(`prepare ${k}`)
      const durationNs = 1e6 * (modes[k] ?? 1)
      const runnable: Runnable = {
        target,
        device,
        timing: 'steady-clock',
        notes: [`prepare ${k}`],
        cold: async () => 5 * durationNs,
        run: async (n) => Array.from({ length: n }, (_, i) => durationNs * (1 + 0.001 * (i % 7))),
        async verify() {
          log.push(`verify ${k}`)
          return report
        },
        async dispose() {
          log.push(`dispose ${k}`)
        },
      }
      return runnable
    },
  }
  const chosen: AvailableBackend = { kind: 'cpu', available: true, backend, device }
  return { chosen, log }
}

const ok: VerifyReport = { ok: true, checked: 4, scanned: 4, maxScaledError: 0.1, tolerance: 1, seed: 1 }
const rule = stoppingRule({ rounds: 3, minTimeNs: 0, minSamples: 30, maxTimeNs: 5e9 })
const target = hostFunction('fake', () => 0)

describe('measureOn', () => {
  test('prepares every round, verifies the first runnable once, disposes each', async () => {
    const { chosen, log } = fakeBackend([1, 1.3, 1], ok)
    const measured = await measureOn('fake', chosen, target, { rule, verify: true })
    expect(log).toEqual(['prepare 0', 'verify 0', 'dispose 0', 'prepare 1', 'dispose 1', 'prepare 2', 'dispose 2'])
    expect(measured.measurement.rounds).toBe(3)
    expect(measured.measurement.roundMediansNs.map((x) => Math.round(x / 1e5) / 10)).toEqual([1, 1.3, 1])
    // the second prepare's slower mode is in the interval, not averaged away
    expect(measured.measurement.stats.ciHighNs).toBeGreaterThan(1.25e6)
    // The first runnable's notes, then, when other processes kept the machine busy meanwhile
    // (other test files run beside this one), a note that says so.
    expect(measured.notes[0]).toBe('prepare 0')
    for (const note of measured.notes.slice(1)) expect(note).toMatch(/^other processes kept \d\.\d of \d+ CPUs busy/)
    if (process.platform === 'linux') expect(measured.load?.seconds).toBeGreaterThan(0)
    expect(measured.device).toBe(device)
  })

  test('without verification nothing is verified; with one round there is one prepare', async () => {
    const { chosen, log } = fakeBackend([1], ok)
    await measureOn('fake', chosen, target, { rule: stoppingRule({ ...rule, rounds: 1 }), verify: false })
    expect(log).toEqual(['prepare 0', 'dispose 0'])
  })

  test('a failed verification fails the benchmark after disposing the runnable; no more rounds', async () => {
    const bad: VerifyReport = {
      ok: false,
      checked: 4,
      scanned: 4,
      failure: 'element 3 differs',
      maxScaledError: 9,
      tolerance: 1,
      seed: 5,
    }
    const { chosen, log } = fakeBackend([1, 1, 1], bad)
    const run = measureOn('fake', chosen, target, { rule, verify: true })
    await expect(run).rejects.toThrow(GpuBenchError)
    await expect(measureOn('fake', fakeBackend([1], bad).chosen, target, { rule, verify: true })).rejects.toThrow(
      /fake on fake-cpu-2c \(cpu\): results differ from the float64 reference: element 3 differs/,
    )
    expect(log).toEqual(['prepare 0', 'verify 0', 'dispose 0'])
  })
})
