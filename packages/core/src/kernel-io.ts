/**
 * A workload's buffers: their names and lengths in the order kernels take them, and the inputs and
 * outputs of one verification (fresh seeded random inputs, poisoned outputs).
 */
import { allocate, type DeviceArray, fillRandom, poison } from './device-array.ts'
import { rng } from './measure/random.ts'
import type { Dtype, Workload } from './workloads.ts'

export interface KernelIO {
  /** Input buffers by name (see workloads.ts for names and layouts), already rounded to the dtype. */
  readonly inputs: Readonly<Record<string, DeviceArray>>
  /** Output buffers by name, poisoned with NaN; the kernel must overwrite every element. */
  readonly outputs: Readonly<Record<string, DeviceArray>>
}

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

/** The dtype of a workload's buffers (a launch has one f32 flag). */
export function dtypeOfWorkload(w: Workload): Dtype {
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
