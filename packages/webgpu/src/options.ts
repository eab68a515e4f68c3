/**
 * Options of the WebGPU backend: which Dawn backend and adapter to use, how long any wait on the
 * device may last, and whether to use timestamp queries. Each option can also come from the
 * environment, so CI can pick an adapter without code changes; an explicit option wins over the
 * environment. Bad values are refused with the option or variable named.
 */
import { BackendError } from '@gpubench/core'
import { GEMM_KERNELS, type GemmKernel } from './kernels/gemm.ts'

/** Dawn's backends, as dawn.node's `backend=` flag names them. */
export const DAWN_BACKENDS = ['vulkan', 'metal', 'd3d12', 'd3d11', 'opengl', 'opengles', 'null', 'webgpu'] as const
export type DawnBackend = (typeof DAWN_BACKENDS)[number]

export const ENV_BACKEND = 'GPUBENCH_WEBGPU_BACKEND'
export const ENV_ADAPTER = 'GPUBENCH_WEBGPU_ADAPTER'
export const ENV_TIMEOUT_MS = 'GPUBENCH_WEBGPU_TIMEOUT_MS'
export const ENV_ISOLATION = 'GPUBENCH_WEBGPU_ISOLATION'

/**
 * Where device work runs: 'process' (default) in a child process that is killed and restarted
 * when a kernel outlasts the timeout (see process/client.ts); 'none' in the calling process,
 * where Dawn cannot abandon a hung queue, so an endless kernel hangs the caller.
 */
export const ISOLATIONS = ['process', 'none'] as const
export type Isolation = (typeof ISOLATIONS)[number]

export interface WebgpuOptions {
  /** Dawn backend; default: $GPUBENCH_WEBGPU_BACKEND, else the platform's native one (vulkan, metal, d3d12). */
  backend?: DawnBackend
  /** Adapter name as Dawn lists it (e.g. 'llvmpipe (LLVM 15.0.6, 256 bits)'); default: $GPUBENCH_WEBGPU_ADAPTER, else Dawn's choice. */
  adapter?: string
  powerPreference?: 'high-performance' | 'low-power'
  /** Upper bound of every wait on the device (adapter, device, mapping, completion); default 60 s. */
  timeoutMs?: number
  /** 'process' (default): device work in a child process, killed when a wait outlasts `timeoutMs`; 'none': in this process. */
  isolation?: Isolation
  /** Use timestamp queries when the adapter offers them (default true); false forces 'host-submit-wait'. */
  timestamps?: boolean
  /** Extra flags handed to dawn.node's `create()`, e.g. 'enable-dawn-features=dump_shaders'. */
  dawnFlags?: readonly string[]
  /** GEMM kernel (see kernels/gemm.ts); 'auto' (default): 'registers' on software adapters, 'tiled' on GPUs. */
  gemmKernel?: 'auto' | GemmKernel
}

export interface ResolvedOptions {
  readonly backend: DawnBackend
  readonly adapter: string | undefined
  readonly powerPreference: 'high-performance' | 'low-power'
  readonly timeoutMs: number
  readonly isolation: Isolation
  readonly timestamps: boolean
  readonly dawnFlags: readonly string[]
  readonly gemmKernel: 'auto' | GemmKernel
}

export const DEFAULT_TIMEOUT_MS = 60_000
/** Node's timers hold at most 2^31 - 1 ms; a longer delay fires after 1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

function nativeBackend(platform: NodeJS.Platform): DawnBackend {
  if (platform === 'darwin') return 'metal'
  if (platform === 'win32') return 'd3d12'
  return 'vulkan'
}

function fail(message: string): never {
  throw new BackendError(`webgpu options: ${message}`, 'webgpu')
}

function backendFrom(value: unknown, source: string): DawnBackend {
  if (typeof value === 'string' && (DAWN_BACKENDS as readonly string[]).includes(value)) return value as DawnBackend
  return fail(`${source} must be one of ${DAWN_BACKENDS.join(', ')}, got ${JSON.stringify(value)}`)
}

function timeoutFrom(value: unknown, source: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_TIMEOUT_MS) {
    return fail(
      `${source} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS} (Node's timer range), got ${JSON.stringify(value)}`,
    )
  }
  return n
}

function isolationFrom(value: unknown, source: string): Isolation {
  if (typeof value === 'string' && (ISOLATIONS as readonly string[]).includes(value)) return value as Isolation
  return fail(`${source} must be one of ${ISOLATIONS.join(', ')}, got ${JSON.stringify(value)}`)
}

/** The isolation asked for, without validating it (a bad value is refused by resolveOptions, at probe time). */
export function requestedIsolation(
  options: WebgpuOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return options.isolation ?? (env[ENV_ISOLATION] || 'process')
}

