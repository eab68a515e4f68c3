/**
 * Workloads: plain, frozen descriptions of the paper's kernels that know their exact FLOP and
 * byte counts. Every constructor validates before anything is allocated: a zero, negative,
 * non-integer or overflowing dimension, or an unknown dtype, is refused with a message that
 * names the field.
 *
 * Memory layouts (row-major, batch outermost), shared by every backend and by the reference:
 * - gemm:  A is batch x (m x k) (k x m when transA), B is batch x (k x n) (n x k when transB),
 *          C = op(A) · op(B) is batch x (m x n).
 * - gemv:  A is m x n; y = A · x (x has n, y has m), or y = Aᵀ · x when trans (x has m, y has n).
 * - vjp linear-map: the Jacobian of x ↦ A·x is A (m x n); given v (m), out = vᵀ·A (n).
 * - vjp linear-layer: Y = X·W with X (batch x inFeatures), W (inFeatures x outFeatures); given
 *          dY (batch x outFeatures): dX = dY·Wᵀ (batch x inFeatures), dW = Xᵀ·dY (inFeatures x outFeatures).
 * - launch: a near-empty kernel (one thread stores 1 into a one-element flag buffer), timed per launch.
 * f16 means f16 storage with f32 accumulation.
 */

export const DTYPES = ['f32', 'f16'] as const
export type Dtype = (typeof DTYPES)[number]

export const WORKLOAD_KINDS = ['gemm', 'gemv', 'vjp', 'launch'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

export interface GemmWorkload {
  readonly kind: 'gemm'
  readonly batch: number
  readonly m: number
  readonly n: number
  readonly k: number
  readonly dtype: Dtype
  readonly transA: boolean
  readonly transB: boolean
}

export interface GemvWorkload {
  readonly kind: 'gemv'
  readonly m: number
  readonly n: number
  readonly dtype: Dtype
  readonly trans: boolean
}

export interface VjpLinearMapWorkload {
  readonly kind: 'vjp'
  readonly mode: 'linear-map'
  readonly m: number
  readonly n: number
  readonly dtype: Dtype
}

export interface VjpLinearLayerWorkload {
  readonly kind: 'vjp'
  readonly mode: 'linear-layer'
  readonly batch: number
  readonly inFeatures: number
  readonly outFeatures: number
  readonly dtype: Dtype
}

export type VjpWorkload = VjpLinearMapWorkload | VjpLinearLayerWorkload

export interface LaunchWorkload {
  readonly kind: 'launch'
  /** Launches timed back to back, natively, for one sample; a sample reports the time per launch. */
  readonly launchesPerSample: number
}

export type Workload = GemmWorkload | GemvWorkload | VjpWorkload | LaunchWorkload

export class WorkloadError extends Error {
  override name = 'WorkloadError'
}

/** The largest element count a single buffer may have: 2^31 - 1 elements keeps 32-bit indexing valid on every backend. */
export const MAX_ELEMENTS = 2 ** 31 - 1

/**
 * The most launches one sample of `launch()` may take: at ~10 µs a launch (a slow driver) a
 * sample then lasts about a second; 2^31 - 1 would never finish and, on WebGPU, fill memory with
 * command buffers.
 */
export const MAX_LAUNCHES_PER_SAMPLE = 100_000

function dimension(workload: string, field: string, value: unknown, max = MAX_ELEMENTS): number {
  if (typeof value === 'bigint') {
    throw new WorkloadError(
      `${workload}: field '${field}' must be a number, got the bigint ${value}n; write ${value} without the n`,
    )
  }
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new WorkloadError(
      `${workload}: field '${field}' must be a positive integer, got ${typeof value === 'number' ? value : (JSON.stringify(value) ?? String(value))}`,
    )
  }
  if (!Number.isInteger(value))
    throw new WorkloadError(`${workload}: field '${field}' must be an integer, got ${value}`)
  if (value <= 0) throw new WorkloadError(`${workload}: field '${field}' must be positive, got ${value}`)
  if (value > max) {
    throw new WorkloadError(`${workload}: field '${field}' = ${value} overflows the limit of ${max}`)
  }
  return value
}

function dtypeOf(workload: string, value: unknown): Dtype {
  if (value === undefined) return 'f32'
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) return value as Dtype
  throw new WorkloadError(
    `${workload}: field 'dtype' must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(value)}`,
  )
}

