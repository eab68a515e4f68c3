import { type Backend, type BackendKind, gemm, type Probe, type Target } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { candidateKinds, chooseBackends, NoBackendError } from '../src/runtime/choose-backend.ts'
import { BackendRegistry, type BackendStatus } from '../src/runtime/registry.ts'

function fakeBackend(kind: BackendKind, probe: Probe, supports: true | string = true): Backend {
  return {
    kind,
    probe: async () => probe,
    supports: () => supports,
    prepare: async () => {
      throw new Error('not used here')
    },
  }
}

function available(kind: BackendKind, options: { software?: boolean; supports?: true | string } = {}): BackendStatus {
  const device = { id: `${kind}-dev`, backend: kind, name: `${kind} device`, details: {}, software: options.software }
  return { kind, available: true, backend: fakeBackend(kind, { available: true, device }, options.supports), device }
}

function unavailable(kind: BackendKind, reason: string): BackendStatus {
  return { kind, available: false, reason }
}

const workload = gemm({ m: 8, n: 8, k: 8 })
const fn: Target = { kind: 'function', name: 'f', fn: () => 0 }

describe('candidateKinds', () => {
  test('a function runs on the host only, a custom target on its own backend, a workload on the rest', () => {
    expect(candidateKinds(fn)).toEqual(['host'])
    expect(candidateKinds({ kind: 'custom', backend: 'webgpu', name: 'p', spec: {} })).toEqual(['webgpu'])
    expect(candidateKinds(workload)).toEqual(['cuda', 'metal', 'webgpu', 'cpu'])
  })
})

describe('chooseBackends', () => {
  test("'auto' prefers cuda > metal > hardware webgpu > cpu > software webgpu", () => {
    const all = [available('cpu'), available('webgpu'), available('metal'), available('cuda')]
    expect(chooseBackends('auto', workload, all).chosen.map((s) => s.kind)).toEqual(['cuda'])
    expect(chooseBackends('auto', workload, all.slice(0, 2)).chosen.map((s) => s.kind)).toEqual(['webgpu'])
    const software = [available('webgpu', { software: true }), available('cpu')]
    expect(chooseBackends('auto', workload, software).chosen.map((s) => s.kind)).toEqual(['cpu'])
    expect(chooseBackends('all', workload, software).chosen.map((s) => s.kind)).toEqual(['cpu', 'webgpu'])
  })

  test("'all' runs every usable backend and lists the others with their reasons", () => {
    const choice = chooseBackends('all', workload, [
      unavailable('cuda', 'CUDA driver version is insufficient'),
      available('cpu'),
      available('webgpu', { supports: 'f16 needs shader-f16' }),
    ])
    expect(choice.chosen.map((s) => s.kind)).toEqual(['cpu'])
    expect(choice.skipped).toEqual([
      { kind: 'cuda', reason: 'unavailable: CUDA driver version is insufficient' },
      { kind: 'webgpu', reason: 'does not support this gemm workload: f16 needs shader-f16' },
    ])
  })

  test('a named backend that is unavailable is an error carrying its reason', () => {
    const statuses = [unavailable('cuda', 'CUDA driver version is insufficient'), available('cpu')]
    expect(() => chooseBackends('cuda', workload, statuses)).toThrow(NoBackendError)
    expect(() => chooseBackends('cuda', workload, statuses)).toThrow(
      "backend 'cuda' cannot run this gemm workload: unavailable: CUDA driver version is insufficient",
    )
    expect(chooseBackends('cpu', workload, statuses).chosen.map((s) => s.kind)).toEqual(['cpu'])
  })

  test('nothing usable: the error lists every reason', () => {
    const statuses = [unavailable('cuda', 'no driver'), unavailable('cpu', 'addon not built')]
    expect(() => chooseBackends('auto', workload, statuses)).toThrow(
      'no backend can run this gemm workload (cuda: unavailable: no driver; cpu: unavailable: addon not built)',
    )
  })
})

describe('BackendRegistry', () => {
  const device = { id: 'cpu-dev', backend: 'cpu' as const, name: 'cpu', details: {} }
  const host = fakeBackend('host', { available: true, device: { ...device, id: 'host-dev', backend: 'host' } })

  test('host is always there; an optional package that fails to import is unavailable with the reason', async () => {
    const registry = new BackendRegistry(['host', 'cpu', 'webgpu'], {
      host,
      importer: async (specifier) => {
        throw new Error(`Cannot find package '${specifier}'\n    at resolve (…)`)
      },
    })
    expect(await registry.status('host')).toMatchObject({ kind: 'host', available: true })
    expect(await registry.status('cpu')).toEqual({
      kind: 'cpu',
      available: false,
      reason: "package @gpubench/native could not be loaded: Cannot find package '@gpubench/native'",
    })
    expect(await registry.status('webgpu')).toMatchObject({
      available: false,
      reason: expect.stringContaining('@gpubench/webgpu'),
    })
  })

  test('disabled backends, missing exports, unavailable probes and throwing probes all give reasons', async () => {
    const modules: Record<string, Record<string, unknown>> = {
      '@gpubench/native': {
        cpuBackend: fakeBackend('cpu', { available: true, device }),
        cudaBackend: fakeBackend('cuda', { available: false, reason: 'CUDA driver version is insufficient' }),
        metalBackend: {
          kind: 'metal',
          probe: async () => {
            throw new Error('objc runtime missing')
          },
          supports: () => true,
          prepare: async () => {
            throw new Error('x')
          },
        },
      },
      '@gpubench/webgpu': {},
    }
    let imports = 0
    const registry = new BackendRegistry(['host', 'cpu', 'cuda', 'metal', 'webgpu'], {
      host,
      importer: async (specifier) => {
        imports += 1
        return modules[specifier]!
      },
    })
    expect(await registry.status('cpu')).toMatchObject({ available: true, device })
    expect(await registry.status('cuda')).toEqual({
      kind: 'cuda',
      available: false,
      reason: 'CUDA driver version is insufficient',
    })
    expect(await registry.status('metal')).toEqual({
      kind: 'metal',
      available: false,
      reason: 'probe failed: objc runtime missing',
    })
    expect(await registry.status('webgpu')).toEqual({
      kind: 'webgpu',
      available: false,
      reason: "package @gpubench/webgpu does not export a webgpu backend as 'webgpuBackend'",
    })
    await registry.status('cpu')
    expect(imports).toBe(4)

    const limited = new BackendRegistry(['host'], { host, importer: async (s) => modules[s]! })
    expect(await limited.status('cpu')).toEqual({
      kind: 'cpu',
      available: false,
      reason: "disabled: not in the plugin's backends option",
    })
  })
})
