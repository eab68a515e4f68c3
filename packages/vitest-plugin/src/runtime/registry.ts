/**
 * The backend registry of a worker: resolves a backend by name, loads the package that provides
 * it, probes it once, and remembers the answer. Core's host backend is always there; the others
 * come from optional packages loaded with a dynamic import, so a project that does not install
 * them (or a machine whose addon does not load) still runs, and every failure on the way becomes
 * "unavailable: <reason>", never a stub.
 *
 * Gating lives here and only here: a backend is disabled by the plugin's `backends` option, or
 * unavailable because its package cannot be imported, does not export it, or its probe says so.
 */
import { type Backend, type BackendKind, type DeviceDescription, hostBackend } from '@gpubench/core'

/** Where each optional backend comes from: the package and the export that holds it. */
export const BACKEND_SOURCES: Readonly<
  Record<Exclude<BackendKind, 'host'>, { specifier: string; exportName: string }>
> = {
  cpu: { specifier: '@gpubench/native', exportName: 'cpuBackend' },
  cuda: { specifier: '@gpubench/native', exportName: 'cudaBackend' },
  metal: { specifier: '@gpubench/native', exportName: 'metalBackend' },
  webgpu: { specifier: '@gpubench/webgpu', exportName: 'webgpuBackend' },
}

export type BackendStatus =
  | {
      readonly kind: BackendKind
      readonly available: true
      readonly backend: Backend
      readonly device: DeviceDescription
    }
  | { readonly kind: BackendKind; readonly available: false; readonly reason: string }

export type AvailableBackend = Extract<BackendStatus, { available: true }>

/** Imports a module by specifier; tests substitute their own. */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>

// A variable specifier keeps Vite from resolving the optional packages when it transforms this
// file: a missing package must surface at run time, as a reason, not as a transform error.
const importModule: ModuleImporter = (specifier) => import(/* @vite-ignore */ specifier)

function isBackend(value: unknown, kind: BackendKind): value is Backend {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Partial<Backend>
  return (
    candidate.kind === kind &&
    typeof candidate.probe === 'function' &&
    typeof candidate.supports === 'function' &&
    typeof candidate.prepare === 'function'
  )
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n', 1)[0] ?? text
}

export class BackendRegistry {
  readonly #enabled: ReadonlySet<BackendKind>
  readonly #importer: ModuleImporter
  readonly #host: Backend
  readonly #statuses = new Map<BackendKind, Promise<BackendStatus>>()

  constructor(enabled: readonly BackendKind[], options: { importer?: ModuleImporter; host?: Backend } = {}) {
    this.#enabled = new Set(enabled)
    this.#importer = options.importer ?? importModule
    this.#host = options.host ?? hostBackend
  }

  /** Loads and probes a backend once; later calls get the same answer. Never throws. */
  status(kind: BackendKind): Promise<BackendStatus> {
    let status = this.#statuses.get(kind)
    if (!status) {
      status = this.#resolve(kind)
      this.#statuses.set(kind, status)
    }
    return status
  }

  async #load(kind: BackendKind): Promise<Backend | string> {
    if (kind === 'host') return this.#host
    const source = BACKEND_SOURCES[kind]
    let module: Record<string, unknown>
    try {
      module = await this.#importer(source.specifier)
    } catch (error) {
      return `package ${source.specifier} could not be loaded: ${firstLine(error)}`
    }
    const backend = module[source.exportName]
    if (!isBackend(backend, kind)) {
      return `package ${source.specifier} does not export a ${kind} backend as '${source.exportName}'`
    }
    return backend
  }

  async #resolve(kind: BackendKind): Promise<BackendStatus> {
    if (!this.#enabled.has(kind)) {
      return { kind, available: false, reason: `disabled: not in the plugin's backends option` }
    }
    const loaded = await this.#load(kind)
    if (typeof loaded === 'string') return { kind, available: false, reason: loaded }
    try {
      const probe = await loaded.probe()
      if (!probe.available) return { kind, available: false, reason: probe.reason }
      return { kind, available: true, backend: loaded, device: probe.device }
    } catch (error) {
      return { kind, available: false, reason: `probe failed: ${firstLine(error)}` }
    }
  }
}
