import { gemm, launch, vjp } from '@gpubench/core'
import { describe, expect, it } from 'vitest'
import { gemmLimitReason, gemmWgsl, gemmWorkgroups } from '../src/kernels/gemm.ts'
import { gemvWgsl, gemvWorkgroups } from '../src/kernels/gemv.ts'
import { grid1d } from '../src/kernels/wgsl.ts'
import { gemmShapesOf, planOf, workloadLimitReason } from '../src/workload-plan.ts'

describe('kernel generators', () => {
  it('tile GEMM grids over n, m and batch', () => {
    const shape = { batch: 3, m: 65, n: 130, k: 7, dtype: 'f32', transA: false, transB: false } as const
    expect(gemmWorkgroups(shape)).toEqual([3, 2, 3])
    expect(gemmWgsl(shape)).toContain('const K: u32 = 7u;')
    expect(gemmWgsl({ ...shape, dtype: 'f16' })).toMatch(/^enable f16;/)
    expect(gemmWgsl({ ...shape, transA: true })).toContain('p * M + r')
    expect(gemmWgsl({ ...shape, transB: true })).toContain('c * K + p')
    const registers = gemmWgsl({ ...shape, transA: true }, 'registers')
    expect(registers).not.toContain('var<workgroup>')
    expect(registers).toContain('let r7 = min(row0 + 7u, M - 1u);')
    expect(registers).toContain('f32(A[aBase + p * M + r0])')
  })

  it('refuses grids over the per-dimension limit with the dimension named', () => {
    expect(gemmLimitReason({ batch: 70000, m: 1, n: 1, k: 1, dtype: 'f32', transA: false, transB: false })).toMatch(
      /batch = 70000/,
    )
    expect(workloadLimitReason(gemm({ m: 1, n: 64 * 70000, k: 1 }))).toMatch(/n = 4480000 needs 70000 workgroups/)
    expect(workloadLimitReason(gemm({ m: 8, n: 8, k: 8 }))).toBeUndefined()
  })

  it('spreads long 1-D grids over y', () => {
    expect(grid1d(10)).toEqual([10, 1, 1])
    expect(grid1d(65536)).toEqual([65535, 2, 1])
    expect(gemvWorkgroups({ m: 32 * 70000, n: 3, dtype: 'f32', trans: false })).toEqual([65535, 2, 1])
    expect(gemvWorkgroups({ m: 33, n: 3, dtype: 'f32', trans: false })).toEqual([2, 1, 1])
    expect(gemvWgsl({ m: 3, n: 5, dtype: 'f32', trans: true })).toContain('let c = (wg.x + wg.y * groups.x) * 64u + t;')
  })

  it('plans the linear-layer VJP as two GEMMs: dX = dY·Wᵀ and dW = Xᵀ·dY', () => {
    const w = vjp({ mode: 'linear-layer', batch: 4, inFeatures: 5, outFeatures: 6 })
    expect(gemmShapesOf(w)).toEqual([
      { batch: 1, m: 4, n: 5, k: 6, dtype: 'f32', transA: false, transB: true },
      { batch: 1, m: 5, n: 6, k: 4, dtype: 'f32', transA: true, transB: false },
    ])
    const plan = planOf(w)
    expect(plan.programs.map((p) => p.bindings)).toEqual([
      ['dY', 'W', 'dX'],
      ['X', 'dY', 'dW'],
    ])
    expect(plan.buffers.map((b) => [b.name, b.sizeBytes, b.kind])).toEqual([
      ['X', 80, 'read-only-storage'],
      ['W', 120, 'read-only-storage'],
      ['dY', 96, 'read-only-storage'],
      ['dX', 80, 'storage'],
      ['dW', 120, 'storage'],
    ])
  })

  it('plans launch latency as launchesPerSample dispatches per run', () => {
    const plan = planOf(launch({ launchesPerSample: 25 }))
    expect(plan.repeat).toBe(25)
    expect(plan.dispatches).toEqual([{ program: 0, workgroups: [1, 1, 1] }])
  })
})
