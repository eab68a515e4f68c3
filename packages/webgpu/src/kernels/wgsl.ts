/**
 * Small helpers shared by the WGSL kernel generators: the storage type of a dtype and the 2-D
 * grid that spreads a long 1-D dispatch over x and y, since one dimension holds at most 65535
 * workgroups (WebGPU's default limit).
 */
import type { Dtype } from '@gpubench/core'

export type Workgroups = readonly [number, number, number]

/** WebGPU's default maxComputeWorkgroupsPerDimension, which every adapter offers. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535

/** The WGSL element type a buffer of this dtype holds (f16: storage only; kernels accumulate in f32). */
export function storageType(dtype: Dtype): 'f32' | 'f16' {
  return dtype
}

/** `enable f16;` when the kernel reads or writes f16 storage. */
export function header(dtype: Dtype): string {
  return dtype === 'f16' ? 'enable f16;\n' : ''
}

/** A WGSL u32 literal, refusing what does not fit. */
export function u32(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a u32: ${value}`)
  return `${value}u`
}

/** A grid of `count` workgroups laid out as x (at most 65535) by y; kernels index it as x + y * num_workgroups.x. */
export function grid1d(count: number): Workgroups {
  if (count <= MAX_WORKGROUPS_PER_DIMENSION) return [count, 1, 1]
  return [MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(count / MAX_WORKGROUPS_PER_DIMENSION), 1]
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b)
}
