/** Builders of plain records and results for the unit tests (no measurement involved). */
import { runSummaryOf, type SampleStats, summarize } from '@gpubench/core'
import type { BaselineLookup, CollectedRecord, MeasuredRecord, SkippedRecord } from '../src/record.ts'

/** Statistics of samples spread ±spread around a median (deterministic). */
export function statsAround(medianNs: number, spread = 0.01, n = 50): SampleStats {
  const samples = Array.from({ length: n }, (_, i) => medianNs * (1 + spread * ((2 * i) / (n - 1) - 1)))
  return summarize(samples, { seed: 1 })
}

export function measuredRecord(
  overrides: Partial<MeasuredRecord> & { key?: string; deviceId?: string } = {},
): MeasuredRecord {
  const { deviceId = 'host-test-cpu-2c', key = 'busy-loop', ...rest } = overrides
  const stats = statsAround(1e6)
  return {
    status: 'measured',
    key,
    backend: 'host',
    device: { id: deviceId, backend: 'host', name: 'Test CPU (2 cores)', details: {} },
    entry: {
      target: key,
      backend: 'host',
      timing: 'steady-clock',
      stats,
      coldNs: 3e6,
      flopPerSecond: 2.4e9,
      bytesPerSecond: null,
      recordedAt: '2026-11-22T03:00:00.000Z',
      commit: null,
      gpubenchVersion: '0.1.0',
    },
    baseline: { state: 'missing', file: `/tmp/baselines/${deviceId}.json` },
    verdict: null,
    stoppedBy: 'noise',
    relativeNoise: 0.004,
    wallTimeNs: 5e8,
    notes: [],
    ...rest,
  }
}

export function foundBaseline(deviceId = 'host-test-cpu-2c', medianNs = 1e6): BaselineLookup {
  return {
    state: 'found',
    file: `/tmp/baselines/${deviceId}.json`,
    stats: statsAround(medianNs),
    runs: [runSummaryOf({ stats: statsAround(medianNs), recordedAt: '2026-11-20T10:00:00.000Z' })],
    recordedAt: '2026-11-20T10:00:00.000Z',
    commit: 'abc1234def',
    flopPerSecond: 2.4e9,
    bytesPerSecond: null,
  }
}

export function skippedRecord(backend: SkippedRecord['backend'] = 'cuda', reason = 'no CUDA driver'): SkippedRecord {
  return { status: 'skipped', key: 'busy-loop', backend, reason }
}

export function collected(
  record: CollectedRecord['record'],
  test = 'busy loop',
  module = 'suites/a.bench.ts',
): CollectedRecord {
  return { record, module, test, testState: 'passed' }
}
