import { type HostInfo, isSafeDeviceId } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { describeAdapter } from '../src/describe.ts'
import { resolveOptions } from '../src/options.ts'

/** A stand-in for GPUAdapter with only what describeAdapter reads. */
function fakeAdapter(info: Partial<GPUAdapterInfo>, features: string[], isFallbackAdapter = false): GPUAdapter {
  return {
    info: { vendor: '', architecture: '', device: '', description: '', ...info },
    features: new Set(features),
    limits: { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27 },
    isFallbackAdapter,
  } as unknown as GPUAdapter
}

const linux = resolveOptions({}, {}, 'linux')

const epyc: HostInfo = {
  cpuModel: 'EPYC 7B13',
  cpuVendor: 'AMD',
  cores: 2,
  memoryBytes: 2 ** 34,
  os: 'Debian GNU/Linux 12',
  arch: 'x64',
  gpus: [],
}
const genericXeon: HostInfo = {
  ...epyc,
  cpuVendor: 'Intel',
  cpuModel: 'Xeon® Processor',
  cpuFamily: '6',
  cpuModelNumber: '143',
}

describe('describeAdapter', () => {
  it('marks lavapipe as software and gives it a stable id without driver versions, naming the CPU it runs on', () => {
    const adapter = fakeAdapter(
      {
        vendor: 'mesa',
        architecture: 'software',
        device: 'llvmpipe-llvm-15-0-6-256-bits-',
        description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
      },
      ['timestamp-query', 'shader-f16'],
      true,
    )
    const d = describeAdapter(adapter, linux, epyc)
    expect(d.id).toBe('webgpu-vulkan-llvmpipe-amd-epyc-7b13-2c')
    // The same adapter on another machine is another device: lavapipe's speed is its CPU's.
    expect(describeAdapter(adapter, linux, genericXeon).id).toBe('webgpu-vulkan-llvmpipe-intel-xeon-f6-m143-2c')
    expect(describeAdapter(adapter, linux, { ...epyc, cores: 8 }).id).toBe('webgpu-vulkan-llvmpipe-amd-epyc-7b13-8c')
    expect(() => describeAdapter(adapter, linux)).toThrow(/software adapter; its id needs the host CPU's facts/)
    expect(d.software).toBe(true)
    expect(d.backend).toBe('webgpu')
    expect(d.vendor).toBe('mesa')
    expect(d.driver).toContain('Mesa 25.0.7')
    expect(d.details).toMatchObject({ dawnBackend: 'vulkan', timestampQuery: true, shaderF16: true })
  })

  it('names a hardware adapter by backend, vendor and model, and records what it lacks', () => {
    const adapter = fakeAdapter(
      { vendor: 'nvidia', architecture: 'ada', device: 'NVIDIA GeForce RTX 4090', description: 'NVIDIA: 550.54.14' },
      [],
    )
    const d = describeAdapter(adapter, linux)
    expect(d.id).toBe('webgpu-vulkan-nvidia-nvidia-geforce-rtx-4090')
    // A hardware adapter's id does not depend on the host.
    expect(describeAdapter(adapter, linux, epyc).id).toBe(d.id)
    expect(isSafeDeviceId(d.id)).toBe(true)
    expect(d.software).toBe(false)
    expect(d.name).toBe('NVIDIA GeForce RTX 4090')
    expect(d.details).toMatchObject({ timestampQuery: false, shaderF16: false })
  })

  it('recognises SwiftShader by name even when the adapter does not say it is a fallback', () => {
    const d = describeAdapter(
      fakeAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' }, []),
      resolveOptions({ backend: 'vulkan' }, {}, 'linux'),
      epyc,
    )
    expect(d.software).toBe(true)
    expect(d.id).toBe('webgpu-vulkan-swiftshader-amd-epyc-7b13-2c')
  })

  it('keeps distinct hardware adapters apart: the model in parentheses is part of the id', () => {
    const idOf = (vendor: string, device: string) => describeAdapter(fakeAdapter({ vendor, device }, []), linux).id
    const ids = [
      idOf('intel', 'Intel(R) UHD Graphics 620 (KBL GT2)'),
      idOf('intel', 'Intel(R) Iris(R) Xe Graphics (TGL GT2)'),
      idOf('intel', 'Intel(R) Arc(tm) A770 Graphics (DG2)'),
      idOf('intel', 'Intel(R) Arc(tm) B580 Graphics (BMG G21)'),
      idOf('intel', 'Intel(R) UHD Graphics 630 (CFL GT2)'),
      idOf('qualcomm', 'Adreno (TM) 740'),
      idOf('qualcomm', 'Adreno (TM) 650'),
      idOf('amd', 'AMD Radeon Graphics (RADV RENOIR)'),
      idOf('amd', 'AMD Radeon Graphics (RADV GFX1103_R1)'),
      idOf('', '显卡 一'),
      idOf('', '显卡 二'),
    ]
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids[0]).toBe('webgpu-vulkan-intel-intel-uhd-graphics-620-kbl-gt2')
    expect(ids[5]).toBe('webgpu-vulkan-qualcomm-adreno-740')
    expect(ids[9]).toMatch(/^webgpu-vulkan-h[0-9a-f]{8}$/)
  })
})
