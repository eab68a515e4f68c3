import { BackendError } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { isWebgpuKernel, kernelVerifier, planOfKernel, webgpuKernel } from '../src/user-kernel.ts'
import type { KernelIO } from '../src/webgpu-runnable.ts'

const WGSL =
  '@group(0) @binding(0) var<storage, read_write> b: array<f32>;\n@compute @workgroup_size(1) fn main() { b[0] = 1.0; }'

describe('webgpuKernel', () => {
  it('wraps a valid spec as a custom target for the webgpu backend', () => {
    const target = webgpuKernel({ name: 'one', wgsl: WGSL, bindings: [{ sizeBytes: 4 }], workgroups: 1, flops: 1 })
    expect(target).toMatchObject({ kind: 'custom', backend: 'webgpu', name: 'one', flops: 1 })
    expect(isWebgpuKernel(target)).toBe(true)
    const plan = planOfKernel(target.spec)
    expect(plan.buffers).toEqual([{ name: 'binding0', sizeBytes: 4, kind: 'storage' }])
    expect(plan.dispatches).toEqual([{ program: 0, workgroups: [1, 1, 1] }])
    expect(plan.f16).toBe(false)
  })

  it('detects f16 kernels and fills buffers from init functions', () => {
    const spec = {
      name: 'half',
      wgsl: `enable f16;\n${WGSL}`,
      bindings: [{ name: 'x', sizeBytes: 8, init: (bytes: Uint8Array) => bytes.fill(7) }],
      workgroups: [2, 3] as const,
    }
    const plan = planOfKernel(webgpuKernel(spec).spec)
    expect(plan.f16).toBe(true)
    expect([...(plan.buffers[0]?.init ?? [])]).toEqual([7, 7, 7, 7, 7, 7, 7, 7])
    expect(plan.dispatches[0]?.workgroups).toEqual([2, 3, 1])
  })

  it('names the bad field', () => {
    const base = { name: 'k', wgsl: WGSL, bindings: [{ sizeBytes: 4 }], workgroups: 1 }
    expect(() => webgpuKernel({ ...base, name: '' })).toThrow(/'name' must be a non-empty string/)
    expect(() => webgpuKernel({ ...base, wgsl: ' ' })).toThrow(/webgpuKernel 'k': 'wgsl'/)
    expect(() => webgpuKernel({ ...base, bindings: [{ sizeBytes: -4 }] })).toThrow(
      /bindings\[0\]\.sizeBytes' must be an integer from 1/,
    )
    expect(() => webgpuKernel({ ...base, bindings: [{ sizeBytes: 4, usage: 'texture' as never }] })).toThrow(
      /bindings\[0\]\.usage must be one of storage, read-only-storage, uniform/,
    )
    expect(() =>
      webgpuKernel({
        ...base,
        bindings: [
          { name: 'a', sizeBytes: 4 },
          { name: 'a', sizeBytes: 4 },
        ],
      }),
    ).toThrow(/bindings\[1\]\.name 'a' is used twice/)
    expect(() => webgpuKernel({ ...base, bindings: [{ sizeBytes: 4, init: new Float32Array(2) }] })).toThrow(
      /bindings\[0\]\.init has 8 bytes, more than sizeBytes 4/,
    )
    expect(() => webgpuKernel({ ...base, workgroups: [1, 0] })).toThrow(/'workgroups\[1\]'/)
    expect(() => webgpuKernel({ ...base, workgroups: 1.5 })).toThrow(/'workgroups\[0\]'/)
    expect(() => webgpuKernel({ ...base, flops: Number.NaN })).toThrow(/'flops' must be a non-negative number/)
    expect(() => webgpuKernel({ ...base, dispatchesPerRun: 0 })).toThrow(/'dispatchesPerRun'/)
    expect(() => webgpuKernel({ ...base, name: '' })).toThrow(BackendError)
  })
})

describe('kernelVerifier', () => {
  it("hands check() every storage buffer by its binding name, '__proto__' included", async () => {
    const names = ['__proto__', 'constructor', 'out']
    let seen: Record<string, ArrayBuffer> | undefined
    const spec = webgpuKernel({
      name: 'keys',
      wgsl: WGSL,
      bindings: names.map((name) => ({ name, sizeBytes: 4 })),
      workgroups: 1,
      check: (readback) => {
        seen = readback
        return true
      },
    }).spec
    const io: KernelIO = {
      device: { id: 'webgpu-test', backend: 'webgpu', name: 'test', details: {} },
      upload: async () => {},
      runOnce: async () => {},
      readback: async (name) => new Uint8Array([names.indexOf(name), 0, 0, 0]).buffer,
    }
    const report = await kernelVerifier(spec)(io)
    expect(report.ok).toBe(true)
    expect(report.checked).toBe(3)
    expect(Object.keys(seen ?? {})).toEqual(names)
    expect(Object.hasOwn(seen ?? {}, '__proto__')).toBe(true)
    const proto: unknown = Object.getOwnPropertyDescriptor(seen, '__proto__')?.value
    expect(proto).toBeInstanceOf(ArrayBuffer)
    expect(new Uint8Array(proto as ArrayBuffer)[0]).toBe(0)
    expect(new Uint8Array(seen?.out ?? new ArrayBuffer(1))[0]).toBe(2)
  })
})
