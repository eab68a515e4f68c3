/**
 * The checks of one `bench.gpu()` call's arguments, before anything is measured: its name, its
 * target and its options, each refused with a message that names the mistake.
 */
import {
  DEFAULT_TOLERANCE,
  hostFunction,
  isWorkload,
  type StoppingRule,
  stoppingRule,
  type Target,
} from '@gpubench/core'
import {
  BACKEND_NAMES,
  type RuntimeConfig,
  shown,
  unknownKey,
  validateConfirmRegressions,
  validateStoppingRuleShape,
  validateTolerance,
} from '../options.ts'
import type { BenchGpuOptions } from './bench-gpu.ts'
import type { BackendRequest } from './choose-backend.ts'

export class GpuBenchError extends Error {
  override name = 'GpuBenchError'
}

const OPTION_KEYS: ReadonlyArray<keyof BenchGpuOptions> = [
  'backend',
  'stoppingRule',
  'tolerance',
  'required',
  'verify',
  'confirmRegressions',
]

export interface Settings {
  readonly request: BackendRequest
  readonly rule: StoppingRule
  readonly tolerance: number
  readonly required: boolean
  readonly verify: boolean
  readonly confirmRegressions: number
}

export function settingsFrom(name: string, options: unknown, config: RuntimeConfig): Settings {
  const field = (key: string) => `bench.gpu('${name}') option '${key}'`
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new GpuBenchError(`bench.gpu('${name}'): options must be an object`)
  }
  const o = options as Record<string, unknown>
  const unknown = unknownKey(o, OPTION_KEYS)
  if (unknown !== undefined)
    throw new GpuBenchError(`${field(unknown)} is unknown; known options: ${OPTION_KEYS.join(', ')}`)
  const request = o.backend ?? 'auto'
  if (request !== 'auto' && request !== 'all' && !(BACKEND_NAMES as readonly unknown[]).includes(request)) {
    throw new GpuBenchError(
      `${field('backend')} must be 'auto', 'all' or one of ${BACKEND_NAMES.join(', ')}, got ${shown(request)}`,
    )
  }
  for (const key of ['required', 'verify'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new GpuBenchError(`${field(key)} must be a boolean, got ${shown(o[key])}`)
    }
  }
  let rule: StoppingRule
  try {
    const own = o.stoppingRule === undefined ? {} : validateStoppingRuleShape('stoppingRule', o.stoppingRule)
    rule = stoppingRule({ ...config.stoppingRule, ...own })
  } catch (error) {
    throw new GpuBenchError(`${field('stoppingRule')}: ${(error as Error).message}`)
  }
  let tolerance: number
  try {
    tolerance =
      o.tolerance === undefined ? (config.tolerance ?? DEFAULT_TOLERANCE) : validateTolerance('tolerance', o.tolerance)
  } catch (error) {
    throw new GpuBenchError(`bench.gpu('${name}'): ${(error as Error).message}`)
  }
  let confirmRegressions: number
  try {
    confirmRegressions =
      o.confirmRegressions === undefined
        ? config.confirmRegressions
        : validateConfirmRegressions('confirmRegressions', o.confirmRegressions)
  } catch (error) {
    throw new GpuBenchError(`bench.gpu('${name}'): ${(error as Error).message}`)
  }
  return {
    request: request as BackendRequest,
    rule,
    tolerance,
    required: (o.required as boolean | undefined) ?? true,
    verify: (o.verify as boolean | undefined) ?? config.verify,
    confirmRegressions,
  }
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new GpuBenchError(`bench.gpu(): the name must be a non-empty string, got ${shown(name)}`)
  }
  if (/\p{Cc}/u.test(name))
    throw new GpuBenchError(`bench.gpu(${JSON.stringify(name)}): the name must not contain control characters`)
  return name
}

export function targetFrom(name: string, target: unknown): Target {
  if (typeof target === 'function') return hostFunction(name, target as () => unknown)
  if (typeof target === 'object' && target !== null) {
    const kind = (target as { kind?: unknown }).kind
    if (isWorkload(target) || kind === 'function' || kind === 'custom') return target as Target
  }
  throw new GpuBenchError(
    `bench.gpu('${name}'): the target must be a core workload (gemm(), gemv(), vjp(), launch()), a function, or a backend target; got ${typeof target === 'object' ? shown(target) : typeof target}`,
  )
}
