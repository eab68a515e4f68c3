/**
 * Batched GEMM in WGSL: C[b] = op(A[b]) · op(B[b]), row-major, batch outermost (core's layout),
 * with op = transpose when transA / transB. Also the building block of the linear-layer VJP.
 *
 * Two kernels compute the same 64 x 64 tile of C per workgroup on the same grid (x over N, y over
 * M, z over the batch): 'tiled' stages slices in workgroup memory (gemm-tiled.ts), the shape GPUs
 * reward; 'registers' reads straight from storage with an 8 x 8 register block per invocation
 * (gemm-registers.ts), the shape software adapters reward. The backend picks 'registers' on
 * software adapters and 'tiled' otherwise, unless told (option `gemmKernel`); the choice is
 * written in the runnable's notes.
 *
 * Dimensions are baked into the source as constants, so the compiler sees fixed trip counts and
 * strides; each shape compiles its own pipeline (part of the cold run).
 */
import type { GemmWorkload } from '@gpubench/core'
import { gemmRegistersWgsl } from './gemm-registers.ts'
import { gemmTiledWgsl } from './gemm-tiled.ts'
import { ceilDiv, MAX_WORKGROUPS_PER_DIMENSION, type Workgroups } from './wgsl.ts'

/** A GEMM as the kernels see it: core's workload without its kind (the linear-layer VJP builds two). */
export type GemmShape = Omit<GemmWorkload, 'kind'>

export const GEMM_KERNELS = ['tiled', 'registers'] as const
export type GemmKernel = (typeof GEMM_KERNELS)[number]

/** Rows and columns of C per workgroup, for both kernels. */
export const GEMM_TILE = { rows: 64, cols: 64 } as const

export function gemmWorkgroups(s: GemmShape): Workgroups {
  return [ceilDiv(s.n, GEMM_TILE.cols), ceilDiv(s.m, GEMM_TILE.rows), s.batch]
}

/** Why this shape cannot be dispatched (a grid dimension over the limit), or undefined. */
export function gemmLimitReason(s: GemmShape, maxPerDimension = MAX_WORKGROUPS_PER_DIMENSION): string | undefined {
  const [x, y, z] = gemmWorkgroups(s)
  if (x > maxPerDimension) return `n = ${s.n} needs ${x} workgroups in x, over the limit of ${maxPerDimension}`
  if (y > maxPerDimension) return `m = ${s.m} needs ${y} workgroups in y, over the limit of ${maxPerDimension}`
  if (z > maxPerDimension) return `batch = ${s.batch} is over the limit of ${maxPerDimension} workgroups in z`
  return undefined
}

export function gemmWgsl(s: GemmShape, kernel: GemmKernel = 'tiled'): string {
  return kernel === 'registers' ? gemmRegistersWgsl(s) : gemmTiledWgsl(s)
}
