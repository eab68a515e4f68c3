import { isSafeDeviceId } from '@gpubench/core'
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

describe('describeAdapter', () => {
  it('marks lavapipe as software and gives it a stable id without driver versions', () => {
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
    const d = describeAdapter(adapter, linux)
    expect(d.id).toBe('webgpu-vulkan-llvmpipe')
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
    expect(isSafeDeviceId(d.id)).toBe(true)
    expect(d.software).toBe(false)
    expect(d.name).toBe('NVIDIA GeForce RTX 4090')
    expect(d.details).toMatchObject({ timestampQuery: false, shaderF16: false })
  })

  it('recognises SwiftShader by name even when the adapter does not say it is a fallback', () => {
    const d = describeAdapter(
      fakeAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' }, []),
      resolveOptions({ backend: 'vulkan' }, {}, 'linux'),
    )
    expect(d.software).toBe(true)
    expect(d.id).toBe('webgpu-vulkan-swiftshader')
  })
})
