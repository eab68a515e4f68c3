/**
 * Float64 reference implementations of every workload, and the verification every backend
 * uses: fresh random inputs (seeded, so a failure can be replayed), outputs poisoned with NaN
 * before the kernel runs (an element the kernel never wrote shows), every output checked for
 * poison, and a sample of output elements (all of them when the output is small) compared with
 * the float64 result computed from the very same rounded inputs.
 *
 * Tolerance: the error of element i is divided by its scale, the sum of |products| that form it
 * (Σ|a·b|), which bounds floating-point error independently of cancellation. Accepted:
 * f32 up to 1e-5·√depth, f16 (f16 storage, f32 accumulation) up to 2e-3 + 1e-5·√depth, where
 * 2e-3 covers rounding the output to f16 (2^-11 relative) with margin. A wrong element, an
 * unwritten one (NaN) or one written with the wrong index is off by O(1) and fails.
 */
import type { Dtype, Workload } from './workloads.ts'

/** f16 data is carried as the raw IEEE binary16 bits. */
export type DeviceArray = Float32Array | Uint16Array

export interface KernelIO {
  /** Input buffers by name (see workloads.ts for names and layouts), already rounded to the dtype. */
  readonly inputs: Readonly<Record<string, DeviceArray>>
  /** Output buffers by name, poisoned with NaN; the kernel must overwrite every element. */
  readonly outputs: Readonly<Record<string, DeviceArray>>
}

export interface VerifyReport {
  readonly ok: boolean
  /** Output elements compared with the float64 reference. */
  readonly checked: number
  /** Output elements scanned for poison (every element). */
  readonly scanned: number
  /** The largest error found, as a fraction of the element's scale. */
  readonly maxScaledError: number
  /** The accepted scaled error for this workload and dtype. */
  readonly tolerance: number
  readonly seed: number
  /** The first failure, in words: buffer, index, value found and value expected. */
  readonly failure?: string
}

export class VerificationError extends Error {
  override name = 'VerificationError'
}

/** mulberry32: a small, fast, seedable PRNG; good enough for test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---------------------------------------------------------------- f16 <-> f32 bit conversion

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

// ---------------------------------------------------------------- buffers of each workload

export interface BufferSpec {
  readonly name: string
  readonly length: number
}

/** Names and lengths of the input and output buffers of a workload, in the order kernels take them. */
export function buffersOf(w: Workload): { inputs: BufferSpec[]; outputs: BufferSpec[] } {
  switch (w.kind) {
    case 'gemm':
      return {
        inputs: [
          { name: 'A', length: w.batch * w.m * w.k },
          { name: 'B', length: w.batch * w.k * w.n },
        ],
        outputs: [{ name: 'C', length: w.batch * w.m * w.n }],
      }
    case 'gemv':
      return {
        inputs: [
          { name: 'A', length: w.m * w.n },
          { name: 'x', length: w.trans ? w.m : w.n },
        ],
        outputs: [{ name: 'y', length: w.trans ? w.n : w.m }],
      }
    case 'vjp':
      if (w.mode === 'linear-map') {
        return {
          inputs: [
            { name: 'A', length: w.m * w.n },
            { name: 'v', length: w.m },
          ],
          outputs: [{ name: 'out', length: w.n }],
        }
      }
      return {
        inputs: [
          { name: 'X', length: w.batch * w.inFeatures },
          { name: 'W', length: w.inFeatures * w.outFeatures },
          { name: 'dY', length: w.batch * w.outFeatures },
        ],
        outputs: [
          { name: 'dX', length: w.batch * w.inFeatures },
          { name: 'dW', length: w.inFeatures * w.outFeatures },
        ],
      }
    case 'launch':
      return { inputs: [], outputs: [{ name: 'flag', length: 1 }] }
  }
}

function dtypeOfWorkload(w: Workload): Dtype {
  return w.kind === 'launch' ? 'f32' : w.dtype
}

