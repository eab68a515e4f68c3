// Generated from packages/core/schema/baseline.schema.json by packages/core/scripts/generate-types.ts.
// Do not edit: change the schema and run `pnpm --filter @gpubench/core generate:types`.

/**
 * One device's baseline: the last accepted measurement of each benchmark on that device. Stored as baselines/<device.id>.json, written only by gpubench (sorted entry keys, fixed field order, 2-space indentation, trailing newline). All durations are in nanoseconds (fields ending in Ns), all rates per second.
 */
export interface BaselineFile {
  /**
   * Version of this file format. A reader refuses versions it does not know rather than guess.
   */
  schemaVersion: 1
  device: BaselineDevice
  /**
   * Benchmarks by key (the benchmark's full name). Keys are arbitrary non-empty strings and are written in sorted order (UTF-16 code units).
   */
  entries: {
    [k: string]: BaselineEntry
  }
}
/**
 * The device the entries were measured on.
 */
export interface BaselineDevice {
  /**
   * Stable, filesystem-safe device id; equal to the file name without .json. Lowercase letters, digits and single dashes; at most 100 characters; never a reserved Windows device name.
   */
  id: string
  /**
   * The backend that measured: host, cpu, cuda, metal or webgpu.
   */
  backend: string
  /**
   * Human-readable device name, e.g. "NVIDIA H100 80GB HBM3".
   */
  name: string
  /**
   * Device vendor, e.g. "NVIDIA".
   */
  vendor?: string
  /**
   * Device architecture, e.g. "hopper".
   */
  architecture?: string
  /**
   * Driver version at the time of recording.
   */
  driver?: string
  /**
   * True for a software rasteriser or emulator (e.g. lavapipe): timings say little about a GPU.
   */
  software?: boolean
  /**
   * Other facts about the device (implementation that ran, core count, memory in bytes); units in the keys.
   */
  details: {
    [k: string]: string | number | boolean
  }
}
/**
 * One benchmark's accepted measurement.
 */
export interface BaselineEntry {
  /**
   * Human label of what was measured: a workload's description or a function's name.
   */
  target: string
  /**
   * The workload as JSON (kind, shape, dtype) when the target is one of core's workloads.
   */
  workload?: object
  /**
   * The backend that measured: host, cpu, cuda, metal or webgpu.
   */
  backend: string
  /**
   * How durations were taken (a TimingMethod, e.g. cuda-events, webgpu-timestamps, steady-clock).
   */
  timing: string
  stats: SampleStats
  /**
   * Duration of the first (cold) run in nanoseconds, compilation and first touch included; null when not measured.
   */
  coldNs: number | null
  /**
   * Throughput in floating-point operations per second at the median duration; null when the target has no FLOP count.
   */
  flopPerSecond: number | null
  /**
   * Memory throughput in bytes per second at the median duration; null when the target has no byte count.
   */
  bytesPerSecond: number | null
  /**
   * When the entry was recorded: ISO 8601 date-time with a time zone designator, e.g. 2026-11-22T03:10:52.123Z.
   */
  recordedAt: string
  /**
   * Git commit (hexadecimal object name) of the tree that recorded the entry; null when unknown.
   */
  commit: string | null
  /**
   * Version of gpubench that recorded the entry.
   */
  gpubenchVersion: string
  /**
   * Separate runs (processes) recorded for this entry, oldest first, the latest being the one in stats; gpubench keeps the latest 20. `vitest bench -u` starts the list afresh with its run; GPUBENCH_RECORD=add-run adds its run to it. With two runs or more, the verdict weighs the spread between runs, which no single run can see (a machine or process in another performance mode).
   *
   * @minItems 1
   */
  runs?: [RunSummary, ...RunSummary[]]
}
/**
 * Summary statistics of the warm samples. Every field ending in Ns is a duration in nanoseconds.
 */
export interface SampleStats {
  /**
   * Number of samples (a count, at least 1).
   */
  n: number
  /**
   * Median duration, ns: from 1e-6 ns (a femtosecond; zero, negative or denormal values cannot be a duration and break ratios) to 1e15 ns (11.6 days).
   */
  medianNs: number
  /**
   * Mean duration, ns.
   */
  meanNs: number
  /**
   * Sample standard deviation (n - 1 in the denominator), ns; 0 when n = 1.
   */
  sdNs: number
  /**
   * Median absolute deviation from the median (unscaled), ns.
   */
  madNs: number
  /**
   * Shortest duration, ns.
   */
  minNs: number
  /**
   * Longest duration, ns.
   */
  maxNs: number
  /**
   * 25th percentile, ns.
   */
  p25Ns: number
  /**
   * 75th percentile, ns.
   */
  p75Ns: number
  /**
   * 99th percentile, ns.
   */
  p99Ns: number
  /**
   * Lower bound of the bootstrap confidence interval of the median, ns, 1e-6 to 1e15; at most medianNs (checked by the store: the interval contains its median).
   */
  ciLowNs: number
  /**
   * Upper bound of the bootstrap confidence interval of the median, ns, 1e-6 to 1e15; at least medianNs (checked by the store).
   */
  ciHighNs: number
  /**
   * Confidence level of the interval, a fraction strictly between 0 and 1 (e.g. 0.95).
   */
  ciLevel: number
}
/**
 * One run's median and its confidence interval.
 */
export interface RunSummary {
  /**
   * Median duration of the run, ns: from 1e-6 ns (a femtosecond; zero, negative or denormal values cannot be a duration and break ratios) to 1e15 ns (11.6 days).
   */
  medianNs: number
  /**
   * Lower bound of the median's confidence interval, ns, 1e-6 to 1e15; at most medianNs (checked by the store: the interval contains its median).
   */
  ciLowNs: number
  /**
   * Upper bound of the median's confidence interval, ns, 1e-6 to 1e15; at least medianNs (checked by the store).
   */
  ciHighNs: number
  /**
   * Confidence level of the interval, strictly between 0 and 1.
   */
  ciLevel: number
  /**
   * Number of samples.
   */
  n: number
  /**
   * When the run was recorded (ISO 8601 date-time with a time zone designator).
   */
  recordedAt: string
  /**
   * Id of the device that ran it. In a pool's file (deviceAlias) the machines of the pool differ, and this says which one; absent in runs recorded before it was kept.
   */
  deviceId?: string
}
