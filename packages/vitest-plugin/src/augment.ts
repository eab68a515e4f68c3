/**
 * Type augmentations of Vitest, so editors complete `bench.gpu(...)`, and `task.meta.gpubench`
 * and `inject('gpubench')` are typed. Types only.
 */
import type { RuntimeConfig } from './options.ts'
import type { GpubenchTaskMeta } from './record.ts'
import type { GpuBench } from './runtime/bench-gpu.ts'

declare module 'vitest' {
  interface Bench {
    /** Measures a core workload, a function or a backend target on the device; see `@gpubench/vitest-plugin`. */
    gpu: GpuBench
  }
  interface TaskMeta {
    gpubench?: GpubenchTaskMeta
  }
  interface ProvidedContext {
    gpubench: RuntimeConfig
  }
}
