/**
 * Core's workloads as plans: which WGSL kernels, bound to which of the workload's buffers
 * (names and lengths from core's `buffersOf`), dispatched how.
 *
 * - gemm: one tiled GEMM dispatch (transposes handled inside the kernel).
 * - gemv: the row kernel (y = A·x) or the column kernel (y = Aᵀ·x).
 * - vjp linear-map: out = vᵀ·A is the column kernel on (A, v).
 * - vjp linear-layer: two GEMM dispatches in one pass: dX = dY·Wᵀ (W read as N x K, transB) and
 *   dW = Xᵀ·dY (X read as K x M, transA).
 * - launch: the one-invocation kernel, dispatched `launchesPerSample` times per run.
 *
 * Inputs start with seeded random values (not zeros, which some hardware multiplies faster).
 */
import { buffersOf, bytesPerElement, type Dtype, describeWorkload, makeIO, type Workload } from '@gpubench/core'
import { type GemmKernel, type GemmShape, gemmLimitReason, gemmWgsl, gemmWorkgroups } from './kernels/gemm.ts'
import { type GemvShape, gemvWgsl, gemvWorkgroups } from './kernels/gemv.ts'
import { LAUNCH_WGSL, LAUNCH_WORKGROUPS } from './kernels/launch.ts'
import type { Plan, PlanBuffer, PlanDispatch, PlanProgram } from './plan.ts'
import { bytesOf } from './plan.ts'

/** Seed of the inputs used for timing (verification draws fresh ones). */
export const TIMING_INPUT_SEED = 20250117

function dtypeOf(w: Workload): Dtype {
  return w.kind === 'launch' ? 'f32' : w.dtype
}

function gemmProgram(
  label: string,
  shape: GemmShape,
  kernel: GemmKernel,
  a: string,
  b: string,
  c: string,
): PlanProgram {
  return { label, wgsl: gemmWgsl(shape, kernel), entryPoint: 'main', bindings: [a, b, c] }
}

function gemvProgram(label: string, shape: GemvShape, a: string, x: string, y: string): PlanProgram {
  return { label, wgsl: gemvWgsl(shape), entryPoint: 'main', bindings: [a, x, y] }
}

/** The GEMM shapes a workload dispatches (empty for gemv, linear-map VJP and launch). */
export function gemmShapesOf(w: Workload): GemmShape[] {
  if (w.kind === 'gemm') return [w]
  if (w.kind === 'vjp' && w.mode === 'linear-layer') {
    const { batch, inFeatures, outFeatures, dtype } = w
    return [
      { batch: 1, m: batch, n: inFeatures, k: outFeatures, dtype, transA: false, transB: true },
      { batch: 1, m: inFeatures, n: outFeatures, k: batch, dtype, transA: true, transB: false },
    ]
  }
  return []
}

/** Why the kernels cannot dispatch this workload on any adapter (grid over WebGPU's limits), or undefined. */
export function workloadLimitReason(w: Workload): string | undefined {
  for (const shape of gemmShapesOf(w)) {
    const reason = gemmLimitReason(shape)
    if (reason) return reason
  }
  return undefined
}

export interface PlanOptions {
  /** Which GEMM kernel to use (default 'tiled'). */
  readonly gemmKernel?: GemmKernel
  /** Seed of the inputs (default TIMING_INPUT_SEED). */
  readonly seed?: number
}

export function planOf(w: Workload, options: PlanOptions = {}): Plan {
  const seed = options.seed ?? TIMING_INPUT_SEED
  const kernel = options.gemmKernel ?? 'tiled'
  const dtype = dtypeOf(w)
  const io = makeIO(w, seed)
  const spec = buffersOf(w)
  const element = bytesPerElement(dtype)
  const buffers: PlanBuffer[] = [
    ...spec.inputs.map((b) => {
      const data = io.inputs[b.name]
      return {
        name: b.name,
        sizeBytes: b.length * element,
        kind: 'read-only-storage' as const,
        ...(data && { init: bytesOf(data) }),
      }
    }),
    ...spec.outputs.map((b) => ({ name: b.name, sizeBytes: b.length * element, kind: 'storage' as const })),
  ]
  const label = describeWorkload(w)
  let programs: PlanProgram[]
  let dispatches: PlanDispatch[]
  let repeat = 1
  switch (w.kind) {
    case 'gemm':
      programs = [gemmProgram(label, w, kernel, 'A', 'B', 'C')]
      dispatches = [{ program: 0, workgroups: gemmWorkgroups(w) }]
      break
    case 'gemv':
      programs = [gemvProgram(label, w, 'A', 'x', 'y')]
      dispatches = [{ program: 0, workgroups: gemvWorkgroups(w) }]
      break
    case 'vjp':
      if (w.mode === 'linear-map') {
        const shape: GemvShape = { m: w.m, n: w.n, dtype: w.dtype, trans: true }
        programs = [gemvProgram(label, shape, 'A', 'v', 'out')]
        dispatches = [{ program: 0, workgroups: gemvWorkgroups(shape) }]
      } else {
        const [dx, dw] = gemmShapesOf(w) as [GemmShape, GemmShape]
        programs = [
          gemmProgram(`${label} dX`, dx, kernel, 'dY', 'W', 'dX'),
          gemmProgram(`${label} dW`, dw, kernel, 'X', 'dY', 'dW'),
        ]
        dispatches = [
          { program: 0, workgroups: gemmWorkgroups(dx) },
          { program: 1, workgroups: gemmWorkgroups(dw) },
        ]
      }
      break
    case 'launch':
      programs = [{ label, wgsl: LAUNCH_WGSL, entryPoint: 'main', bindings: ['flag'] }]
      dispatches = [{ program: 0, workgroups: LAUNCH_WORKGROUPS }]
      repeat = w.launchesPerSample
      break
  }
  const notes = gemmShapesOf(w).length > 0 ? [`gemm kernel: '${kernel}' (see kernels/gemm.ts)`] : []
  return { label, f16: dtype === 'f16', buffers, programs, dispatches, repeat, notes }
}
