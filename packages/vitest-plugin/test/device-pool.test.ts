/**
 * Device pools: machines that share one baseline file per backend. The worker compares with the
 * pool's file, -u writes to it under the pool's id, and the records keep the real device.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { updateBaseline } from '@gpubench/core'
import { afterEach, describe, expect, test } from 'vitest'
import { planBaselineWrites } from '../src/node/update-policy.ts'
import { lookupBaseline, poolIdOf } from '../src/runtime/baseline-lookup.ts'
import { collected, measuredRecord } from './records.ts'

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
})
