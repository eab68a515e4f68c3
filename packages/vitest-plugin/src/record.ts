/**
 * What a worker records about each benchmark in the test's meta (`task.meta.gpubench`), and what
 * the main process reads back in its reporter to decide baseline writes and print its report.
 * Plain JSON only: it crosses the process boundary through Vitest's own task updates.
 *
 * Invariant: a `measured` record exists only for a benchmark whose measurement completed (the
 * backend was available, the runnable prepared and verified, the stopping rule held or its caps
 * were reached); `entry` is then exactly what `-u` would write for it.
 */
import type {
  BackendKind,
  BaselineDevice,
  BaselineEntry,
  DeviceDescription,
  MachineLoad,
  RunNoisePrior,
  RunSummary,
  SampleStats,
  VerdictKind,
} from '@gpubench/core'

/** What the worker knew of this device's baseline when the benchmark ran. */
export type BaselineLookup =
  | {
      readonly state: 'found'
      /** Absolute path of the device's baseline file. */
      readonly file: string
      /** The baseline's statistics, all in ns, as the file holds them. */
      readonly stats: SampleStats
      /** The entry's separate runs, oldest first (its own statistics as one run when it has no list). */
      readonly runs: readonly RunSummary[]
      readonly recordedAt: string
      readonly commit: string | null
      readonly flopPerSecond: number | null
      readonly bytesPerSecond: number | null
      /** The spread between runs of every entry of the file, as the prior of this entry's (core's deviceRunNoisePrior). */
      readonly devicePrior?: RunNoisePrior
      /** Separate sittings the file's runs span (core's sittingsOf over every entry's runs); null: not known. */
      readonly deviceSittings?: number | null
      /**
       * In a pool's file: the machine whose own runs the comparison used (runs, prior and sittings
       * are then that machine's); absent where every run of the entry was used.
       */
      readonly machine?: string
    }
  | { readonly state: 'missing'; readonly file: string }
  /** The file exists but cannot be read, parsed or validated: `message` names the file and the JSON pointer. */
  | { readonly state: 'invalid'; readonly file: string; readonly pointer: string; readonly message: string }

export interface RecordedVerdict {
  /** The worker's reading at the comparison's own level; the reporter settles `regressed` for the run. */
  kind: VerdictKind
  /** Current median / baseline median (> 1 is slower). */
  readonly ratio: number
  readonly ratioLow: number
  readonly ratioHigh: number
  readonly tolerance: number
  reason: string
  /** Baseline runs weighed: 1, or K >= 2 when the spread between the baseline's runs entered the interval. */
  readonly baselineRuns?: number
  /** With K >= 2 runs: the standard deviation of their log medians (≈ the relative spread between runs). */
  readonly betweenRunSd?: number
  /** One-sided p-value of "no slowdown beyond the tolerance" on the model of whole runs (core's verdict). */
  readonly pValue?: number
  /** The log ratio's standard error and the t's degrees of freedom under that model. */
  readonly logSe?: number
  readonly df?: number
  /** Separate sittings the device's baseline runs span (core's step 9b). */
  readonly sittings?: number | null
  /** The shift between sittings the model allows for because the runs are of one sitting (log scale; 0: none). */
  readonly unseenShift?: number
  /** In a pool's file, the comparison used only the runs of the machine that ran now (BaselineLookup.machine). */
  readonly ownRuns?: boolean
  /**
   * Set by the reporter, which sees the whole run: the smallest slowdown this comparison catches
   * (80% of the time) at the run-level error rate, as a ratio (1.34: a slowdown of 34%).
   */
  detectableRatio?: number
  /** Set by the reporter: the slowdown common to this device's comparisons in this run, discounted before the test (a fraction). */
  runShift?: number
}

/** Peak rates of a device, as its backend reports them (FLOP/s per dtype, bytes/s). */
export type DevicePeak = NonNullable<DeviceDescription['peak']>

export interface MeasuredRecord {
  readonly status: 'measured'
  /** The benchmark's name as the suite gave it; also its key in the device's baseline file. */
  readonly key: string
  readonly backend: BackendKind
  /** The device that measured, always the real one, also when its baseline is a pool's. */
  readonly device: BaselineDevice
  /**
   * The id of the pool's baseline file (`<backend>-<deviceAlias>`) when the machine belongs to a
   * pool: compared with, and written to under -u, instead of the device's own file.
   */
  readonly pool?: string
  /**
   * The device's peak rates, only when its backend reports them (for roofline fractions in the
   * report). Kept apart from `device` because baseline files record what was measured, not
   * datasheet figures: it is never written to a baseline.
   */
  readonly peak?: DevicePeak
  /** The entry `-u` writes; `commit` is filled in by the main process, which knows the tree. */
  readonly entry: BaselineEntry
  readonly baseline: BaselineLookup
  /**
   * The comparison with the baseline, when one was found: at the benchmark's tolerance, or at the
   * one `toMatchBaseline({ tolerance })` asked for (runtime/judgement.ts). The reporter replaces it
   * with the run's decision (node/run-gate.ts).
   */
  verdict: RecordedVerdict | null
  readonly stoppedBy: string
  readonly relativeNoise: number
  readonly wallTimeNs: number
  readonly notes: readonly string[]
  /**
   * The measurements before this one that read `regressed` and were measured again
   * (`confirmRegressions`), in order: each one's ratio now/baseline and the pause that followed
   * it. Absent or empty when the first measurement stood.
   */
  readonly confirmations?: readonly Confirmation[]
  /**
   * CPUs that other processes kept busy, and that the hypervisor took, during the (last)
   * measurement (core's machineLoadBetween); absent where /proc cannot tell (macOS, Windows).
   */
  readonly machineLoad?: MachineLoad
}

/** A measurement that read `regressed` and was measured again: its ratio now/baseline and the pause that followed. */
export interface Confirmation {
  readonly ratio: number
  readonly pauseMs: number
}

/** A backend that `'all'` (or an optional benchmark) could not use: shown, never silently passed. */
export interface SkippedRecord {
  readonly status: 'skipped'
  readonly key: string
  readonly backend: BackendKind
  readonly reason: string
}

export type BenchRecord = MeasuredRecord | SkippedRecord

/** The shape under `task.meta.gpubench`. */
export interface GpubenchTaskMeta {
  records: BenchRecord[]
}

/** A record as the reporter keeps it: with the test it came from. */
export interface CollectedRecord {
  readonly record: BenchRecord
  /** Test module path relative to the root. */
  readonly module: string
  readonly test: string
  readonly testState: 'passed' | 'failed' | 'skipped' | 'pending'
}
