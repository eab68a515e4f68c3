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
  // Enough rows for Aᵀ·x to be split across threadgroups (a second pass adds the splits).
  gemv({ m: 4096, n: 96, trans: true }),
  vjp({ mode: 'linear-map', m: 4096, n: 96, dtype: 'f16' }),
  vjp({ mode: 'linear-map', m: 129, n: 67 }),
  vjp({ mode: 'linear-layer', batch: 9, inFeatures: 70, outFeatures: 33, dtype: 'f16' }),
  launch({ launchesPerSample: 10 }),
]

// macOS only (the project's macos-native workflow); skipped elsewhere.
describe.skipIf(!probe.available)(
  `on the Apple GPU (${probe.available ? probe.device.name : `skipped: ${probe.reason}`})`,
  () => {
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

    test('launch latency: dispatches in one command buffer, the per-command-buffer figure apart', async () => {
      const r = await metalBackend.prepare(launch({ launchesPerSample: 50 }))
      try {
        await r.run(3)
        const notes = r.notes.join('\n')
        expect(notes).toMatch(/timing: 50 dispatches in one command buffer per sample/)
        expect(notes).toMatch(/per command buffer: \d+ ns \(50 command buffers of one dispatch each/)
      } finally {
        await r.dispose()
      }
    })

    test('a short kernel is timed several runs per command buffer after a 100 ms warm-up', async () => {
      const r = await metalBackend.prepare(gemv({ m: 256, n: 256 }))
      try {
        await r.run(3)
        const notes = r.notes.join('\n')
        const runs = Number(/timing: (\d+) back-to-back run\(s\) per command buffer/.exec(notes)?.[1])
        expect(runs).toBeGreaterThan(1)
        expect(Number(/warm-up: \d+ runs in (\d+) ms/.exec(notes)?.[1])).toBeGreaterThanOrEqual(100)
      } finally {
        await r.dispose()
      }
    })

    test('how MPS accumulates f16 is checked and said', async () => {
      const r = await metalBackend.prepare(gemm({ m: 64, n: 64, k: 64, dtype: 'f16' }))
      try {
        expect(r.notes.join('\n')).toMatch(
          /MPS f16 accumulation: (f32 \(or wider\)|f16, at least partly): a k = 4096 product/,
        )
      } finally {
        await r.dispose()
      }
    })
  },
)
