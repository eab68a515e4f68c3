/**
 * @gpubench/vitest-plugin: GPU performance assertions for Vitest 5.1.
 *
 * In suites (worker side): `bench.gpu(name, target, options)` on the test context's `bench`
 * (typed by the augmentation below), `expectThroughput(result)`, and the result types.
 *
 * In vitest.config.ts: `gpubench` (also exported alone by `@gpubench/vitest-plugin/config`,
 * which loads nothing of the measurement runtime).
 */
import './augment.ts'

export { gpubench } from './node/plugin.ts'
export type { GpubenchOptions, RuntimeConfig, UpdateMode } from './options.ts'
export { GpubenchOptionsError } from './options.ts'
export type {
  BaselineLookup,
  BenchRecord,
  GpubenchTaskMeta,
  MeasuredRecord,
  RecordedVerdict,
  SkippedRecord,
} from './record.ts'
export type { BenchGpuOptions, GpuBench, GpuBenchRegistration, GpuBenchTarget } from './runtime/bench-gpu.ts'
export { GpuBenchError } from './runtime/bench-gpu.ts'
export type { BackendRequest } from './runtime/choose-backend.ts'
export { NoBackendError } from './runtime/choose-backend.ts'
export type { MatchBaselineOptions, ThroughputAssertion } from './runtime/expect-throughput.ts'
export { expectThroughput, ThroughputAssertionError } from './runtime/expect-throughput.ts'
export type { GpuBenchResult } from './runtime/result.ts'

import { hintMissingPlugin } from './runtime/without-plugin.ts'

hintMissingPlugin()
