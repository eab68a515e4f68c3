/**
 * Loading dawn.node (the npm package `webgpu`) and holding its GPU instances.
 *
 * Why one place: the binding is optional at run time (a platform without a prebuilt binary, a
 * missing Vulkan loader), so it is imported lazily and its failure becomes the backend's
 * "unavailable" reason; and Dawn keeps a Node process alive while an instance is referenced, so
 * every instance is held here, where `releaseInstances()` can drop them all at shutdown.
 */
import type { ResolvedOptions } from './options.ts'
import { dawnFlagsOf } from './options.ts'

interface DawnModule {
  create(flags: string[]): GPU
}

let dawn: Promise<DawnModule> | undefined
const instances = new Map<string, GPU>()

/** Imports `webgpu` once; rejects with the loader's own error message when it cannot load. */
export function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    dawn = import('webgpu').then(
      (m) => m as DawnModule,
      (error: unknown) => {
        dawn = undefined // a later call may succeed (e.g. after installing a driver)
        const detail = error instanceof Error ? error.message : String(error)
        throw new Error(`the npm package 'webgpu' (dawn.node) failed to load: ${detail}`)
      },
    )
  }
  return dawn
}

/** The GPU instance for these options (one per distinct set of Dawn flags, created on first use). */
export async function gpuInstance(options: ResolvedOptions): Promise<GPU> {
  const flags = dawnFlagsOf(options)
  const key = flags.join('\n')
  const cached = instances.get(key)
  if (cached) return cached
  const { create } = await loadDawn()
  const gpu = create(flags)
  instances.set(key, gpu)
  return gpu
}

/** Drops every instance reference so the process can exit; later calls create fresh instances. */
export function releaseInstances(): void {
  instances.clear()
}
