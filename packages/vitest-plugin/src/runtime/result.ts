/**
 * The result of one benchmark on one backend, as `bench.gpu(...).run()` returns it and
 * `expectThroughput()` reads it. Throughput comes from the target's own work counts and the
 * median device duration; a target without counts has no throughput (null), never a made-up one.
 */
import {
  type BackendKind,
  bytesOf,
  type DeviceDescription,
  describeWorkload,
  flopsOf,
  isWorkload,
  type Measurement,
  type Target,
  type TimingMethod,
} from '@gpubench/core'
import type { BaselineLookup, MeasuredRecord, RecordedVerdict } from '../record.ts'

export interface GpuBenchResult {
  /** The benchmark's name; also its key in the device's baseline file. */
  readonly name: string
  readonly backend: BackendKind
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  readonly target: Target
  /** Human label of the target: `gemm 8x2000x2000x2000 f32`, or the function's name. */
  readonly targetLabel: string
  readonly measurement: Measurement
  /** Floating-point operations of one run, when the target declares them (a workload always does). */
  readonly flops: number | null
  /** Bytes moved by one run, when known. */
  readonly bytes: number | null
  /** Work per second at the median duration; null without a work count. */
  readonly flopPerSecond: number | null
  readonly bytesPerSecond: number | null
  /** This device's baseline for this benchmark, as found when the benchmark ran. */
  readonly baseline: BaselineLookup
  /** Comparison with the baseline at the benchmark's tolerance; null without a baseline. */
  readonly verdict: RecordedVerdict | null
  readonly notes: readonly string[]
}

/** Work counts of one run: a workload's exact counts, or what a function/custom target declares. */
export function workCounts(target: Target): { flops: number | null; bytes: number | null } {
  if (isWorkload(target)) {
    const flops = flopsOf(target)
    const bytes = bytesOf(target)
    return { flops: flops > 0 ? flops : null, bytes: bytes > 0 ? bytes : null }
  }
  return { flops: target.flops ?? null, bytes: target.bytes ?? null }
}

export function targetLabel(target: Target): string {
  return isWorkload(target) ? describeWorkload(target) : target.name
}

/** Count per second at a duration; null without a count or with a zero duration. */
export function perSecond(count: number | null, durationNs: number): number | null {
  if (count === null || !(durationNs > 0)) return null
  return (count * 1e9) / durationNs
}

/** Builds the user-facing result from the record the worker keeps for the reporter. */
export function resultFrom(
  name: string,
  target: Target,
  device: DeviceDescription,
  timing: TimingMethod,
  measurement: Measurement,
  record: MeasuredRecord,
): GpuBenchResult {
  const { flops, bytes } = workCounts(target)
  return {
    name,
    backend: record.backend,
    device,
    timing,
    target,
    targetLabel: targetLabel(target),
    measurement,
    flops,
    bytes,
    flopPerSecond: perSecond(flops, measurement.stats.medianNs),
    bytesPerSecond: perSecond(bytes, measurement.stats.medianNs),
    baseline: record.baseline,
    get verdict() {
      return record.verdict
    },
    notes: record.notes,
  }
}