/** Allocates a workload's buffers with fresh random inputs and poisoned outputs. */
export function makeIO(w: Workload, seed: number): KernelIO {
  const dtype = dtypeOfWorkload(w)
  const next = rng(seed)
  const { inputs, outputs } = buffersOf(w)
  const io = { inputs: {} as Record<string, DeviceArray>, outputs: {} as Record<string, DeviceArray> }
  for (const b of inputs) {
    const a = allocate(dtype, b.length)
    fillRandom(a, next)
    io.inputs[b.name] = a
  }
  for (const b of outputs) {
    const a = allocate(dtype, b.length)
    poison(a)
    io.outputs[b.name] = a
  }
  return io
}

// ---------------------------------------------------------------- float64 reference, element-wise

/** One output element of the reference: its value and its scale Σ|products|. */
interface RefElement {
  value: number
  scale: number
}

/** A function computing reference output element i of the named output, and the reduction depth. */
interface ReferenceOf {
  element(output: string, i: number): RefElement
  depth: number
}

function dot(
  a: Float64Array,
  aOffset: number,
  aStride: number,
  b: Float64Array,
  bOffset: number,
  bStride: number,
  length: number,
): RefElement {
  let value = 0
  let scale = 0
  for (let p = 0; p < length; p++) {
    const prod = (a[aOffset + p * aStride] ?? Number.NaN) * (b[bOffset + p * bStride] ?? Number.NaN)
    value += prod
    scale += Math.abs(prod)
  }
  return { value, scale }
}

function input(io: KernelIO, name: string): Float64Array {
  const a = io.inputs[name]
  if (!a) throw new VerificationError(`missing input buffer '${name}'`)
  return toFloat64(a)
}

function referenceOf(w: Workload, io: KernelIO): ReferenceOf {
  switch (w.kind) {
    case 'gemm': {
      const A = input(io, 'A')
      const B = input(io, 'B')
      const { m, n, k } = w
      return {
        depth: k,
        element(_o, i) {
          const b = Math.floor(i / (m * n))
          const r = Math.floor((i % (m * n)) / n)
          const c = i % n
          const aBase = b * m * k
          const bBase = b * k * n
          // op(A)[r][p] = transA ? A[p][r] (A is k x m) : A[r][p]
          const aOff = aBase + (w.transA ? r : r * k)
          const aStride = w.transA ? m : 1
          // op(B)[p][c] = transB ? B[c][p] (B is n x k) : B[p][c]
          const bOff = bBase + (w.transB ? c * k : c)
          const bStride = w.transB ? 1 : n
          return dot(A, aOff, aStride, B, bOff, bStride, k)
        },
      }
    }
    case 'gemv': {
      const A = input(io, 'A')
      const x = input(io, 'x')
      const { m, n } = w
      return w.trans
        ? { depth: m, element: (_o, i) => dot(A, i, n, x, 0, 1, m) }
        : { depth: n, element: (_o, i) => dot(A, i * n, 1, x, 0, 1, n) }
    }
    case 'vjp': {
      if (w.mode === 'linear-map') {
        const A = input(io, 'A')
        const v = input(io, 'v')
        return { depth: w.m, element: (_o, i) => dot(A, i, w.n, v, 0, 1, w.m) }
      }
      const X = input(io, 'X')
      const W = input(io, 'W')
      const dY = input(io, 'dY')
      const { batch, inFeatures: fin, outFeatures: fout } = w
      return {
        depth: Math.max(batch, fout),
        element(o, i) {
          if (o === 'dX') {
            // dX[r][c] = Σ_j dY[r][j] · W[c][j]
            const r = Math.floor(i / fin)
            const c = i % fin
            return dot(dY, r * fout, 1, W, c * fout, 1, fout)
          }
          // dW[r][c] = Σ_b X[b][r] · dY[b][c]
          const r = Math.floor(i / fout)
          const c = i % fout
          return dot(X, r, fin, dY, c, fout, batch)
        },
      }
    }
    case 'launch':
      return { depth: 1, element: () => ({ value: 1, scale: 1 }) }
  }
}

