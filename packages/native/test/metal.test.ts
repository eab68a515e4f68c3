import { gemm, gemv, launch, vjp, type Workload } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { metalBackend } from '../src/index.ts'

const probe = await metalBackend.probe()

test.skipIf(process.platform === 'darwin')('off macOS the Metal backend is unavailable and says why', () => {
  expect(probe.available ? 'available' : probe.reason).toMatch(/Metal not built: Metal exists only on macOS/)
})

const workloads: Workload[] = [
  gemm({ batch: 2, m: 37, n: 45, k: 70 }),
  gemm({ batch: 1, m: 40, n: 70, k: 33, transA: true, transB: true, dtype: 'f16' }),
  gemv({ m: 300, n: 517 }),
  gemv({ m: 300, n: 517, trans: true, dtype: 'f16' }),
  vjp({ mode: 'linear-map', m: 129, n: 67 }),
  vjp({ mode: 'linear-layer', batch: 9, inFeatures: 70, outFeatures: 33, dtype: 'f16' }),
  launch({ launchesPerSample: 10 }),
]

// macOS only (the project's macos-native workflow); skipped elsewhere.
describe.skipIf(!probe.available)('on the Apple GPU', () => {
  test.each(workloads.map((w) => [JSON.stringify(w), w] as const))('%s', async (_, w) => {
    const r = await metalBackend.prepare(w)
    try {
      const report = await r.verify()
      expect(report.failure).toBeUndefined()
      expect(report.ok).toBe(true)
      const samples = await r.run(3)
      expect(samples).toHaveLength(3)
      for (const s of samples) expect(s).toBeGreaterThan(0)
    } finally {
      await r.dispose()
      await r.dispose()
    }
  })
})
