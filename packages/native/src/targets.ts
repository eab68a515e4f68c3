/**
 * Which targets the native backends run: core's four workload kinds, nothing else. A JavaScript
 * function belongs to the host backend; a backend-specific target (e.g. a WGSL pipeline) to its own.
 */
import {
  type BackendKind,
  BackendUnavailableError,
  isWorkload,
  type Probe,
  type Runnable,
  type Target,
  type TimingMethod,
  type Workload,
  workloadFrom,
} from '@gpubench/core'
import type { NativeBackendKind, NativeCpuOptions, NativeCudaOptions } from './addon-types.ts'
import { loadAddon } from './load.ts'
import { messageOf, NativeRunnableAdapter, workloadError } from './native-runnable.ts'

/** The native backends' probe: taken once, on first use, and kept (a device does not change within a process). */
export abstract class ProbedOnce {
  #probed: Promise<Probe> | undefined

  probe(): Promise<Probe> {
    this.#probed ??= this.detect()
    return this.#probed
  }

  protected abstract detect(): Promise<Probe>
}

export function nativeSupports(backend: BackendKind, target: Target): true | string {
  if (isWorkload(target)) return true
  if (target.kind === 'function') {
    return `the ${backend} backend runs core's workloads (gemm, gemv, vjp, launch); measure JavaScript functions with the host backend`
  }
  return `the ${backend} backend runs core's workloads only; '${target.name}' is a target of the ${target.backend} backend`
}

/** Re-validates the target as a workload (a hand-made object may be malformed), as a BackendError naming it. */
export function workloadOf(backend: BackendKind, deviceId: string, target: Target): Workload {
  const supported = nativeSupports(backend, target)
  if (supported !== true)
    throw workloadError(String((target as { name?: unknown }).name ?? 'target'), backend, deviceId, supported)
  try {
    return workloadFrom(target)
  } catch (error) {
    throw workloadError(JSON.stringify(target), backend, deviceId, messageOf(error))
  }
}

/**
 * What every native backend's `prepare` does: refuse when unavailable (with the probe's or the
 * loader's reason), re-validate the target, and build the addon's runnable, turning a native
 * failure (allocation, device error) into a BackendError naming the workload and the device.
 */
export async function prepareNative(
  backend: NativeBackendKind,
  probe: Probe,
  target: Target,
  timing: TimingMethod,
  options?: NativeCpuOptions | NativeCudaOptions,
): Promise<Runnable> {
  if (!probe.available) throw new BackendUnavailableError(`${backend} backend unavailable: ${probe.reason}`, backend)
  const workload = workloadOf(backend, probe.device.id, target)
  const load = await loadAddon()
  if (!load.ok) throw new BackendUnavailableError(`${backend} backend unavailable: ${load.reason}`, backend)
  try {
    const native = new load.addon.Runnable(backend, workload, options)
    return new NativeRunnableAdapter(workload, probe.device, timing, native)
  } catch (error) {
    throw workloadError(workload, backend, probe.device.id, messageOf(error))
  }
}
