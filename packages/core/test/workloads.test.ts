import { describe, expect, test } from 'vitest'
import {
  bytesOf,
  describeWorkload,
  flopsOf,
  gemm,
  gemv,
  isWorkload,
  launch,
  MAX_ELEMENTS,
  MAX_LAUNCHES_PER_SAMPLE,
  vjp,
  WorkloadError,
  workloadFrom,
} from '../src/workloads.ts'

describe('workload constructors', () => {
  test('gemm fills defaults and freezes', () => {
    const w = gemm({ m: 2, n: 3, k: 4 })
    expect(w).toEqual({ kind: 'gemm', batch: 1, m: 2, n: 3, k: 4, dtype: 'f32', transA: false, transB: false })
    expect(Object.isFrozen(w)).toBe(true)
    expect(gemm({ batch: 8, m: 2, n: 3, k: 4, dtype: 'f16', transA: true })).toMatchObject({
      batch: 8,
      dtype: 'f16',
      transA: true,
      transB: false,
    })
  })

  test('gemv, vjp and launch', () => {
    expect(gemv({ m: 5, n: 7, trans: true })).toEqual({ kind: 'gemv', m: 5, n: 7, dtype: 'f32', trans: true })
    expect(vjp({ mode: 'linear-map', m: 3, n: 4 })).toEqual({
      kind: 'vjp',
      mode: 'linear-map',
      m: 3,
      n: 4,
      dtype: 'f32',
    })
    expect(vjp({ mode: 'linear-layer', batch: 2, inFeatures: 3, outFeatures: 4, dtype: 'f16' })).toEqual({
      kind: 'vjp',
      mode: 'linear-layer',
      batch: 2,
      inFeatures: 3,
      outFeatures: 4,
      dtype: 'f16',
    })
    expect(launch()).toEqual({ kind: 'launch', launchesPerSample: 100 })
    expect(launch({ launchesPerSample: 7 }).launchesPerSample).toBe(7)
    expect(launch({ launchesPerSample: MAX_LAUNCHES_PER_SAMPLE }).launchesPerSample).toBe(100_000)
  })

  test.each([
    [() => gemm({ m: 0, n: 1, k: 1 }), /gemm: field 'm' must be positive, got 0/],
    [() => gemm({ m: 1, n: 1.5, k: 1 }), /gemm: field 'n' must be an integer, got 1.5/],
    [() => gemm({ m: 1, n: 1, k: Number.NaN }), /gemm: field 'k' must be a positive integer, got NaN/],
    [() => gemm({ m: 1, n: 1, k: '4' as unknown as number }), /gemm: field 'k' must be a positive integer, got "4"/],
    [() => gemm({ m: 1, n: 1, k: 1, batch: -2 }), /gemm: field 'batch' must be positive, got -2/],
    [() => gemm({ m: 1, n: 1, k: 1, dtype: 'f64' as 'f32' }), /gemm: field 'dtype' must be one of f32, f16, got "f64"/],
    [
      () => gemm({ m: 1, n: 1, k: 1, transA: 1 as unknown as boolean }),
      /gemm: field 'transA' must be a boolean, got 1/,
    ],
    [() => gemm({ m: 2 ** 31, n: 1, k: 1 }), /gemm: field 'm' = 2147483648 overflows the limit of 2147483647/],
    [() => gemm({ m: 50_000, n: 50_000, k: 1 }), /gemm: buffer 'C' \(1 x 50000 x 50000\) has 2500000000 elements/],
    [() => gemm(null as unknown as { m: number; n: number; k: number }), /gemm: expected an options object, got null/],
    [() => gemv({ m: 1, n: -1 }), /gemv: field 'n' must be positive, got -1/],
    [() => gemv({ m: 70_000, n: 70_000 }), /gemv: buffer 'A'/],
    [
      () => vjp({ mode: 'sideways' } as unknown as { mode: 'linear-map'; m: number; n: number }),
      /vjp: field 'mode' must be 'linear-map' or 'linear-layer', got "sideways"/,
    ],
    [
      () => vjp({ mode: 'linear-layer', batch: 1, inFeatures: 0, outFeatures: 1 }),
      /vjp: field 'inFeatures' must be positive/,
    ],
    [() => launch({ launchesPerSample: 0 }), /launch: field 'launchesPerSample' must be positive, got 0/],
    [
      () => launch({ launchesPerSample: 2 ** 31 - 1 }),
      /launch: field 'launchesPerSample' = 2147483647 overflows the limit of 100000/,
    ],
    [
      () => gemm({ m: 1024n, n: 1, k: 1 } as unknown as { m: number; n: number; k: number }),
      /gemm: field 'm' must be a number, got the bigint 1024n; write 1024 without the n/,
    ],
    [() => workloadFrom({ kind: 'gemv', m: 2n, n: 3 }), /gemv: field 'm' must be a number, got the bigint 2n/],
  ])('refuses bad input, naming the field (%#)', (make, message) => {
    expect(make).toThrow(WorkloadError)
    expect(make).toThrow(message)
  })
})

