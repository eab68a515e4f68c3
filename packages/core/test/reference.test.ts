import { describe, expect, test } from 'vitest'
import { type DeviceArray, toFloat64, valueAt } from '../src/device-array.ts'
import { F16_NAN_BITS, fromF16Bits, toF16Bits } from '../src/f16.ts'
import { type KernelIO, makeIO } from '../src/kernel-io.ts'
import { rng } from '../src/measure/random.ts'
import { checkIO, referenceOutput, toleranceFor, verifyWorkload } from '../src/reference.ts'
import { gemm, gemv, launch, vjp, type Workload } from '../src/workloads.ts'

describe('f16 conversion', () => {
  test('every finite and infinite f16 value round-trips; NaN stays NaN', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromF16Bits(bits)
      if (Number.isNaN(value)) {
        expect(Number.isNaN(fromF16Bits(toF16Bits(value)))).toBe(true)
        expect((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0).toBe(true)
      } else {
        expect(toF16Bits(value)).toBe(bits)
      }
    }
  })

  test('known values', () => {
    expect(toF16Bits(1)).toBe(0x3c00)
    expect(toF16Bits(-2)).toBe(0xc000)
    expect(toF16Bits(65504)).toBe(0x7bff) // largest finite
    expect(toF16Bits(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(toF16Bits(2 ** -14)).toBe(0x0400) // smallest normal
    expect(toF16Bits(-0)).toBe(0x8000)
    expect(toF16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00)
    expect(fromF16Bits(0x3555)).toBeCloseTo(1 / 3, 3)
    expect(Number.isNaN(fromF16Bits(F16_NAN_BITS))).toBe(true)
  })

  test('rounds to nearest, ties to even, in normal and subnormal ranges', () => {
    const ulp1 = 2 ** -10 // spacing just above 1
    expect(toF16Bits(1 + ulp1 / 2)).toBe(0x3c00) // tie: down to the even 1.0
    expect(toF16Bits(1 + (3 * ulp1) / 2)).toBe(0x3c02) // tie: up to the even mantissa 2
    expect(toF16Bits(1 + ulp1 * 0.49)).toBe(0x3c00)
    expect(toF16Bits(1 + ulp1 * 0.51)).toBe(0x3c01)
    expect(toF16Bits(2 ** -25)).toBe(0) // half the smallest subnormal: tie to even zero
    expect(toF16Bits(3 * 2 ** -25)).toBe(2) // 1.5 subnormal steps: tie to even 2
    expect(toF16Bits(2 ** -26)).toBe(0)
    expect(toF16Bits(2047 * 2 ** -25)).toBe(0x0400) // rounds up out of the subnormals into the smallest normal
    expect(toF16Bits(65519)).toBe(0x7bff)
    expect(toF16Bits(65520)).toBe(0x7c00) // tie between 65504 and 2^16: to even, which overflows
    expect(toF16Bits(1e6)).toBe(0x7c00)
    expect(toF16Bits(-1e6)).toBe(0xfc00)
  })

  test('a float64 just off a tie rounds to the nearer side (no double rounding through float32)', () => {
    expect(toF16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01)
    expect(toF16Bits(1 + 2 ** -11 - 2 ** -40)).toBe(0x3c00)
    expect(toF16Bits(2 ** -25 + 2 ** -60)).toBe(0x0001)
    expect(toF16Bits(65520 - 1e-9)).toBe(0x7bff)
    expect(toF16Bits(-(1 + 2 ** -11 + 2 ** -40))).toBe(0xbc01)
  })

  test('agrees with nearest rounding on random float64 values', () => {
    const next = rng(5)
    for (let i = 0; i < 20_000; i++) {
      const value = (next() * 2 - 1) * 2 ** Math.floor(next() * 40 - 26)
      const bits = toF16Bits(value)
      const chosen = fromF16Bits(bits)
      // neither neighbour (same sign) is strictly nearer
      for (const neighbour of [bits - 1, bits + 1]) {
        if ((neighbour & 0x7fff) > 0x7c00 || (neighbour & 0x8000) !== (bits & 0x8000)) continue
        expect(Math.abs(fromF16Bits(neighbour) - value)).toBeGreaterThanOrEqual(Math.abs(chosen - value))
      }
    }
  })
})

// ---------------------------------------------------------------- naive references

function get(a: Float64Array, i: number): number {
  return a[i] as number
}

/** Every product and partial sum goes through `round`: identity for float64, Math.fround for a float32 kernel. */
type Round = (x: number) => number
const exact: Round = (x) => x

function naiveGemm(
  w: Extract<Workload, { kind: 'gemm' }>,
  A: Float64Array,
  B: Float64Array,
  round: Round,
): Float64Array {
  const { batch, m, n, k } = w
  const C = new Float64Array(batch * m * n)
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0
        for (let p = 0; p < k; p++) {
          const a = w.transA ? get(A, b * m * k + p * m + r) : get(A, b * m * k + r * k + p)
          const bb = w.transB ? get(B, b * k * n + c * k + p) : get(B, b * k * n + p * n + c)
          s = round(s + round(a * bb))
        }
        C[b * m * n + r * n + c] = s
      }
  return C
}