/** The accepted error, as a fraction of an element's scale Σ|products|, for a dtype and reduction depth. */
export function toleranceFor(dtype: Dtype, depth: number): number {
  const accumulation = 1e-5 * Math.sqrt(Math.max(1, depth))
  return dtype === 'f16' ? 2e-3 + accumulation : accumulation
}

/** Computes the full float64 reference of one output (for tests and small shapes; cost O(elements · depth)). */
export function referenceOutput(w: Workload, io: KernelIO, output: string): Float64Array {
  const spec = buffersOf(w).outputs.find((b) => b.name === output)
  if (!spec) throw new VerificationError(`${w.kind} has no output named '${output}'`)
  const ref = referenceOf(w, io)
  const out = new Float64Array(spec.length)
  for (let i = 0; i < spec.length; i++) out[i] = ref.element(output, i).value
  return out
}

export interface VerifyOptions {
  /** Seed of the random inputs; fresh (random) by default, reported back so a failure can be replayed. */
  seed?: number
  /** Output elements compared with the reference, per output (default 2048); all of them when the output is smaller. */
  samplesPerOutput?: number
}

/**
 * Runs `compute` on fresh random inputs with poisoned outputs and checks the result against the
 * float64 reference. `compute` may be async (a device round trip); it must fill every output.
 */
export async function verifyWorkload(
  w: Workload,
  compute: (io: KernelIO) => void | Promise<void>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const seed = options.seed ?? (Math.random() * 2 ** 32) >>> 0
  const io = makeIO(w, seed)
  await compute(io)
  return checkIO(w, io, seed, options.samplesPerOutput ?? 2048)
}

/** Checks filled outputs of `io` against the reference (exported for backends that allocate their own IO). */
export function checkIO(w: Workload, io: KernelIO, seed: number, samplesPerOutput = 2048): VerifyReport {
  const dtype = dtypeOfWorkload(w)
  const ref = referenceOf(w, io)
  const tolerance = toleranceFor(dtype, ref.depth)
  const pick = rng(seed ^ 0x9e3779b9)
  let checked = 0
  let scanned = 0
  let maxScaledError = 0
  for (const spec of buffersOf(w).outputs) {
    const out = io.outputs[spec.name]
    if (!out || out.length !== spec.length) {
      return {
        ok: false,
        checked,
        scanned,
        maxScaledError,
        tolerance,
        seed,
        failure: `output '${spec.name}' missing or of the wrong length`,
      }
    }
    // Every element: nothing may still hold the poison (or any other non-finite value).
    for (let i = 0; i < out.length; i++) {
      const v = valueAt(out, i)
      if (!Number.isFinite(v)) {
        return {
          ok: false,
          checked,
          scanned: scanned + i,
          maxScaledError: Number.POSITIVE_INFINITY,
          tolerance,
          seed,
          failure: `${spec.name}[${i}] is ${v} (unwritten or overflowed); seed ${seed}`,
        }
      }
    }
    scanned += out.length
    const all = out.length <= samplesPerOutput
    const count = all ? out.length : samplesPerOutput
    for (let s = 0; s < count; s++) {
      // Always include the first and last elements, which catch most indexing mistakes.
      const i = all ? s : s === 0 ? 0 : s === 1 ? out.length - 1 : Math.floor(pick() * out.length)
      const want = ref.element(spec.name, i)
      const got = valueAt(out, i)
      const err = Math.abs(got - want.value) / Math.max(want.scale, Number.MIN_VALUE)
      checked++
      if (err > maxScaledError) maxScaledError = err
      if (!(err <= tolerance)) {
        return {
          ok: false,
          checked,
          scanned,
          maxScaledError,
          tolerance,
          seed,
          failure: `${spec.name}[${i}] = ${got}, expected ${want.value} (scaled error ${err.toExponential(2)} > ${tolerance.toExponential(2)}); seed ${seed}`,
        }
      }
    }
  }
  return { ok: true, checked, scanned, maxScaledError, tolerance, seed }
}