function flag(workload: string, field: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value === 'boolean') return value
  throw new WorkloadError(`${workload}: field '${field}' must be a boolean, got ${JSON.stringify(value)}`)
}

/** Refuses a buffer whose element count (a product of dimensions) exceeds MAX_ELEMENTS. */
function buffer(workload: string, name: string, ...dims: number[]): void {
  const elements = dims.reduce((a, b) => a * b, 1)
  if (!Number.isSafeInteger(elements) || elements > MAX_ELEMENTS) {
    throw new WorkloadError(
      `${workload}: buffer '${name}' (${dims.join(' x ')}) has ${elements} elements, over the limit of ${MAX_ELEMENTS}`,
    )
  }
}

function objectArg(workload: string, spec: unknown): Record<string, unknown> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new WorkloadError(`${workload}: expected an options object, got ${spec === null ? 'null' : typeof spec}`)
  }
  return spec as Record<string, unknown>
}

export interface GemmSpec {
  batch?: number
  m: number
  n: number
  k: number
  dtype?: Dtype
  transA?: boolean
  transB?: boolean
}

/** Batched matrix-matrix product C[b] = op(A[b]) · op(B[b]). */
export function gemm(spec: GemmSpec): GemmWorkload {
  const s = objectArg('gemm', spec)
  const w: GemmWorkload = {
    kind: 'gemm',
    batch: s.batch === undefined ? 1 : dimension('gemm', 'batch', s.batch),
    m: dimension('gemm', 'm', s.m),
    n: dimension('gemm', 'n', s.n),
    k: dimension('gemm', 'k', s.k),
    dtype: dtypeOf('gemm', s.dtype),
    transA: flag('gemm', 'transA', s.transA),
    transB: flag('gemm', 'transB', s.transB),
  }
  buffer('gemm', 'A', w.batch, w.m, w.k)
  buffer('gemm', 'B', w.batch, w.k, w.n)
  buffer('gemm', 'C', w.batch, w.m, w.n)
  return Object.freeze(w)
}

export interface GemvSpec {
  m: number
  n: number
  dtype?: Dtype
  trans?: boolean
}

/** Matrix-vector product y = A·x (or Aᵀ·x). */
export function gemv(spec: GemvSpec): GemvWorkload {
  const s = objectArg('gemv', spec)
  const w: GemvWorkload = {
    kind: 'gemv',
    m: dimension('gemv', 'm', s.m),
    n: dimension('gemv', 'n', s.n),
    dtype: dtypeOf('gemv', s.dtype),
    trans: flag('gemv', 'trans', s.trans),
  }
  buffer('gemv', 'A', w.m, w.n)
  return Object.freeze(w)
}

export type VjpSpec =
  | { mode: 'linear-map'; m: number; n: number; dtype?: Dtype }
  | { mode: 'linear-layer'; batch: number; inFeatures: number; outFeatures: number; dtype?: Dtype }

/** Vector-Jacobian product of a linear map (vᵀ·A) or of a linear layer (dX and dW). */
export function vjp(spec: VjpSpec): VjpWorkload {
  const s = objectArg('vjp', spec)
  if (s.mode === 'linear-map') {
    const w: VjpLinearMapWorkload = {
      kind: 'vjp',
      mode: 'linear-map',
      m: dimension('vjp', 'm', s.m),
      n: dimension('vjp', 'n', s.n),
      dtype: dtypeOf('vjp', s.dtype),
    }
    buffer('vjp', 'A', w.m, w.n)
    return Object.freeze(w)
  }
  if (s.mode === 'linear-layer') {
    const w: VjpLinearLayerWorkload = {
      kind: 'vjp',
      mode: 'linear-layer',
      batch: dimension('vjp', 'batch', s.batch),
      inFeatures: dimension('vjp', 'inFeatures', s.inFeatures),
      outFeatures: dimension('vjp', 'outFeatures', s.outFeatures),
      dtype: dtypeOf('vjp', s.dtype),
    }
    buffer('vjp', 'X', w.batch, w.inFeatures)
    buffer('vjp', 'W', w.inFeatures, w.outFeatures)
    buffer('vjp', 'dY', w.batch, w.outFeatures)
    return Object.freeze(w)
  }
  throw new WorkloadError(`vjp: field 'mode' must be 'linear-map' or 'linear-layer', got ${JSON.stringify(s.mode)}`)
}

