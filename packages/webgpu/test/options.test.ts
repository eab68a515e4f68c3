import { BackendError } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TIMEOUT_MS, dawnFlagsOf, MAX_TIMEOUT_MS, requestedIsolation, resolveOptions } from '../src/options.ts'

describe('resolveOptions', () => {
  it("picks the platform's native Dawn backend by default", () => {
    expect(resolveOptions({}, {}, 'linux').backend).toBe('vulkan')
    expect(resolveOptions({}, {}, 'darwin').backend).toBe('metal')
    expect(resolveOptions({}, {}, 'win32').backend).toBe('d3d12')
    expect(resolveOptions({}, {}, 'linux').timeoutMs).toBe(DEFAULT_TIMEOUT_MS)
  })

  it('reads the environment, and an explicit option wins over it', () => {
    const env = {
      GPUBENCH_WEBGPU_BACKEND: 'opengles',
      GPUBENCH_WEBGPU_ADAPTER: 'llvmpipe',
      GPUBENCH_WEBGPU_TIMEOUT_MS: '500',
    }
    const fromEnv = resolveOptions({}, env, 'linux')
    expect(fromEnv).toMatchObject({ backend: 'opengles', adapter: 'llvmpipe', timeoutMs: 500 })
    const explicit = resolveOptions({ backend: 'vulkan', adapter: 'other', timeoutMs: 7 }, env, 'linux')
    expect(explicit).toMatchObject({ backend: 'vulkan', adapter: 'other', timeoutMs: 7 })
  })

  it('refuses bad values, naming the option or the variable', () => {
    expect(() => resolveOptions({}, { GPUBENCH_WEBGPU_BACKEND: 'cuda' }, 'linux')).toThrow(
      /\$GPUBENCH_WEBGPU_BACKEND must be one of vulkan, metal.*got "cuda"/,
    )
    expect(() => resolveOptions({ backend: 'dx9' as never })).toThrow(/option 'backend'/)
    expect(() => resolveOptions({ timeoutMs: -1 })).toThrow(/option 'timeoutMs' must be a positive number/)
    expect(() => resolveOptions({}, { GPUBENCH_WEBGPU_TIMEOUT_MS: 'soon' }, 'linux')).toThrow(
      /\$GPUBENCH_WEBGPU_TIMEOUT_MS/,
    )
    expect(() => resolveOptions({ adapter: ' ' })).toThrow(/option 'adapter'/)
    expect(() => resolveOptions({ timestamps: 'yes' as never })).toThrow(BackendError)
  })

  it("refuses a timeout beyond Node's timer range, which Node would turn into 1 ms", () => {
    expect(resolveOptions({ timeoutMs: MAX_TIMEOUT_MS }).timeoutMs).toBe(MAX_TIMEOUT_MS)
    expect(() => resolveOptions({}, { GPUBENCH_WEBGPU_TIMEOUT_MS: '3000000000' }, 'linux')).toThrow(
      /\$GPUBENCH_WEBGPU_TIMEOUT_MS must be a positive number of milliseconds up to 2147483647 .*got "3000000000"/,
    )
  })

  it('isolates device work in a process unless told otherwise, and refuses unknown isolations', () => {
    expect(resolveOptions({}, {}, 'linux').isolation).toBe('process')
    expect(resolveOptions({}, { GPUBENCH_WEBGPU_ISOLATION: 'none' }, 'linux').isolation).toBe('none')
    expect(resolveOptions({ isolation: 'process' }, { GPUBENCH_WEBGPU_ISOLATION: 'none' }, 'linux').isolation).toBe(
      'process',
    )
    expect(() => resolveOptions({}, { GPUBENCH_WEBGPU_ISOLATION: 'thread' }, 'linux')).toThrow(
      /\$GPUBENCH_WEBGPU_ISOLATION must be one of process, none, got "thread"/,
    )
    expect(requestedIsolation({}, { GPUBENCH_WEBGPU_ISOLATION: 'none' })).toBe('none')
    expect(requestedIsolation({}, {})).toBe('process')
  })

  it('asks Dawn for unquantized timestamps, in nanoseconds', () => {
    const flags = dawnFlagsOf(resolveOptions({ adapter: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, {}, 'linux'))
    expect(flags).toContain('backend=vulkan')
    expect(flags).toContain('disable-dawn-features=timestamp_quantization')
    expect(flags).toContain('adapter=llvmpipe (LLVM 15.0.6, 256 bits)')
    expect(flags.join(' ')).not.toContain('disable_timestamp_query_conversion')
  })
})
