/**
 * The setup file the plugin adds to benchmark projects: gives every test's `bench` a `gpu`
 * method. Runs in the worker. Without the plugin's provided config it refuses to guess: the
 * options (baseline folder, `-u`) would be wrong, so `bench.gpu` says how to fix it instead.
 */
import { beforeEach, inject } from 'vitest'
import { PROVIDE_KEY } from '../options.ts'
import { createBenchGpu } from './bench-gpu.ts'
import { BackendRegistry } from './registry.ts'
import { MISSING_PLUGIN_MESSAGE } from './without-plugin.ts'

const config = inject(PROVIDE_KEY)
const registry = config ? new BackendRegistry(config.backends) : null

beforeEach((context) => {
  const bench = context.bench as typeof context.bench & { gpu?: unknown }
  if (!config || !registry) {
    bench.gpu = () => {
      throw new Error(MISSING_PLUGIN_MESSAGE)
    }
    return
  }
  bench.gpu = createBenchGpu({ context, config, registry })
})