export interface LaunchSpec {
  /** Launches timed together as one sample, reported per launch: an integer from 1 to MAX_LAUNCHES_PER_SAMPLE (100 000). Default 100. */
  launchesPerSample?: number
}

/** Kernel launch latency: a near-empty kernel launched back to back, reported per launch. */
export function launch(spec: LaunchSpec = {}): LaunchWorkload {
  const s = objectArg('launch', spec)
  const w: LaunchWorkload = {
    kind: 'launch',
    launchesPerSample:
      s.launchesPerSample === undefined
        ? 100
        : dimension('launch', 'launchesPerSample', s.launchesPerSample, MAX_LAUNCHES_PER_SAMPLE),
  }
  return Object.freeze(w)
}

/** Validates any value claimed to be a workload (e.g. read from JSON) and returns a frozen copy. */
export function workloadFrom(value: unknown): Workload {
  const s = objectArg('workload', value)
  switch (s.kind) {
    case 'gemm':
      return gemm(s as unknown as GemmSpec)
    case 'gemv':
      return gemv(s as unknown as GemvSpec)
    case 'vjp':
      return vjp(s as unknown as VjpSpec)
    case 'launch':
      return launch(s as LaunchSpec)
    default:
      throw new WorkloadError(
        `workload: field 'kind' must be one of ${WORKLOAD_KINDS.join(', ')}, got ${JSON.stringify(s.kind)}`,
      )
  }
}

export function bytesPerElement(dtype: Dtype): number {
  return dtype === 'f16' ? 2 : 4
}

/** Exact floating-point operation count of one execution (a multiply-add counts as 2). */
export function flopsOf(w: Workload): number {
  switch (w.kind) {
    case 'gemm':
      return 2 * w.batch * w.m * w.n * w.k
    case 'gemv':
      return 2 * w.m * w.n
    case 'vjp':
      return w.mode === 'linear-map' ? 2 * w.m * w.n : 4 * w.batch * w.inFeatures * w.outFeatures
    case 'launch':
      return 0
  }
}

/** Minimum bytes moved to and from memory by one execution: every input read once, every output written once. */
export function bytesOf(w: Workload): number {
  switch (w.kind) {
    case 'gemm':
      return bytesPerElement(w.dtype) * w.batch * (w.m * w.k + w.k * w.n + w.m * w.n)
    case 'gemv':
      return bytesPerElement(w.dtype) * (w.m * w.n + w.m + w.n)
    case 'vjp':
      return w.mode === 'linear-map'
        ? bytesPerElement(w.dtype) * (w.m * w.n + w.m + w.n)
        : // X, W, dY read; dX (the shape of X) and dW (the shape of W) written
          bytesPerElement(w.dtype) *
            (2 * w.batch * w.inFeatures + 2 * w.inFeatures * w.outFeatures + w.batch * w.outFeatures)
    case 'launch':
      return 0
  }
}

/** A short, stable, human-readable label: `gemm 8x2000x2000x2000 f32`, `vjp linear-layer 64x1024x1024 f16`. */
export function describeWorkload(w: Workload): string {
  switch (w.kind) {
    case 'gemm': {
      const t = w.transA || w.transB ? ` ${w.transA ? 'T' : 'N'}${w.transB ? 'T' : 'N'}` : ''
      return `gemm ${w.batch}x${w.m}x${w.n}x${w.k} ${w.dtype}${t}`
    }
    case 'gemv':
      return `gemv ${w.m}x${w.n} ${w.dtype}${w.trans ? ' T' : ''}`
    case 'vjp':
      return w.mode === 'linear-map'
        ? `vjp linear-map ${w.m}x${w.n} ${w.dtype}`
        : `vjp linear-layer ${w.batch}x${w.inFeatures}x${w.outFeatures} ${w.dtype}`
    case 'launch':
      return `launch x${w.launchesPerSample}`
  }
}

export function isWorkload(value: unknown): value is Workload {
  return (
    typeof value === 'object' &&
    value !== null &&
    (WORKLOAD_KINDS as readonly unknown[]).includes((value as { kind?: unknown }).kind)
  )
}