/** Merges options with the environment and the platform's defaults; throws a BackendError naming the bad field. */
export function resolveOptions(
  options: WebgpuOptions = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): ResolvedOptions {
  const envBackend = env[ENV_BACKEND]
  const backend =
    options.backend !== undefined
      ? backendFrom(options.backend, "option 'backend'")
      : envBackend
        ? backendFrom(envBackend, `$${ENV_BACKEND}`)
        : nativeBackend(platform)
  const adapter = options.adapter ?? (env[ENV_ADAPTER] || undefined)
  if (adapter !== undefined && (typeof adapter !== 'string' || adapter.trim() === '')) {
    fail(`option 'adapter' must be a non-empty adapter name, got ${JSON.stringify(adapter)}`)
  }
  const envTimeout = env[ENV_TIMEOUT_MS]
  const timeoutMs =
    options.timeoutMs !== undefined
      ? timeoutFrom(options.timeoutMs, "option 'timeoutMs'")
      : envTimeout
        ? timeoutFrom(envTimeout, `$${ENV_TIMEOUT_MS}`)
        : DEFAULT_TIMEOUT_MS
  const envIsolation = env[ENV_ISOLATION]
  const isolation =
    options.isolation !== undefined
      ? isolationFrom(options.isolation, "option 'isolation'")
      : envIsolation
        ? isolationFrom(envIsolation, `$${ENV_ISOLATION}`)
        : 'process'
  const powerPreference = options.powerPreference ?? 'high-performance'
  if (powerPreference !== 'high-performance' && powerPreference !== 'low-power') {
    fail(`option 'powerPreference' must be 'high-performance' or 'low-power', got ${JSON.stringify(powerPreference)}`)
  }
  if (options.timestamps !== undefined && typeof options.timestamps !== 'boolean') {
    fail(`option 'timestamps' must be a boolean, got ${JSON.stringify(options.timestamps)}`)
  }
  const dawnFlags = options.dawnFlags ?? []
  if (!Array.isArray(dawnFlags) || dawnFlags.some((f) => typeof f !== 'string')) {
    fail(`option 'dawnFlags' must be an array of strings`)
  }
  const gemmKernel = options.gemmKernel ?? 'auto'
  if (gemmKernel !== 'auto' && !(GEMM_KERNELS as readonly string[]).includes(gemmKernel)) {
    fail(`option 'gemmKernel' must be one of auto, ${GEMM_KERNELS.join(', ')}, got ${JSON.stringify(gemmKernel)}`)
  }
  return {
    backend,
    adapter,
    powerPreference,
    timeoutMs,
    isolation,
    timestamps: options.timestamps ?? true,
    dawnFlags,
    gemmKernel,
  }
}

/**
 * The flags for dawn.node's `create()`. Timestamp quantization (Dawn rounds timestamps to about
 * 65 µs by default, a browser's defence against timing attacks) is disabled: a benchmark needs
 * the device's own resolution. `disable_timestamp_query_conversion` is deliberately not used:
 * it would hand back raw ticks instead of nanoseconds.
 */
export function dawnFlagsOf(options: ResolvedOptions): string[] {
  const flags = [`backend=${options.backend}`, 'disable-dawn-features=timestamp_quantization']
  if (options.adapter !== undefined) flags.push(`adapter=${options.adapter}`)
  return [...flags, ...options.dawnFlags]
}
