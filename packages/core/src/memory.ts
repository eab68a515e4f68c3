/**
 * How much memory a workload needs, and whether the machine has it, decided before anything is
 * allocated. A workload that does not fit is refused with its estimate; the alternative is the
 * kernel's OOM killer ending the whole test process (SIGKILL, no message, no report).
 *
 * The estimate counts two parts:
 * - the workload's buffers (inputs and outputs in its dtype), which the backend allocates;
 * - verification's buffers (reference.ts: verifyWorkload), alive while the backend's buffers are:
 *   a host copy of every buffer in the dtype (`makeIO`) and a float64 copy of every input (the
 *   reference reads them through `toFloat64`). Outputs are compared element by element, so no
 *   float64 copy of them is made.
 *
 * Only a fraction of the memory available is planned for (MEMORY_SAFETY_FRACTION): the rest is
 * left to what the estimate cannot see (the JS heap, the allocator's rounding, huge-page
 * alignment, other processes starting meanwhile).
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { buffersOf } from './kernel-io.ts'
import { formatBytes } from './units.ts'
import type { Workload } from './workloads.ts'

/** Plan for at most this fraction of the memory available; the rest is the safety margin. */
export const MEMORY_SAFETY_FRACTION = 0.75

export interface MemoryEstimate {
  /** The workload's buffers in its dtype, as a backend allocates them. */
  readonly buffersBytes: number
  /** What verification adds while those are alive: a host copy of every buffer and a float64 copy of every input. */
  readonly verificationBytes: number
}

/** The memory a workload needs (see the module comment). Time: O(buffers). */
export function memoryEstimateOf(w: Workload): MemoryEstimate {
  const elementBytes = w.kind !== 'launch' && w.dtype === 'f16' ? 2 : 4
  const { inputs, outputs } = buffersOf(w)
  const elements = (list: ReadonlyArray<{ length: number }>) => list.reduce((sum, b) => sum + b.length, 0)
  const buffersBytes = (elements(inputs) + elements(outputs)) * elementBytes
  return { buffersBytes, verificationBytes: buffersBytes + elements(inputs) * 8 }
}

/**
 * Memory the system can give without swapping: Linux's MemAvailable (page cache that can be
 * dropped included), else node:os's free memory. `meminfo` is /proc/meminfo's text, for tests.
 */
export function availableMemoryBytes(meminfo?: string): number {
  let text = meminfo
  if (text === undefined && process.platform === 'linux') {
    try {
      text = readFileSync('/proc/meminfo', 'utf8')
    } catch {
      text = undefined
    }
  }
  const kib = text === undefined ? undefined : /^MemAvailable:\s*(\d+)\s*kB/m.exec(text)?.[1]
  return kib === undefined ? os.freemem() : Number(kib) * 1024
}

/**
 * Null when `estimate` (with verification, when `verify`) fits in MEMORY_SAFETY_FRACTION of
 * `availableBytes`, else the reason, with the estimate: "needs 51.5 GB (buffers 17.2 GB,
 * verification 34.4 GB: ...), more than 75% of the 24.7 GB of memory available (18.5 GB; ...)".
 */
export function memoryRefusal(
  estimate: MemoryEstimate,
  options: { readonly verify: boolean; readonly availableBytes: number },
): string | null {
  const need = estimate.buffersBytes + (options.verify ? estimate.verificationBytes : 0)
  const budget = options.availableBytes * MEMORY_SAFETY_FRACTION
  if (need <= budget) return null
  const parts = options.verify
    ? `buffers ${formatBytes(estimate.buffersBytes)}, verification ${formatBytes(estimate.verificationBytes)}: a host copy of every buffer and float64 copies of the inputs`
    : `buffers ${formatBytes(estimate.buffersBytes)}`
  const percent = Math.round(MEMORY_SAFETY_FRACTION * 100)
  return `needs ${formatBytes(need)} (${parts}), more than ${percent}% of the ${formatBytes(options.availableBytes)} of memory available (${formatBytes(budget)}; the rest is a safety margin); refused before allocating anything: shrink the workload`
}
