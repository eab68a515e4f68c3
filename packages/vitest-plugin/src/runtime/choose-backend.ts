/**
 * Which backend(s) run a benchmark: `'auto'` (the best available one that supports the target),
 * a named one, or `'all'` (every available one that supports it, each compared with its own
 * device's baseline).
 *
 * `'auto'` prefers real accelerators to the CPU and the CPU to emulators: cuda > metal > webgpu
 * on a hardware adapter > cpu > webgpu on a software adapter (lavapipe, SwiftShader) > host.
 * A software WebGPU adapter comes after the CPU because its timings describe the emulator, not a GPU.
 */
import type { BackendKind, Target } from '@gpubench/core'
import type { AvailableBackend, BackendStatus } from './registry.ts'

export type BackendRequest = 'auto' | 'all' | BackendKind

export interface Skipped {
  readonly kind: BackendKind
  readonly reason: string
}

export interface BackendChoice {
  /** The backends that run, in preference order; never empty. */
  readonly chosen: readonly AvailableBackend[]
  /** Backends considered and not used, with the reason (shown in reports, never silently dropped). */
  readonly skipped: readonly Skipped[]
}

export class NoBackendError extends Error {
  override name = 'NoBackendError'
  readonly skipped: readonly Skipped[]
  constructor(message: string, skipped: readonly Skipped[]) {
    super(message)
    this.skipped = skipped
  }
}

/** The backends that could run a target at all, before any is loaded: saves importing addons a target cannot use. */
export function candidateKinds(target: Target): readonly BackendKind[] {
  if (target.kind === 'function') return ['host']
  if (target.kind === 'custom') return [target.backend]
  return ['cuda', 'metal', 'webgpu', 'cpu']
}

/** Lower is preferred by `'auto'`. */
export function autoRank(status: AvailableBackend): number {
  switch (status.kind) {
    case 'cuda':
      return 0
    case 'metal':
      return 1
    case 'webgpu':
      return status.device.software ? 4 : 2
    case 'cpu':
      return 3
    case 'host':
      return 5
  }
}

function describeTarget(target: Target): string {
  return target.kind === 'function' || target.kind === 'custom' ? `'${target.name}'` : `this ${target.kind} workload`
}

function listReasons(skipped: readonly Skipped[]): string {
  return skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ')
}

/**
 * Picks from probed backends. `statuses` holds one status per backend considered (see
 * `candidateKinds`), `supports` is each backend's own `supports(target)`.
 * Throws NoBackendError, listing every reason, when nothing can run.
 */
export function chooseBackends(
  request: BackendRequest,
  target: Target,
  statuses: readonly BackendStatus[],
): BackendChoice {
  const usable: AvailableBackend[] = []
  const skipped: Skipped[] = []
  for (const status of statuses) {
    if (!status.available) {
      skipped.push({ kind: status.kind, reason: `unavailable: ${status.reason}` })
      continue
    }
    const supported = status.backend.supports(target)
    if (supported === true) usable.push(status)
    else skipped.push({ kind: status.kind, reason: `does not support ${describeTarget(target)}: ${supported}` })
  }
  if (request !== 'auto' && request !== 'all') {
    const named = usable.find((s) => s.kind === request)
    if (named) return { chosen: [named], skipped: [] }
    const why = skipped.find((s) => s.kind === request)
    throw new NoBackendError(
      `backend '${request}' cannot run ${describeTarget(target)}: ${why ? why.reason : 'it was not considered for this target'}`,
      why ? [why] : [{ kind: request, reason: 'not considered for this target' }],
    )
  }
  if (usable.length === 0) {
    throw new NoBackendError(
      `no backend can run ${describeTarget(target)}${skipped.length ? ` (${listReasons(skipped)})` : ''}`,
      skipped,
    )
  }
  const ranked = [...usable].sort((a, b) => autoRank(a) - autoRank(b))
  if (request === 'all') return { chosen: ranked, skipped }
  const [best, ...rest] = ranked as [AvailableBackend, ...AvailableBackend[]]
  return {
    chosen: [best],
    skipped: [
      ...rest.map((s) => ({ kind: s.kind, reason: `available, but 'auto' preferred ${best.kind}` })),
      ...skipped,
    ],
  }
}
