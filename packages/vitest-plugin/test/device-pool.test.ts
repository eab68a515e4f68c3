/**
 * Device pools: machines that share one baseline file per backend. The worker compares with the
 * pool's file, -u writes to it under the pool's id, and the records keep the real device.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { baselineEntryOf, type RunSummary, updateBaseline } from '@gpubench/core'
import { afterEach, describe, expect, test } from 'vitest'
import { planBaselineWrites } from '../src/node/update-policy.ts'
import { lookupBaseline, MIN_MACHINE_RUNS, poolIdOf } from '../src/runtime/baseline-lookup.ts'
import { verdictFor } from '../src/runtime/verdict.ts'
import { collected, measuredRecord, statsAround } from './records.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('device pools', () => {
  test('the pool file of a backend: <backend>-<pool>, from the option or GPUBENCH_DEVICE_ALIAS', () => {
    expect(poolIdOf('cpu', 'ci-2core', {})).toBe('cpu-ci-2core')
    expect(poolIdOf('webgpu', undefined, { GPUBENCH_DEVICE_ALIAS: 'ci-2core' })).toBe('webgpu-ci-2core')
    expect(poolIdOf('cpu', null, {})).toBeNull()
    expect(poolIdOf('cpu', undefined, { GPUBENCH_DEVICE_ALIAS: '' })).toBeNull()
    expect(() => poolIdOf('cpu', undefined, { GPUBENCH_DEVICE_ALIAS: 'Intel/AMD' })).toThrow(/GPUBENCH_DEVICE_ALIAS/)
  })

  test('-u writes a pooled record to the pool file under the pool id; the record keeps the real device', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gpubench-pool-'))
    dirs.push(dir)
    const file = join(dir, 'cpu-ci-2core.json')
    const amd = measuredRecord({ key: 'gemv', deviceId: 'cpu-amd-epyc-7b13-2c', pool: 'cpu-ci-2core' })
    const pooled = collected({ ...amd, baseline: { state: 'missing', file } })
    const plan = planBaselineWrites([pooled], 'all', 'passed', null)
    expect(plan.writes.map((w) => [w.file, w.deviceId, w.device.name])).toEqual([
      [file, 'cpu-ci-2core', 'Test CPU (2 cores)'],
    ])
    const write = plan.writes[0]!
    await updateBaseline(write.dir, write.device, write.entries)
    expect(JSON.parse(await readFile(file, 'utf8')).device.id).toBe('cpu-ci-2core')
    expect(amd.device.id).toBe('cpu-amd-epyc-7b13-2c')
    // another machine of the pool finds it under the pool's id, with the file's pooled prior
    const found = await lookupBaseline(dir, 'cpu-ci-2core', 'gemv')
    expect(found.state).toBe('found')
    expect(found.state === 'found' && found.devicePrior).toEqual({ sd: 0.05, df: 2 })
    // and its own device's file does not exist
    expect((await lookupBaseline(dir, 'cpu-intel-xeon-f6-m167-2c', 'gemv')).state).toBe('missing')
  })

  test("a machine with runs of its own in the pool's file is compared with those; one without, with every run", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gpubench-pool-'))
    dirs.push(dir)
    const AMD = 'cpu-amd-epyc-f25-m17-2c'
    const INTEL = 'cpu-intel-xeon-f6-m167-2c'
    // Two machine types 1.5x apart, three runs each, recorded on two days (two sittings).
    const run = (medianNs: number, deviceId: string, recordedAt: string): RunSummary => {
      const { ciLowNs, ciHighNs, ciLevel, n } = statsAround(medianNs)
      return { medianNs, ciLowNs, ciHighNs, ciLevel, n, recordedAt, deviceId }
    }
    const runs: [RunSummary, ...RunSummary[]] = [
      run(2.4e6, INTEL, '2026-12-02T10:00:00.000Z'),
      run(2.45e6, INTEL, '2026-12-02T10:03:00.000Z'),
      run(2.35e6, INTEL, '2026-12-02T10:06:00.000Z'),
      run(1.6e6, AMD, '2026-12-03T10:00:00.000Z'),
      run(1.62e6, AMD, '2026-12-03T10:03:00.000Z'),
      run(1.58e6, AMD, '2026-12-07T10:00:00.000Z'),
    ]
    const entry = baselineEntryOf({
      target: 'gemm',
      backend: 'cpu',
      timing: 'steady-clock',
      stats: statsAround(1.58e6),
      coldNs: null,
      flopPerSecond: null,
      bytesPerSecond: null,
      gpubenchVersion: '0.1.0',
      deviceId: AMD,
      recordedAt: '2026-12-07T10:00:00.000Z',
    })
    const device = { id: 'cpu-ci-2core', backend: 'cpu', name: 'pool ci-2core', details: {} }
    await updateBaseline(dir, device, { gemm: { ...entry, runs } })

    const amd = await lookupBaseline(dir, 'cpu-ci-2core', 'gemm', AMD)
    expect(amd.state).toBe('found')
    if (amd.state !== 'found') return
    expect(amd.machine).toBe(AMD)
    expect(amd.runs.map((r) => r.deviceId)).toEqual([AMD, AMD, AMD])
    expect(amd.deviceSittings).toBe(2)

    // A machine with fewer than MIN_MACHINE_RUNS runs of its own, and a lookup for no machine: every run.
    for (const machine of ['cpu-amd-epyc-f26-m2-2c', null]) {
      const all = await lookupBaseline(dir, 'cpu-ci-2core', 'gemm', machine)
      expect(all.state === 'found' && all.runs.length).toBe(6)
      expect(all.state === 'found' && all.machine).toBeUndefined()
    }
    expect(MIN_MACHINE_RUNS).toBe(2)

    // Twice the work on the AMD machine: against its own runs, a regression; against the whole
    // pool, whose types differ by 1.5x, only "slower" (the pool's spread hides it).
    const twice = statsAround(3.2e6)
    const own = verdictFor(twice, amd, 0.05)
    expect(own?.kind).toBe('regressed')
    expect(own?.ownRuns).toBe(true)
    expect(own?.baselineRuns).toBe(3)
    const pooled = verdictFor(twice, await lookupBaseline(dir, 'cpu-ci-2core', 'gemm', null), 0.05)
    expect(pooled?.kind).not.toBe('regressed')
    expect(pooled?.ownRuns).toBeUndefined()
    expect(own!.logSe).toBeLessThan(pooled!.logSe!)
  })
})
