import { BackendUnavailableError, gemm, gemv, launch, vjp, type Workload } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { createCudaBackend, cudaBackend, cudaDeviceDescription, loadAddon } from '../src/index.ts'

const load = await loadAddon()
const probe = await cudaBackend.probe()

test.skipIf(probe.available)(
  'without a usable GPU the CUDA backend is unavailable with the runtime reason, and prepare says so',
  async () => {
    if (probe.available || !load.ok) throw new Error(load.ok ? 'a GPU is available' : load.reason)
    if (load.addon.build.cuda) {
      // Built with nvcc: the static runtime loaded without a driver and reports why (e.g. insufficient driver).
      expect(probe.reason).toMatch(/\(cudaGetDeviceCount: cudaError\w+\)|no CUDA device found/)
      // Without a driver (or with one older than the static runtime needs) the reason says which release is needed.
      if (probe.reason.includes('cudaErrorInsufficientDriver'))
        expect(probe.reason).toMatch(
          /needs an NVIDIA driver of release \d+ or newer \(R\d+\+\); (installed: \S+|no NVIDIA driver found)/,
        )
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
  for (const runs of [0, 1001, 2.5, Number.NaN])
    expect(() => createCudaBackend({ runsPerSample: runs })).toThrow(
      /'runsPerSample' must be an integer from 1 to 1000/,
    )
  expect(() => createCudaBackend({ runsPerSample: 1 })).not.toThrow()
})

test('the device description: driver release, CUDA API version apart, peaks with their source', () => {
  const facts = {
    available: true as const,
    name: 'NVIDIA H100 80GB HBM3',
    computeCapability: '9.0',
    smCount: 132,
    memoryBytes: 85e9,
    l2CacheBytes: 52428800,
    clockKHz: 1_980_000,
    memoryClockKHz: 2_619_000,
    memoryBusWidthBits: 5120,
    driverApiVersion: 13000,
    driverRelease: '580.65.06',
    runtimeVersion: 13000,
    cublas: '/usr/local/cuda/lib64/libcublas.so.13',
    nvml: 'libnvidia-ml.so.1 (total energy counter)',
  }
  const d = cudaDeviceDescription(facts, 'cublas')
  expect(d.driver).toBe('580.65.06')
  expect(d.details).toMatchObject({ driverApiVersion: 13000, peakF16ClockKHz: 1_830_000, gemm: 'cublas' })
  expect(d.details.peakF16Source).toMatch(/^table: H100 SXM5/)
  expect(d.peak?.flopPerSecond?.f16).toBeLessThan(1e15)
  expect(cudaDeviceDescription({ ...facts, driverRelease: '' }, 'own').driver).toBe(
    'unknown release (CUDA 13.0 driver API)',
  )
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
      expect(probe.device.details.peakF16Source).toEqual(expect.any(String))
      // The driver's release ("580.65.06"), not the CUDA API version (13000).
      expect(probe.device.driver).toMatch(/^\d{3}\.\d+(\.\d+)?$/)
    })

    test('copies and kernels share one stream: verification holds run after run at a size where a race shows', async () => {
      const r = await cudaBackend.prepare(gemv({ m: 8192, n: 8192, trans: true }))
      try {
        for (let i = 0; i < 5; i++) expect((await r.verify()).ok).toBe(true)
      } finally {
        await r.dispose()
      }
    })

    test('grids beyond 65535 (batch, tall m) run on the own kernels', async () => {
      const backend = createCudaBackend({ gemm: 'own' })
      for (const w of [
        gemm({ batch: 70000, m: 4, n: 4, k: 4 }),
        gemm({ m: 65535 * 64 + 5, n: 3, k: 2 }),
        gemm({ batch: 66000, m: 3, n: 5, k: 17, dtype: 'f16' }),
      ]) {
        const r = await backend.prepare(w)
        try {
          expect((await r.verify()).ok).toBe(true)
        } finally {
          await r.dispose()
        }
      }
    })

    test('a short kernel is timed as several runs per event pair, warmed up for 100 ms, labelled cache-resident', async () => {
      const r = await cudaBackend.prepare(gemv({ m: 512, n: 512 }))
      try {
        await r.run(5)
        const notes = r.notes.join('\n')
        expect(notes).toMatch(/timing: CUDA events around (\d+) back-to-back run\(s\) per sample/)
        const runs = Number(/around (\d+) back-to-back/.exec(notes)?.[1])
        expect(runs).toBeGreaterThan(1)
        expect(notes).toMatch(/cache: cache-resident/)
        const warm = /warm-up: \d+ runs in (\d+) ms/.exec(notes)
        expect(Number(warm?.[1])).toBeGreaterThanOrEqual(100)
      } finally {
        await r.dispose()
      }
    })

    test('the option runsPerSample fixes the runs per event pair', async () => {
      const r = await createCudaBackend({ runsPerSample: 1 }).prepare(gemv({ m: 512, n: 512 }))
      try {
        await r.run(3)
        expect(r.notes.join('\n')).toMatch(
          /around 1 back-to-back run\(s\) per sample, .*\(fixed by the option runsPerSample\)/,
        )
      } finally {
        await r.dispose()
      }
    })

    test('a long kernel is timed one run per pair with the L2 flushed outside the timed span', async () => {
      const r = await createCudaBackend({ gemm: 'own' }).prepare(gemm({ m: 2048, n: 2048, k: 2048 }))
      try {
        await r.run(3)
        expect(r.notes.join('\n')).toMatch(/around 1 back-to-back run\(s\)[\s\S]*cache: L2 flushed before each sample/)
      } finally {
        await r.dispose()
      }
    })

    test('the GEMM path is in the notes: cuBLAS with its file, or a loud fallback', async () => {
      const r = await cudaBackend.prepare(gemm({ m: 64, n: 64, k: 64 }))
      try {
        expect(r.notes.join('\n')).toMatch(/gemm: (cublas \(\S*libcublas\S*\)|FALLBACK to the own kernel)/)
      } finally {
        await r.dispose()
      }
    })

    test('energy is reported only over at least a second of runs, and says what it covers', async () => {
      const r = await cudaBackend.prepare(gemv({ m: 4096, n: 4096 }))
      try {
        await r.run(3)
        const early = r.notes.find((n) => n.startsWith('energy:')) ?? ''
        expect(early).toMatch(/not reported/)
        const adapter = r as unknown as { energyJoulesPerRun: number | null }
        expect(adapter.energyJoulesPerRun).toBeNull()
        const t0 = performance.now()
        while (performance.now() - t0 < 1500) await r.run(200)
        const note = r.notes.find((n) => n.startsWith('energy:')) ?? ''
        if (/NVML/.test(note)) return // no counter on this device: nothing more to check
        expect(note).toMatch(/J per run, summed over \d+ run\(\) calls/)
        expect(adapter.energyJoulesPerRun).toBeGreaterThan(0)
      } finally {
        await r.dispose()
      }
    })
  },
)
