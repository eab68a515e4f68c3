import { BackendUnavailableError, gemm, gemv, launch, vjp, type Workload } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { createCudaBackend, cudaBackend, loadAddon } from '../src/index.ts'

const load = await loadAddon()
const probe = await cudaBackend.probe()

test.skipIf(probe.available)(
  'without a usable GPU the CUDA backend is unavailable with the runtime reason, and prepare says so',
  async () => {
    if (probe.available || !load.ok) throw new Error(load.ok ? 'a GPU is available' : load.reason)
    if (load.addon.build.cuda) {
      // Built with nvcc: the static runtime loaded without a driver and reports why (e.g. insufficient driver).
      expect(probe.reason).toMatch(/\(cudaGetDeviceCount: cudaError\w+\)|no CUDA device found/)
    } else {
      expect(probe.reason).toMatch(/^CUDA not built: /)
    }
    const error = await cudaBackend.prepare(launch()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendUnavailableError)
    expect(String((error as Error).message)).toContain(probe.reason)
  },
)

const builtWithoutDevice = !probe.available && load.ok && load.addon.build.cuda
test.skipIf(!builtWithoutDevice)('the native layer refuses CUDA work with the same reason (no stub, no zeros)', () => {
  if (!load.ok) throw new Error(load.reason)
  expect(() => new load.addon.Runnable('cuda', launch())).toThrow(/CUDA unavailable: /)
})

test('bad options are refused by name', () => {
  expect(() => createCudaBackend({ gemm: 'cutlass' as 'own' })).toThrow(/'gemm'/)
})

// GPU-only: runs where a CUDA device is present, skipped (with the reason) elsewhere.
const gpuWorkloads: Workload[] = [
  gemm({ batch: 3, m: 37, n: 45, k: 70 }),
  gemm({ batch: 2, m: 65, n: 33, k: 17, transA: true }),
  gemm({ batch: 1, m: 40, n: 70, k: 33, transB: true, dtype: 'f16' }),
  gemm({ batch: 2, m: 50, n: 31, k: 45, transA: true, transB: true, dtype: 'f16' }),
  gemv({ m: 300, n: 517 }),
  gemv({ m: 300, n: 517, trans: true, dtype: 'f16' }),
  vjp({ mode: 'linear-map', m: 129, n: 67, dtype: 'f16' }),
  vjp({ mode: 'linear-layer', batch: 9, inFeatures: 70, outFeatures: 33 }),
  vjp({ mode: 'linear-layer', batch: 9, inFeatures: 70, outFeatures: 33, dtype: 'f16' }),
  launch({ launchesPerSample: 10 }),
]

describe.skipIf(!probe.available)(
  `on the GPU (${probe.available ? probe.device.name : `skipped: ${probe.available ? '' : probe.reason}`})`,
  () => {
    for (const choice of ['own', 'auto'] as const) {
      const backend = createCudaBackend({ gemm: choice })
      test.each(gpuWorkloads.map((w) => [JSON.stringify(w), w] as const))(`gemm ${choice}: %s`, async (_, w) => {
        const r = await backend.prepare(w)
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
    }

    test('an allocation beyond device memory fails cleanly, then a normal workload still runs', async () => {
      const huge = vjp({ mode: 'linear-layer', batch: 46340, inFeatures: 46340, outFeatures: 46340 })
      await expect(cudaBackend.prepare(huge)).rejects.toThrow(/vjp linear-layer .* on cuda-.*needs .* of device memory/)
      const r = await cudaBackend.prepare(gemm({ m: 16, n: 16, k: 16 }))
      expect((await r.verify()).ok).toBe(true)
      await r.dispose()
    })

    test('the device description carries what roofline fractions need', () => {
      if (!probe.available) throw new Error(probe.reason)
      expect(probe.device.details.smCount).toBeGreaterThan(0)
      expect(probe.device.peak?.bytesPerSecond).toBeGreaterThan(0)
    })
  },
)
