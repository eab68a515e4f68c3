/** IEEE binary16 (f16) as raw bits: conversion to and from numbers, rounding to nearest even. */

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

/** Rounds a number to the nearest binary16 (ties to even) and returns its bits. */
export function toF16Bits(value: number): number {
  f32Scratch[0] = value
  // A float64 goes through float32 first. Rounding twice can land on a false tie (1 + 2^-11 + 2^-40
  // would become 1 + 2^-11, then round to even, down); rounding the first step to odd instead
  // (an inexact result keeps a set last bit, a sticky bit) makes the second rounding exact.
  const first = f32Scratch[0]
  if (first !== value && !Number.isNaN(value) && ((u32Scratch[0] ?? 0) & 1) === 0) {
    u32Scratch[0] = (u32Scratch[0] ?? 0) + (Math.abs(first) < Math.abs(value) ? 1 : -1)
  }
  const x = u32Scratch[0] ?? 0
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0) // inf or NaN
  let e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign // underflow to zero
    mant |= 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    const rounded = mant + half - 1 + ((mant >>> shift) & 1)
    return sign | (rounded >>> shift)
  }
  const rounded = mant + 0xfff + ((mant >>> 13) & 1)
  if (rounded & 0x800000) {
    mant = 0
    e += 1
    if (e >= 0x1f) return sign | 0x7c00
  } else {
    mant = rounded
  }
  return sign | (e << 10) | (mant >>> 13)
}

/** The value of binary16 bits. */
export function fromF16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >>> 10) & 0x1f
  const mant = bits & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** A quiet-NaN f16 bit pattern used to poison f16 outputs. */
export const F16_NAN_BITS = 0x7e00
