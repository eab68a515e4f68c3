/**
 * The JSON report written on request (`jsonReport` option): every record as the workers sent it
 * (figures in ns, rates per second, as in baseline files), with the test it came from and what
 * happened to its baseline entry. `format` and `version` let a reader refuse a shape it does not know.
 */

import type { DeviceGate, NotGated } from '../node/run-gate.ts'
import type { UpdateMode } from '../options.ts'
import type { BenchRecord, CollectedRecord } from '../record.ts'
import type { DerivedFigures } from './derived.ts'
import type { WriteOutcome } from './rows.ts'

export const JSON_REPORT_VERSION = 1

export interface JsonReport {
  readonly format: 'gpubench-report'
  readonly version: typeof JSON_REPORT_VERSION
  readonly createdAt: string
  readonly update: UpdateMode
  readonly commit: string | null
  readonly benchmarks: ReadonlyArray<{
    readonly module: string
    readonly test: string
    readonly testState: CollectedRecord['testState']
    readonly record: BenchRecord
    readonly baselineWrite: WriteOutcome
  }>
  /** Problems of the run that are not a single benchmark's (e.g. a baseline file that could not be written). */
  readonly errors: readonly string[]
  /**
   * Figures derived from the whole run (FP16 speed-ups, roofline fractions; see derived.ts).
   * Added after version 1 was first written, without a version change: readers of version 1
   * that do not know it ignore it, and it is absent from reports written without it.
   */
  readonly derived?: DerivedFigures
  /**
   * The run's gate (added like `derived`): the run-level error rate, the number of comparisons,
   * the benchmarks that regressed (by name and device), each device's detectable slowdown (ratios:
   * 1.34 is 34%) and run-wide slowdown, and, in CI, what was not gated. Each compared record's
   * `verdict` carries its own `detectableRatio` and `pValue`.
   */
  readonly gate?: JsonGate
}

export interface JsonGate {
  readonly alpha: number
  readonly comparisons: number
  readonly regressed: ReadonlyArray<{ readonly benchmark: string; readonly device: string }>
  readonly devices: readonly DeviceGate[]
  readonly notGated: readonly NotGated[]
}

export function jsonReport(
  collected: ReadonlyArray<{ readonly collected: CollectedRecord; readonly outcome: WriteOutcome }>,
  run: {
    readonly createdAt: string
    readonly update: UpdateMode
    readonly commit: string | null
    readonly errors: readonly string[]
    readonly derived?: DerivedFigures
    readonly gate?: JsonGate
  },
): JsonReport {
  return {
    format: 'gpubench-report',
    version: JSON_REPORT_VERSION,
    createdAt: run.createdAt,
    update: run.update,
    commit: run.commit,
    benchmarks: collected.map(({ collected: c, outcome }) => ({
      module: c.module,
      test: c.test,
      testState: c.testState,
      record: c.record,
      baselineWrite: outcome,
    })),
    errors: run.errors,
    ...(run.derived ? { derived: run.derived } : {}),
    ...(run.gate ? { gate: run.gate } : {}),
  }
}