function naive(w: Workload, io: KernelIO, round: Round = exact): Record<string, Float64Array> {
  const input = (name: string) => toFloat64(io.inputs[name] as DeviceArray)
  switch (w.kind) {
    case 'gemm':
      return { C: naiveGemm(w, input('A'), input('B'), round) }
    case 'gemv': {
      const A = input('A')
      const x = input('x')
      const y = new Float64Array(w.trans ? w.n : w.m)
      for (let i = 0; i < w.m; i++)
        for (let j = 0; j < w.n; j++) {
          if (w.trans) y[j] = round(get(y, j) + round(get(A, i * w.n + j) * get(x, i)))
          else y[i] = round(get(y, i) + round(get(A, i * w.n + j) * get(x, j)))
        }
      return { y }
    }
    case 'vjp': {
      if (w.mode === 'linear-map') {
        const A = input('A')
        const v = input('v')
        const out = new Float64Array(w.n)
        for (let i = 0; i < w.m; i++)
          for (let j = 0; j < w.n; j++) out[j] = get(out, j) + get(v, i) * get(A, i * w.n + j)
        return { out }
      }
      const X = input('X')
      const W = input('W')
      const dY = input('dY')
      const { batch, inFeatures: fin, outFeatures: fout } = w
      const dX = new Float64Array(batch * fin)
      const dW = new Float64Array(fin * fout)
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < fin; i++)
          for (let o = 0; o < fout; o++) {
            dX[b * fin + i] = round(get(dX, b * fin + i) + round(get(dY, b * fout + o) * get(W, i * fout + o)))
            dW[i * fout + o] = round(get(dW, i * fout + o) + round(get(X, b * fin + i) * get(dY, b * fout + o)))
          }
      return { dX, dW }
    }
    case 'launch':
      return { flag: Float64Array.of(1) }
  }
}

/** A plain-JS kernel: float32 products and sums (every one rounded, as on a device), stored in the workload's dtype. */
function jsKernel(w: Workload): (io: KernelIO) => void {
  return (io) => {
    const results = naive(w, io, Math.fround)
    for (const [name, values] of Object.entries(results)) {
      const out = io.outputs[name] as DeviceArray
      for (let i = 0; i < values.length; i++) {
        const v = Math.fround(get(values, i))
        if (out instanceof Uint16Array) out[i] = toF16Bits(v)
        else out[i] = v
      }
    }
  }
}

const shapes: Workload[] = [
  gemm({ m: 3, n: 4, k: 5 }),
  gemm({ batch: 2, m: 3, n: 4, k: 5, transA: true }),
  gemm({ batch: 2, m: 4, n: 3, k: 6, transB: true }),
  gemm({ m: 5, n: 2, k: 3, transA: true, transB: true }),
  gemv({ m: 5, n: 7 }),
  gemv({ m: 5, n: 7, trans: true }),
  vjp({ mode: 'linear-map', m: 6, n: 4 }),
  vjp({ mode: 'linear-layer', batch: 3, inFeatures: 4, outFeatures: 5 }),
]

describe('float64 reference', () => {
  for (const w of shapes) {
    test(`matches a naive loop: ${JSON.stringify(w)}`, () => {
      const io = makeIO(w, 42)
      const want = naive(w, io)
      for (const [name, values] of Object.entries(want)) {
        const got = referenceOutput(w, io, name)
        expect(got.length).toBe(values.length)
        for (let i = 0; i < values.length; i++) expect(get(got, i)).toBeCloseTo(get(values, i), 12)
      }
    })
  }

  test('makeIO: seeded inputs in [-1, 1), rounded to the dtype; outputs poisoned', () => {
    const w = gemm({ m: 4, n: 4, k: 4, dtype: 'f16' })
    const a = makeIO(w, 7)
    const b = makeIO(w, 7)
    expect(a.inputs.A).toEqual(b.inputs.A)
    expect(makeIO(w, 8).inputs.A).not.toEqual(a.inputs.A)
    for (let i = 0; i < 16; i++) {
      const v = valueAt(a.inputs.A as DeviceArray, i)
      expect(v).toBeGreaterThanOrEqual(-1)
      expect(v).toBeLessThanOrEqual(1)
      expect(Number.isNaN(valueAt(a.outputs.C as DeviceArray, i))).toBe(true)
    }
    expect(() => referenceOutput(w, a, 'D')).toThrow(/gemm has no output named 'D'/)
  })
})

