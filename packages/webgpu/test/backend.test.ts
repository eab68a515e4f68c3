/**
 * The backend's contract where no device work is needed: an adapter that cannot be found is an
 * "unavailable" with the Dawn backend named (never a stub), and f16 workloads are refused with the
 * reason where the adapter lacks shader-f16.
 */
import { BackendUnavailableError, type DeviceDescription, gemm, type Probe } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { createWebgpuBackend } from '../src/index.ts'
import { f16Support } from '../src/webgpu-backend.ts'

function probeWith(shaderF16: boolean): Probe {
  const device: DeviceDescription = {
    id: 'webgpu-vulkan-test',
    backend: 'webgpu',
    name: 'Test GPU',
    software: false,
    details: { shaderF16 },
  }
  return { available: true, device }
}

describe('webgpu backend contract', () => {
  it('says f16 is unsupported, and why, where the adapter lacks shader-f16', () => {
    expect(f16Support(probeWith(false), 'gemm 1x8x8x8 f16')).toBe(
      "gemm 1x8x8x8 f16: f16 needs the 'shader-f16' feature, which adapter 'Test GPU' lacks",
    )
    expect(f16Support(probeWith(true), 'x')).toBe(true)
    expect(f16Support(undefined, 'x')).toMatch(/call probe\(\) first/)
    expect(f16Support({ available: false, reason: 'no adapter' }, 'x')).toBe('no adapter')
  })

  it('reports a Dawn backend without an adapter as unavailable, naming the backend', async () => {
    // Metal does not exist on Linux or Windows; on macOS, D3D12 does not exist.
    const missing = process.platform === 'darwin' ? 'd3d12' : 'metal'
    const backend = createWebgpuBackend({ backend: missing })
    const probe = await backend.probe()
    expect(probe.available).toBe(false)
    if (probe.available) return
    // Either no adapter, or the binding itself did not load here: both are reasons, never a stub.
    expect(probe.reason).toMatch(new RegExp(`no WebGPU adapter found \\(Dawn backend ${missing}\\)|'webgpu'`))
    expect(backend.supports(gemm({ m: 2, n: 2, k: 2 }))).toBe(probe.reason)
    await expect(backend.prepare(gemm({ m: 2, n: 2, k: 2 }))).rejects.toBeInstanceOf(BackendUnavailableError)
    await backend.shutdown()
  })

  it('reports bad environment settings as the unavailable reason, naming the variable', async () => {
    const saved = process.env.GPUBENCH_WEBGPU_BACKEND
    process.env.GPUBENCH_WEBGPU_BACKEND = 'directx9'
    try {
      const probe = await createWebgpuBackend().probe()
      expect(probe).toEqual({
        available: false,
        reason: expect.stringMatching(/\$GPUBENCH_WEBGPU_BACKEND must be one of .*got "directx9"/),
      })
    } finally {
      if (saved === undefined) delete process.env.GPUBENCH_WEBGPU_BACKEND
      else process.env.GPUBENCH_WEBGPU_BACKEND = saved
    }
  })
})
