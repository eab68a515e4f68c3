import type { TestContext } from 'vitest'
import { describe, expect, test } from 'vitest'
import type { RuntimeConfig } from '../src/options.ts'
import { createBenchGpu, GpuBenchError } from '../src/runtime/bench-gpu.ts'
import { BackendRegistry } from '../src/runtime/registry.ts'

const config: RuntimeConfig = {
  backends: ['host'],
  baselineDir: '/tmp/gpubench-unused',
  tolerance: null,
  strict: false,
  stoppingRule: {},
  verify: true,
  confirmRegressions: 1,
  confirmPauseMs: 0,
  update: 'none',
  gpubenchVersion: '0.0.0',
}
// Registration validates everything before touching the context or a backend.
const benchGpu = createBenchGpu({
  context: {} as TestContext,
  config,
  registry: new BackendRegistry(['host'], { importer: async () => ({}) }),
})

describe('bench.gpu() validates at registration, naming the benchmark and the option', () => {
  test.each([
    [['', () => 0], 'the name must be a non-empty string'],
    [['a\nb', () => 0], 'must not contain control characters'],
    [['x', 42], "bench.gpu('x'): the target must be a core workload"],
    [
      ['x', () => 0, { backend: 'gpu' }],
      "bench.gpu('x') option 'backend' must be 'auto', 'all' or one of host, cpu, cuda, metal, webgpu",
    ],
    [['x', () => 0, { tolerance: -1 }], "field 'tolerance' must be a fraction in [0, 1)"],
    [['x', () => 0, { required: 'no' }], "bench.gpu('x') option 'required' must be a boolean"],
    [
      ['x', () => 0, { stoppingRule: { minSamples: 0 } }],
      "bench.gpu('x') option 'stoppingRule': stopping rule: field 'minSamples'",
    ],
    [['x', () => 0, { stopping: {} }], "bench.gpu('x') option 'stopping' is unknown"],
    [
      ['x', () => 0, { confirmRegressions: 1.5 }],
      "bench.gpu('x'): gpubench options: field 'confirmRegressions' must be an integer from 0 to 5, got 1.5",
    ],
    [['x', () => 0, { confirmRegressions: 6 }], "field 'confirmRegressions' must be an integer from 0 to 5"],
  ])('%j', (args, message) => {
    const call = () => (benchGpu as (...a: unknown[]) => unknown)(...args)
    expect(call).toThrow(GpuBenchError)
    expect(call).toThrow(message)
  })

  test('NaN and bigint values are shown as written, never "null" or a serialization TypeError', () => {
    const call =
      (...args: unknown[]) =>
      () =>
        (benchGpu as (...a: unknown[]) => unknown)(...args)
    expect(call('x', () => 0, { tolerance: Number.NaN })).toThrow(
      "bench.gpu('x'): gpubench options: field 'tolerance' must be a finite number, got NaN",
    )
    expect(call('x', () => 0, { verify: 1n })).toThrow("bench.gpu('x') option 'verify' must be a boolean, got 1n")
    expect(call('x', { kind: 'kernel', size: 10n })).toThrow(GpuBenchError)
    expect(call('x', { kind: 'kernel', size: 10n })).toThrow(/the target must be a core workload .*"size":"10n"/)
    const cyclic: Record<string, unknown> = { kind: 'nothing' }
    cyclic.self = cyclic
    expect(call('x', cyclic)).toThrow(/got an object that cannot be shown/)
  })

  test('a plain function becomes a host function target named after the benchmark', () => {
    const registration = benchGpu('sum', () => 1)
    expect(registration.name).toBe('sum')
    expect(registration.target).toMatchObject({ kind: 'function', name: 'sum' })
  })
})
