/**
 * `bench.gpu(name, target, options)`: measures a core workload, a JavaScript function, or a
 * backend's own target on the backend(s) chosen, and reports the device-measured durations to
 * Vitest's table, the test's meta (for this plugin's reporter) and an annotation per result.
 *
 * Order of work for each backend: prepare, measure (cold run first, so compilation stays in the
 * cold figure), verify against core's float64 reference, dispose. A failed verification fails the
 * benchmark: a fast wrong kernel is not a result.
 *
 * The benchmark's name is its key in each device's baseline file: a name identifies a benchmark
 * across files, so a suite can be moved or renamed without losing its history. With `'all'`, one
 * name has one entry per device, each in that device's file.
 */
import type { StoppingRule, Target } from '@gpubench/core'
import { checkName, GpuBenchError, settingsFrom, targetFrom } from './bench-settings.ts'
import type { BackendRequest } from './choose-backend.ts'
import type { GpuBenchResult } from './result.ts'
import { type BenchGpuEnvironment, runBenchmark } from './run-benchmark.ts'

export { GpuBenchError } from './bench-settings.ts'
export type { BenchGpuEnvironment } from './run-benchmark.ts'

/** The options of one `bench.gpu()` call (the plugin's own are GpubenchOptions). */
export interface BenchGpuOptions {
  /** `'auto'` (default): the best available backend; a name: that one; `'all'`: every available one. */
  backend?: BackendRequest
  /** Overrides the plugin's stopping rule, field by field. */
  stoppingRule?: Partial<StoppingRule>
  /** Overrides the plugin's tolerance for this benchmark. */
  tolerance?: number
  /**
   * True (default): a benchmark that cannot run on the requested backend fails. False: it is
   * marked skipped, with the reason, in Vitest's output and in this plugin's report.
   */
  required?: boolean
  /** Overrides the plugin's `verify`. */
  verify?: boolean
  /** Overrides the plugin's `confirmRegressions`. */
  confirmRegressions?: number
}

/** A JavaScript function is measured by the host backend, like `hostFunction(name, fn)`. */
export type GpuBenchTarget = Target | (() => unknown)

export interface GpuBenchRegistration<R> {
  readonly name: string
  readonly target: Target
  /** Measures (once per registration) and resolves to the result, or one result per backend with `'all'`. */
  run(): Promise<R>
}

export interface GpuBench {
  (
    name: string,
    target: GpuBenchTarget,
    options: BenchGpuOptions & { backend: 'all' },
  ): GpuBenchRegistration<GpuBenchResult[]>
  (name: string, target: GpuBenchTarget, options?: BenchGpuOptions): GpuBenchRegistration<GpuBenchResult>
}

/** Creates the `bench.gpu` function of one test. */
export function createBenchGpu(env: BenchGpuEnvironment): GpuBench {
  const benchGpu = (name: unknown, target: unknown, options?: unknown) => {
    const checkedName = checkName(name)
    const checkedTarget = targetFrom(checkedName, target)
    const settings = settingsFrom(checkedName, options, env.config)
    let ran = false
    return {
      name: checkedName,
      target: checkedTarget,
      async run() {
        if (ran)
          throw new GpuBenchError(
            `bench.gpu('${checkedName}').run() was already called; register it again to measure again`,
          )
        ran = true
        const results = await runBenchmark(env, checkedName, checkedTarget, settings)
        return settings.request === 'all' ? results : results[0]
      },
    }
  }
  return benchGpu as GpuBench
}
