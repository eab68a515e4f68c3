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
import { toFloat64, valueAt } from './device-array.ts'
import { buffersOf, dtypeOfWorkload, type KernelIO, makeIO } from './kernel-io.ts'
import { rng } from './measure/random.ts'
import type { Dtype, Workload } from './workloads.ts'

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
  const failed = (failure: string, at: Partial<VerifyReport> = {}): VerifyReport => ({
    ok: false,
    checked,
    scanned,
    maxScaledError,
    tolerance,
    seed,
    ...at,
    failure,
  })
  for (const spec of buffersOf(w).outputs) {
    const out = io.outputs[spec.name]
    if (!out || out.length !== spec.length) return failed(`output '${spec.name}' missing or of the wrong length`)
    // Every element: nothing may still hold the poison (or any other non-finite value).
    for (let i = 0; i < out.length; i++) {
      const v = valueAt(out, i)
      if (!Number.isFinite(v)) {
        return failed(`${spec.name}[${i}] is ${v} (unwritten or overflowed); seed ${seed}`, {
          scanned: scanned + i,
          maxScaledError: Number.POSITIVE_INFINITY,
        })
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
        return failed(
          `${spec.name}[${i}] = ${got}, expected ${want.value} (scaled error ${err.toExponential(2)} > ${tolerance.toExponential(2)}); seed ${seed}`,
        )
      }
    }
  }
  return { ok: true, checked, scanned, maxScaledError, tolerance, seed }
}
