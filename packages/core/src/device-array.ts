/**
 * Device arrays: a buffer's contents on the host, f32 as Float32Array and f16 as its raw bits in a
 * Uint16Array; allocation, NaN poison, random fill and exact float64 copies.
 */
import { F16_NAN_BITS, fromF16Bits, toF16Bits } from './f16.ts'
import type { Dtype } from './workloads.ts'

/** f16 data is carried as the raw IEEE binary16 bits. */
export type DeviceArray = Float32Array | Uint16Array

export function allocate(dtype: Dtype, length: number): DeviceArray {
  return dtype === 'f16' ? new Uint16Array(length) : new Float32Array(length)
}

export function poison(array: DeviceArray): void {
  if (array instanceof Uint16Array) array.fill(F16_NAN_BITS)
  else array.fill(Number.NaN)
}

/** Reads element i of a device array as a number. */
export function valueAt(array: DeviceArray, i: number): number {
  const raw = array[i] ?? Number.NaN
  return array instanceof Uint16Array ? fromF16Bits(raw) : raw
}

/** Fills with uniform values in [-1, 1), rounded to the dtype. */
export function fillRandom(array: DeviceArray, next: () => number): void {
  if (array instanceof Uint16Array) {
    for (let i = 0; i < array.length; i++) array[i] = toF16Bits(next() * 2 - 1)
  } else {
    for (let i = 0; i < array.length; i++) array[i] = next() * 2 - 1
  }
}

/** Copies a device array into float64 (exact: every f32 and f16 value is a float64). */
export function toFloat64(array: DeviceArray): Float64Array {
  const out = new Float64Array(array.length)
  for (let i = 0; i < array.length; i++) out[i] = valueAt(array, i)
  return out
}
