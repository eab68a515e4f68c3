/**
 * Every built-in kernel, f32 and f16, on odd sizes (not multiples of the tiles), verified against
 * core's float64 reference; timings present and positive; the cold run apart.
 */
import { type Dtype, describeWorkload, gemm, gemv, launch, vjp, type Workload } from '@gpubench/core'
import { afterAll, describe, expect, it } from 'vitest'
import { createWebgpuBackend, type WebgpuBackend, webgpuBackend, webgpuKernel } from '../src/index.ts'
import { probe, unavailable } from './adapter.ts'

const DTYPES: Dtype[] = ['f32', 'f16']

function workloads(dtype: Dtype): Workload[] {
  return [
    gemm({ batch: 2, m: 37, n: 45, k: 29, dtype }),
    gemm({ m: 67, n: 70, k: 33, dtype, transA: true }),
    gemm({ m: 17, n: 66, k: 50, dtype, transB: true }),
    gemm({ batch: 3, m: 64, n: 65, k: 17, dtype, transA: true, transB: true }),
    gemv({ m: 70, n: 131, dtype }),
    gemv({ m: 131, n: 70, dtype, trans: true }),
    vjp({ mode: 'linear-map', m: 33, n: 99, dtype }),
    vjp({ mode: 'linear-layer', batch: 7, inFeatures: 30, outFeatures: 21, dtype }),
  ]
}

/** Prepares, runs cold, verifies against the float64 reference and times a workload. */
async function checkWorkload(backend: WebgpuBackend, w: Workload): Promise<void> {
  const support = backend.supports(w)
  if (w.kind !== 'launch' && w.dtype === 'f16' && support !== true) {
    // Only an adapter without shader-f16 may refuse, and it must say so.
    expect(support).toMatch(/shader-f16/)
    return
  }
  expect(support).toBe(true)
  const runnable = await backend.prepare(w)
  try {
    const coldNs = await runnable.cold()
    expect(coldNs).toBeGreaterThan(0)
    const report = await runnable.verify()
    expect(report.failure).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.scanned).toBeGreaterThan(0)
    const durations = await runnable.run(3)
    expect(durations).toHaveLength(3)
    for (const ns of durations) expect(ns).toBeGreaterThan(0)
    expect(runnable.hostDurationsNs).toHaveLength(3)
    expect(runnable.notes.join('\n')).toMatch(runnable.timing)
  } finally {
    await runnable.dispose()
  }
}

// lavapipe JIT-compiles each shader on its first dispatch (seconds on a busy 2-core machine).
describe.skipIf(unavailable)('webgpu workloads', { timeout: 30_000 }, () => {
  afterAll(() => webgpuBackend.shutdown())

  it('probes a described adapter with timestamp queries disabled from quantization', () => {
    if (!probe.available) throw new Error(probe.reason)
    expect(probe.device.backend).toBe('webgpu')
    expect(probe.device.id).toMatch(/^webgpu-[a-z0-9]+-[a-z0-9-]+$/)
    expect(probe.device.details.timestampQuantization).toBe(false)
  })

  for (const dtype of DTYPES) {
    for (const w of workloads(dtype)) {
      it(`${describeWorkload(w)}: matches the float64 reference and times positive`, () =>
        checkWorkload(webgpuBackend, w))
    }
  }

  // The default picks one GEMM kernel per adapter; the other one is checked here too.
  const software = probe.available && probe.device.software === true
  const other = software ? 'tiled' : 'registers'
  const otherBackend = createWebgpuBackend({ gemmKernel: other })
  for (const dtype of DTYPES) {
    for (const w of workloads(dtype).filter(
      (w) => w.kind === 'gemm' || (w.kind === 'vjp' && w.mode === 'linear-layer'),
    )) {
      it(`${describeWorkload(w)} with the '${other}' GEMM kernel: matches the reference`, async () => {
        await otherBackend.probe()
        await checkWorkload(otherBackend, w)
      })
    }
  }

  it('launch latency: a cold run apart, then per-dispatch times of many dispatches in one pass', async () => {
    const runnable = await webgpuBackend.prepare(launch({ launchesPerSample: 40 }))
    try {
      const coldNs = await runnable.cold()
      const warm = await runnable.run(5)
      expect(warm.every((ns) => ns > 0)).toBe(true)
      // Pipeline creation and the first submit cost more than one dispatch among forty.
      expect(coldNs).toBeGreaterThan(Math.max(...warm))
      expect(runnable.notes.join('\n')).toMatch(/40 dispatches divided by 40/)
      expect((await runnable.verify()).ok).toBe(true)
    } finally {
      await runnable.dispose()
    }
  })

  it('timestamps are not quantized (Dawn rounds them to multiples of 65536 ns unless told not to)', async () => {
    const target = webgpuKernel({
      name: 'one store',
      wgsl: '@group(0) @binding(0) var<storage, read_write> b: array<f32>;\n@compute @workgroup_size(1) fn main() { b[0] = b[0] + 1.0; }',
      bindings: [{ sizeBytes: 4 }],
      workgroups: 1,
    })
    const runnable = await webgpuBackend.prepare(target)
    try {
      if (runnable.timing !== 'webgpu-timestamps') return // host timing: nothing quantized to check
      const durations = await runnable.run(20)
      expect(durations.some((ns) => ns % 65536 !== 0)).toBe(true)
    } finally {
      await runnable.dispose()
    }
  })

  it('timestamps track the work: a 4x larger GEMM takes longer', async () => {
    const small = await webgpuBackend.prepare(gemm({ m: 64, n: 64, k: 64 }))
    const large = await webgpuBackend.prepare(gemm({ m: 128, n: 128, k: 64 }))
    try {
      expect(small.notes).toContain(`gemm kernel: '${software ? 'registers' : 'tiled'}' (see kernels/gemm.ts)`)
      await small.cold()
      await large.cold()
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0
      expect(median(await large.run(7))).toBeGreaterThan(median(await small.run(7)))
    } finally {
      await small.dispose()
      await large.dispose()
    }
  })
})
