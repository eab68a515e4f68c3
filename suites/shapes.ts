/**
 * The suites' shapes per preset. `paper` follows the paper (batched matmul 8 x 2000x2000) and adds
 * square and rectangular shapes of transformer layers; `quick` keeps the same kinds at sizes a
 * software adapter (lavapipe, a few GFLOP/s) finishes in milliseconds.
 */
import { DTYPES, type Dtype, type GemmSpec, type GemvSpec } from '@gpubench/core'
import { preset } from './preset.ts'

export type { Dtype }
export { DTYPES }

type Shapes<T> = Readonly<Record<'quick' | 'paper', readonly T[]>>

/** Batched and plain matrix-matrix products. */
const MATMUL: Shapes<Omit<GemmSpec, 'dtype'>> = {
  paper: [
    { batch: 8, m: 2000, n: 2000, k: 2000 },
    { batch: 1, m: 4096, n: 4096, k: 4096 },
    { batch: 1, m: 4096, n: 1024, k: 8192 },
  ],
  quick: [
    { batch: 8, m: 256, n: 256, k: 256 },
    { batch: 1, m: 512, n: 512, k: 512 },
    { batch: 1, m: 512, n: 128, k: 1024 },
  ],
}

/** Matrix-vector products from cache-resident to memory-bound. */
const MATVEC: Shapes<Omit<GemvSpec, 'dtype'>> = {
  paper: [
    { m: 2000, n: 2000 },
    { m: 8192, n: 8192 },
    { m: 16384, n: 16384 },
    { m: 16384, n: 4096, trans: true },
  ],
  quick: [
    { m: 256, n: 256 },
    { m: 1024, n: 1024 },
    { m: 4096, n: 4096 },
    { m: 4096, n: 1024, trans: true },
  ],
}

/** Vector-Jacobian products: of a linear map (vᵀ·A, the same shapes as the matrix-vector suite) and of a linear layer. */
const VJP_MAP: Shapes<{ m: number; n: number }> = {
  paper: [
    { m: 2000, n: 2000 },
    { m: 8192, n: 8192 },
    { m: 16384, n: 16384 },
  ],
  quick: [
    { m: 256, n: 256 },
    { m: 1024, n: 1024 },
    { m: 4096, n: 4096 },
  ],
}

const VJP_LAYER: Shapes<{ batch: number; inFeatures: number; outFeatures: number }> = {
  paper: [
    { batch: 64, inFeatures: 4096, outFeatures: 4096 },
    { batch: 2048, inFeatures: 1280, outFeatures: 5120 },
  ],
  quick: [
    { batch: 32, inFeatures: 256, outFeatures: 256 },
    { batch: 128, inFeatures: 256, outFeatures: 512 },
  ],
}

export const matmulShapes = MATMUL[preset]
export const matvecShapes = MATVEC[preset]
export const vjpMapShapes = VJP_MAP[preset]
export const vjpLayerShapes = VJP_LAYER[preset]
/** Launches timed back to back natively for one sample (the paper: 100). */
export const launchesPerSample = 100