describe('counts', () => {
  test('gemm: 2·batch·m·n·k FLOP, every matrix read or written once', () => {
    const w = gemm({ batch: 8, m: 2000, n: 2000, k: 2000 })
    expect(flopsOf(w)).toBe(128e9)
    expect(bytesOf(w)).toBe(4 * 8 * 3 * 2000 * 2000)
    expect(bytesOf(gemm({ m: 2, n: 3, k: 4, dtype: 'f16' }))).toBe(2 * (2 * 4 + 4 * 3 + 2 * 3))
  })

  test('gemv: 2·m·n FLOP; A, x and y once, transposed or not', () => {
    expect(flopsOf(gemv({ m: 3, n: 5 }))).toBe(30)
    expect(bytesOf(gemv({ m: 3, n: 5 }))).toBe(4 * (15 + 3 + 5))
    expect(bytesOf(gemv({ m: 3, n: 5, trans: true }))).toBe(4 * (15 + 3 + 5))
  })

  test('vjp: linear map vᵀ·A; linear layer dX = dY·Wᵀ and dW = Xᵀ·dY', () => {
    expect(flopsOf(vjp({ mode: 'linear-map', m: 3, n: 5 }))).toBe(30)
    expect(bytesOf(vjp({ mode: 'linear-map', m: 3, n: 5, dtype: 'f16' }))).toBe(2 * (15 + 3 + 5))
    const layer = vjp({ mode: 'linear-layer', batch: 2, inFeatures: 3, outFeatures: 5 })
    expect(flopsOf(layer)).toBe(2 * (2 * 2 * 5 * 3)) // two products of 2·batch·in·out each
    // inputs X (2x3), W (3x5), dY (2x5) read once; outputs dX (2x3), dW (3x5) written once
    expect(bytesOf(layer)).toBe(4 * (6 + 15 + 10 + 6 + 15))
  })

  test('launch has no work to count', () => {
    expect(flopsOf(launch())).toBe(0)
    expect(bytesOf(launch())).toBe(0)
  })
})

describe('labels and parsing', () => {
  test('describeWorkload is short and stable', () => {
    expect(describeWorkload(gemm({ batch: 8, m: 2000, n: 2000, k: 2000 }))).toBe('gemm 8x2000x2000x2000 f32')
    expect(describeWorkload(gemm({ m: 1, n: 2, k: 3, transB: true }))).toBe('gemm 1x1x2x3 f32 NT')
    expect(describeWorkload(gemv({ m: 4, n: 5, dtype: 'f16', trans: true }))).toBe('gemv 4x5 f16 T')
    expect(describeWorkload(vjp({ mode: 'linear-map', m: 4, n: 5 }))).toBe('vjp linear-map 4x5 f32')
    expect(
      describeWorkload(vjp({ mode: 'linear-layer', batch: 64, inFeatures: 1024, outFeatures: 1024, dtype: 'f16' })),
    ).toBe('vjp linear-layer 64x1024x1024 f16')
    expect(describeWorkload(launch())).toBe('launch x100')
  })

  test('workloadFrom validates JSON and round-trips every kind', () => {
    for (const w of [
      gemm({ m: 1, n: 2, k: 3, transA: true }),
      gemv({ m: 4, n: 5 }),
      vjp({ mode: 'linear-map', m: 2, n: 2 }),
      vjp({ mode: 'linear-layer', batch: 1, inFeatures: 2, outFeatures: 3 }),
      launch({ launchesPerSample: 3 }),
    ]) {
      expect(workloadFrom(JSON.parse(JSON.stringify(w)))).toEqual(w)
    }
    expect(() => workloadFrom({ kind: 'conv' })).toThrow(
      /workload: field 'kind' must be one of gemm, gemv, vjp, launch, got "conv"/,
    )
    expect(() => workloadFrom([])).toThrow(/expected an options object/)
    expect(() => workloadFrom({ kind: 'gemm', m: 1, n: 1 })).toThrow(/gemm: field 'k'/)
  })

  test('isWorkload tells workloads from other targets', () => {
    expect(isWorkload(gemm({ m: 1, n: 1, k: 1 }))).toBe(true)
    expect(isWorkload({ kind: 'function', name: 'f', fn: () => 1 })).toBe(false)
    expect(isWorkload(null)).toBe(false)
    expect(MAX_ELEMENTS).toBe(2 ** 31 - 1)
  })
})
