import { describe, expect, test } from 'vitest'
import { type CudaPeakFacts, cudaPeaks, HOPPER_F16_PRODUCTS } from '../src/cuda-peaks.ts'

/** Within 0.1 % (published figures are rounded). */
function expectNear(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined()
  expect(Math.abs((actual as number) / expected - 1)).toBeLessThan(1e-3)
}

/** What the runtime reports for each part (SMs, maximum SM clock, memory clock and bus). */
const H100_SXM: CudaPeakFacts = {
  name: 'NVIDIA H100 80GB HBM3',
  computeCapability: '9.0',
  smCount: 132,
  clockKHz: 1_980_000,
  memoryClockKHz: 2_619_000,
  memoryBusWidthBits: 5120,
}
const H100_PCIE: CudaPeakFacts = { ...H100_SXM, name: 'NVIDIA H100 PCIe', smCount: 114, clockKHz: 1_755_000 }
const H200: CudaPeakFacts = { ...H100_SXM, name: 'NVIDIA H200' }
const H20: CudaPeakFacts = { ...H100_SXM, name: 'NVIDIA H20', smCount: 78 }
const A100: CudaPeakFacts = {
  name: 'NVIDIA A100-SXM4-80GB',
  computeCapability: '8.0',
  smCount: 108,
  clockKHz: 1_410_000,
  memoryClockKHz: 1_593_000,
  memoryBusWidthBits: 5120,
}

describe('f16 tensor peak', () => {
  test('Hopper by product at the clock the published figure uses, not SMs x 4096 x the maximum clock', () => {
    const sxm = cudaPeaks(H100_SXM)
    expectNear(sxm.f16FlopPerSecond, 989.4e12)
    expect(sxm.f16ClockKHz).toBe(1_830_000)
    expect(sxm.f16Source).toBe('table: H100 SXM5, 989.4 TFLOP/s dense for 132 SMs at 1830 MHz')
    // The old formula: 132 x 4096 x 1.98 GHz = 1070 TFLOP/s.
    expect(sxm.f16FlopPerSecond).toBeLessThan(132 * 4096 * 1.98e9 * 0.95)
    expectNear(cudaPeaks(H100_PCIE).f16FlopPerSecond, 756e12)
    expectNear(cudaPeaks(H200).f16FlopPerSecond, 989.4e12)
    const h20 = cudaPeaks(H20)
    expectNear(h20.f16FlopPerSecond, 148e12)
    expect(h20.f16ClockKHz).toBeUndefined()
  })
  test('an sm_90 product not in the table gets no figure, with the reason', () => {
    const nvl = cudaPeaks({ ...H100_SXM, name: 'NVIDIA H200 NVL' })
    expect(nvl.f16FlopPerSecond).toBeUndefined()
    expect(nvl.f16Source).toMatch(/no published f16 figure for 'NVIDIA H200 NVL'/)
  })
  test('a MIG slice with fewer SMs is scaled down', () => {
    const slice = cudaPeaks({ ...H100_SXM, smCount: 16 })
    expectNear(slice.f16FlopPerSecond, (989.4e12 * 16) / 132)
    expect(slice.f16Source).toMatch(/scaled to the 16 SMs present/)
  })
  test('A100 from SMs x 2048 x the maximum clock (its published 312 TFLOP/s)', () => {
    const p = cudaPeaks(A100)
    expectNear(p.f16FlopPerSecond, 311.9e12)
    expect(p.f16ClockKHz).toBe(1_410_000)
  })
  test('every table entry with a clock agrees with SMs x 4096 x that clock', () => {
    for (const p of HOPPER_F16_PRODUCTS)
      if (p.clockKHz) expectNear(p.smCount * 4096 * p.clockKHz * 1e3, p.flopPerSecond)
  })
  test('patterns do not swallow neighbours', () => {
    expect(cudaPeaks({ ...H100_SXM, name: 'NVIDIA GH200 480GB' }).f16Source).toMatch(/^table: GH200/)
    expect(cudaPeaks({ ...H100_SXM, name: 'NVIDIA H800 PCIe', smCount: 114 }).f16Source).toMatch(/^table: H800 PCIe/)
    expect(cudaPeaks({ ...H100_SXM, name: 'NVIDIA H800' }).f16Source).toMatch(/^table: H800 SXM/)
  })
})

test('f32 and memory peaks', () => {
  const p = cudaPeaks(H100_SXM)
  expectNear(p.f32FlopPerSecond, 132 * 128 * 2 * 1.98e9)
  expectNear(p.bytesPerSecond, (2 * 2.619e9 * 5120) / 8)
  expect(cudaPeaks({ ...A100, computeCapability: '6.1' }).f32FlopPerSecond).toBeUndefined()
})
