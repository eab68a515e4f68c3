/**
 * @gpubench/vitest-plugin/config: `gpubench()` alone, for vitest.config.ts. Node loads a config
 * itself (type stripping only); this entry imports nothing of core's or the worker's runtime, so
 * loading the config stays light and independent of them.
 */
import '../augment.ts'

export type { GpubenchOptions, UpdateMode } from '../options.ts'
export { GpubenchOptionsError } from '../options.ts'
export { gpubench } from './plugin.ts'
