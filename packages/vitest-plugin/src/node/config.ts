/**
 * @gpubench/vitest-plugin/config: the entry for vitest.config.ts. Loadable by Node alone (type
 * stripping), which is how Vitest loads a config: nothing here imports core's runtime.
 */
import '../augment.ts'

export type { GpubenchOptions, UpdateMode } from '../options.ts'
export { GpubenchOptionsError } from '../options.ts'
export { gpubench } from './plugin.ts'