describe('verifyWorkload', () => {
  for (const w of [...shapes, launch()]) {
    test(`accepts a correct f32 kernel: ${JSON.stringify(w)}`, async () => {
      const report = await verifyWorkload(w, jsKernel(w), { seed: 3 })
      expect(report.ok, report.failure).toBe(true)
      expect(report.checked).toBe(report.scanned)
      expect(report.seed).toBe(3)
      expect(report.maxScaledError).toBeLessThanOrEqual(report.tolerance)
    })
  }

  for (const w of [
    gemm({ batch: 2, m: 8, n: 8, k: 16, dtype: 'f16', transA: true }),
    gemv({ m: 9, n: 33, dtype: 'f16', trans: true }),
    vjp({ mode: 'linear-layer', batch: 4, inFeatures: 8, outFeatures: 6, dtype: 'f16' }),
  ]) {
    test(`accepts a correct f16 kernel (f16 storage, f32 accumulation): ${JSON.stringify(w)}`, async () => {
      const report = await verifyWorkload(w, jsKernel(w), { seed: 4 })
      expect(report.ok, report.failure).toBe(true)
      expect(report.maxScaledError).toBeGreaterThan(0) // f16 output rounding is visible...
      expect(report.tolerance).toBe(toleranceFor('f16', w.kind === 'gemm' ? 16 : w.kind === 'gemv' ? 9 : 6))
    })
  }

  test('catches an element the kernel never wrote (the poison shows)', async () => {
    const w = gemm({ m: 4, n: 4, k: 4 })
    const report = await verifyWorkload(
      w,
      (io) => {
        jsKernel(w)(io)
        ;(io.outputs.C as Float32Array)[5] = Number.NaN
      },
      { seed: 9 },
    )
    expect(report.ok).toBe(false)
    expect(report.failure).toBe('C[5] is NaN (unwritten or overflowed); seed 9')
  })

  test('catches an unwritten f16 element', async () => {
    const w = gemv({ m: 6, n: 6, dtype: 'f16' })
    const report = await verifyWorkload(w, (io) => {
      jsKernel(w)(io)
      ;(io.outputs.y as Uint16Array)[2] = F16_NAN_BITS
    })
    expect(report.ok).toBe(false)
    expect(report.failure).toMatch(/^y\[2\] is NaN/)
  })

  test('catches a wrong element, naming it with the value found and expected', async () => {
    const w = vjp({ mode: 'linear-layer', batch: 2, inFeatures: 3, outFeatures: 4 })
    const report = await verifyWorkload(
      w,
      (io) => {
        jsKernel(w)(io)
        const dW = io.outputs.dW as Float32Array
        dW[7] = (dW[7] as number) + 0.01
      },
      { seed: 1 },
    )
    expect(report.ok).toBe(false)
    expect(report.failure).toMatch(/^dW\[7\] = .*, expected .* \(scaled error .* > .*\); seed 1$/)
  })

  test('catches a kernel that ignores a transpose', async () => {
    const w = gemm({ m: 5, n: 5, k: 5, transA: true })
    const report = await verifyWorkload(w, jsKernel({ ...w, transA: false }))
    expect(report.ok).toBe(false)
  })

  test('samples large outputs but scans every element for poison', async () => {
    const w = gemm({ m: 40, n: 50, k: 3 })
    const ok = await verifyWorkload(w, jsKernel(w), { samplesPerOutput: 100, seed: 2 })
    expect(ok).toMatchObject({ ok: true, checked: 100, scanned: 2000 })
    const poisoned = await verifyWorkload(
      w,
      (io) => {
        jsKernel(w)(io)
        ;(io.outputs.C as Float32Array)[1234] = Number.NaN
      },
      { samplesPerOutput: 100 },
    )
    expect(poisoned.failure).toMatch(/^C\[1234\] is NaN/)
  })

  test('an output of the wrong length fails', () => {
    const w = gemv({ m: 3, n: 3 })
    const io = makeIO(w, 1)
    const short = { inputs: io.inputs, outputs: { y: new Float32Array(2) } }
    expect(checkIO(w, short, 1).failure).toBe("output 'y' missing or of the wrong length")
  })
})
