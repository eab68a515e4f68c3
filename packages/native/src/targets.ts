/**
 * Which targets the native backends run: core's four workload kinds, nothing else. A JavaScript
 * function belongs to the host backend; a backend-specific target (e.g. a WGSL pipeline) to its own.
 */
import { type BackendKind, isWorkload, type Target, type Workload, workloadFrom } from '@gpubench/core'
import { messageOf, workloadError } from './native-runnable.ts'

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
