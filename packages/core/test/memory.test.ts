import { describe, expect, test } from 'vitest'
import { availableMemoryBytes, MEMORY_SAFETY_FRACTION, memoryEstimateOf, memoryRefusal } from '../src/memory.ts'
import { formatBytes } from '../src/units.ts'
import { gemm, gemv, launch, vjp } from '../src/workloads.ts'

// The machine on which both shapes below were OOM-killed: 24.7 GB of RAM.
const available = 24.7e9

describe('memoryEstimateOf', () => {
  test('counts the buffers in their dtype, and verification: a host copy of each buffer and float64 inputs', () => {
    // gemm m=3, n=2, k=4: A 12, B 8, C 6 elements.
    expect(memoryEstimateOf(gemm({ m: 3, n: 2, k: 4 }))).toEqual({
      buffersBytes: (12 + 8 + 6) * 4,
      verificationBytes: (12 + 8 + 6) * 4 + (12 + 8) * 8,
    })
    expect(memoryEstimateOf(gemm({ m: 3, n: 2, k: 4, dtype: 'f16' }))).toEqual({
      buffersBytes: (12 + 8 + 6) * 2,
      verificationBytes: (12 + 8 + 6) * 2 + (12 + 8) * 8,
    })
    // linear-layer vjp: inputs X, W, dY; outputs dX, dW.
    const layer = memoryEstimateOf(vjp({ mode: 'linear-layer', batch: 2, inFeatures: 3, outFeatures: 5 }))
    expect(layer.buffersBytes).toBe((6 + 15 + 10 + 6 + 15) * 4)
    expect(layer.verificationBytes).toBe(layer.buffersBytes + (6 + 15 + 10) * 8)
    expect(memoryEstimateOf(launch())).toEqual({ buffersBytes: 4, verificationBytes: 4 })
  })
})

describe('memoryRefusal: the shapes that were OOM-killed are refused before allocation, with their estimate', () => {
  test('gemv 2147483647x1 f32: 17.2 GB of buffers fit, but verification adds 34.4 GB', () => {
    const estimate = memoryEstimateOf(gemv({ m: 2 ** 31 - 1, n: 1 }))
    expect(estimate.buffersBytes).toBe((2 * (2 ** 31 - 1) + 1) * 4)
    // The old check (buffers against all the memory available) let it through.
    expect(estimate.buffersBytes).toBeLessThan(available)
    const refusal = memoryRefusal(estimate, { verify: true, availableBytes: available })
    expect(refusal).toBe(
      'needs 51.5 GB (buffers 17.2 GB, verification 34.4 GB: a host copy of every buffer and float64 copies of the inputs), ' +
        'more than 75% of the 24.7 GB of memory available (18.5 GB; the rest is a safety margin); refused before allocating anything: shrink the workload',
    )
  })

  test('gemm 7x16384x16384x16384 f32: 22.5 GB of buffers pass no safety margin of 24.7 GB', () => {
    const estimate = memoryEstimateOf(gemm({ batch: 7, m: 16384, n: 16384, k: 16384 }))
    expect(formatBytes(estimate.buffersBytes)).toBe('22.5 GB')
    expect(memoryRefusal(estimate, { verify: false, availableBytes: available })).toMatch(
      /^needs 22.5 GB \(buffers 22.5 GB\), more than 75% of the 24.7 GB of memory available \(18.5 GB;/,
    )
    expect(memoryRefusal(estimate, { verify: true, availableBytes: available })).toMatch(
      /^needs 75.2 GB \(buffers 22.5 GB, verification 52.6 GB:/,
    )
  })

  test('what fits in the safe share passes, and the boundary is the share itself', () => {
    const estimate = memoryEstimateOf(gemm({ m: 1000, n: 1000, k: 1000 }))
    expect(memoryRefusal(estimate, { verify: true, availableBytes: available })).toBeNull()
    const need = estimate.buffersBytes + estimate.verificationBytes
    expect(memoryRefusal(estimate, { verify: true, availableBytes: need / MEMORY_SAFETY_FRACTION })).toBeNull()
    expect(memoryRefusal(estimate, { verify: true, availableBytes: need / MEMORY_SAFETY_FRACTION - 1 })).toMatch(
      /^needs 40 MB/,
    )
  })
})

describe('availableMemoryBytes', () => {
  test("reads Linux's MemAvailable, not MemFree", () => {
    const meminfo = 'MemTotal:       24683584 kB\nMemFree:          812345 kB\nMemAvailable:   20123456 kB\n'
    expect(availableMemoryBytes(meminfo)).toBe(20123456 * 1024)
  })

  test('falls back to the free memory node:os reports, and this machine has some', () => {
    expect(availableMemoryBytes('no such field')).toBeGreaterThan(0)
    expect(availableMemoryBytes()).toBeGreaterThan(0)
  })
})
