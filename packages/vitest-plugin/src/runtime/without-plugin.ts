/**
 * When a bench file imports this package but vitest.config.ts lacks `gpubench()`, the setup file
 * that gives `bench` its `gpu` method never runs, and the user would meet `TypeError: bench.gpu is
 * not a function`. Importing the package registers, for that file, a hook that gives `bench.gpu`
 * a message saying what to add instead. With the plugin present (its config is provided to the
 * worker) it does nothing. Like other libraries' import-time hooks, it reaches the files that
 * import the package while Vitest isolates test files (its default).
 */
import { beforeEach, inject } from 'vitest'
import { PROVIDE_KEY } from '../options.ts'

export const MISSING_PLUGIN_MESSAGE =
  "bench.gpu() needs the gpubench plugin: add gpubench() from '@gpubench/vitest-plugin' to the plugins of vitest.config.ts"

/** Registers the hint hook when this is a test worker without the plugin's config; otherwise nothing. */
export function hintMissingPlugin(): void {
  let provided: unknown
  try {
    provided = inject(PROVIDE_KEY)
  } catch {
    return // not in a test worker (e.g. vitest.config.ts importing gpubench)
  }
  if (provided) return
  try {
    beforeEach((context) => {
      // As the setup file does: creating the bench object costs nothing until a benchmark is registered.
      const bench = context.bench as typeof context.bench & { gpu?: unknown }
      if (bench.gpu === undefined) {
        bench.gpu = () => {
          throw new Error(MISSING_PLUGIN_MESSAGE)
        }
      }
    })
  } catch {
    // Not during a file's collection: nothing to attach the hook to.
  }
}
