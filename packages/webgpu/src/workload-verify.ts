/**
 * Verification of core's workloads: core's `verifyWorkload` draws fresh seeded inputs and
 * NaN-poisoned outputs; both are uploaded (the poison too, so an element the kernel skips cannot
 * pass with a value left from an earlier run), the kernels run once, and the outputs are read
 * back into core's arrays for the float64 comparison.
 */
import { type VerifyOptions, verifyWorkload, type Workload } from '@gpubench/core'
import type { Verifier } from './webgpu-runnable.ts'

export function workloadVerifier(w: Workload, options: VerifyOptions = {}): Verifier {
  return (runnable) =>
    verifyWorkload(
      w,
      async (io) => {
        for (const [name, data] of Object.entries(io.inputs)) await runnable.upload(name, data)
        for (const [name, data] of Object.entries(io.outputs)) await runnable.upload(name, data)
        await runnable.runOnce()
        for (const [name, data] of Object.entries(io.outputs)) {
          const bytes = await runnable.readback(name)
          new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(new Uint8Array(bytes))
        }
      },
      options,
    )
}
