/**
 * The CPU backend: the addon's multithreaded kernels (AVX2/FMA/F16C, NEON or portable, picked at
 * run time) with f32 GEMM on the system BLAS where present, timed with a steady clock.
 *
 * Which GEMM runs is chosen by `blas` ('auto' | 'system' | 'own'), defaulting to the environment
 * variable GPUBENCH_CPU_BLAS, then 'auto'; it is part of the device description (`details.gemm`),
 * so two backends built with different choices can be compared in one process.
 */
import {
  availableMemoryBytes,
  type Backend,
  BackendError,
  cpuDeviceDescription,
  type DeviceDescription,
  hostInfo,
  isWorkload,
  memoryEstimateOf,
  memoryRefusal,
  type Probe,
  type Runnable,
  type Target,
  type TrainWorkload,
  trainMemoryRefusal,
  trainReferenceRefusal,
  type Workload,
  workloadFrom,
} from '@gpubench/core'
import type { NativeCpuOptions } from './addon-types.ts'
import { loadAddon } from './load.ts'
import { messageOf, workloadError } from './native-runnable.ts'
import { prepareTrainingTarget, trainingSupport } from './native-train.ts'
import { ContainedBackend, type IsolationOptions } from './process/contained.ts'
import { nativeSupports, ProbedOnce, prepareNative } from './targets.ts'

export interface CpuBackendOptions extends NativeCpuOptions, IsolationOptions {}

const BLAS_CHOICES = ['auto', 'system', 'own'] as const

/** Options with the environment's defaults applied; a bad value is refused with the option's name. */
export function resolveCpuOptions(options: CpuBackendOptions = {}): NativeCpuOptions {
  const fromEnv = process.env.GPUBENCH_CPU_BLAS
  const blas = options.blas ?? (fromEnv === undefined || fromEnv === '' ? 'auto' : fromEnv)
  if (!(BLAS_CHOICES as readonly string[]).includes(blas)) {
    const source = options.blas === undefined ? 'GPUBENCH_CPU_BLAS' : "cpu option 'blas'"
    throw new BackendError(`${source} must be one of ${BLAS_CHOICES.join(', ')}, got ${JSON.stringify(blas)}`, 'cpu')
  }
  const isa = options.isa ?? 'auto'
  if (isa !== 'auto' && isa !== 'portable') {
    throw new BackendError(`cpu option 'isa' must be 'auto' or 'portable', got ${JSON.stringify(isa)}`, 'cpu')
  }
  const limit = options.memoryLimitBytes
  if (limit !== undefined && !(Number.isFinite(limit) && limit > 0)) {
    throw new BackendError(`cpu option 'memoryLimitBytes' must be a positive number, got ${limit}`, 'cpu')
  }
  return { blas: blas as NativeCpuOptions['blas'], isa, ...(limit === undefined ? {} : { memoryLimitBytes: limit }) }
}

class CpuBackend extends ProbedOnce implements Backend {
  readonly kind = 'cpu' as const
  private readonly requested: NativeCpuOptions
  private readonly availableMemory: () => number

  constructor(options: NativeCpuOptions, sources: CpuBackendSources) {
    super()
    this.requested = options
    this.availableMemory = sources.availableMemoryBytes ?? (() => availableMemoryBytes())
  }

  /** Resolved on use, so a bad GPUBENCH_CPU_BLAS makes the backend unavailable with the reason instead of failing imports. */
  private get options(): NativeCpuOptions {
    return resolveCpuOptions(this.requested)
  }

  protected async detect(): Promise<Probe> {
    const load = await loadAddon()
    if (!load.ok) return { available: false, reason: load.reason }
    let options: NativeCpuOptions
    try {
      options = this.options
    } catch (error) {
      return { available: false, reason: messageOf(error) }
    }
    try {
      const cpu = load.addon.cpuDescribe(options)
      const base = cpuDeviceDescription(await hostInfo(), 'cpu')
      const device: DeviceDescription = {
        ...base,
        details: {
          ...base.details,
          isa: cpu.isa,
          threads: cpu.threads,
          features: cpu.features.join(' '),
          gemm: cpu.gemm,
          gemmF16: `own-${cpu.isa}`,
          gemv: `own-${cpu.isa}`,
          systemBlas: cpu.systemBlas,
        },
      }
      return { available: true, device }
    } catch (error) {
      return { available: false, reason: `the CPU part of the addon failed: ${messageOf(error)}` }
    }
  }

  supports(target: Target): true | string {
    return trainingSupport('cpu', target, (w) => this.trainingRefusal(w)) ?? nativeSupports('cpu', target)
  }

  /**
   * Why the CPU will not train this workload, or null: memory (verification's float64 copies
   * included, as they share the RAM), or the time verification's reference would take. Decided
   * before anything is allocated, so a suite can list the configuration as skipped with the reason.
   */
  private trainingRefusal(w: TrainWorkload): string | null {
    return trainMemoryRefusal(w, { verify: true, availableBytes: this.availableMemory() }) ?? trainReferenceRefusal(w)
  }

  async prepare(target: Target): Promise<Runnable> {
    const probe = await this.probe()
    const options = this.options
    const training = await prepareTrainingTarget(
      'cpu',
      probe,
      target,
      (w) => this.trainingRefusal(w),
      'steady-clock',
      options,
    )
    if (training) return training
    if (probe.available && options.memoryLimitBytes === undefined) {
      checkMemory(target, probe.device.id, this.availableMemory())
    }
    return prepareNative('cpu', probe, target, 'steady-clock', options)
  }
}

/**
 * Refuses, before anything is allocated, a workload whose buffers and verification's together
 * (core's memoryEstimateOf) exceed the safe share of the memory available: on the CPU both live
 * in the same RAM, and past it the OOM killer ends the test process without a word. Verification
 * is counted even when a benchmark turns it off, since prepare cannot know; with an explicit
 * memoryLimitBytes the addon checks the buffers against that limit instead. A target that is not
 * a valid workload is left to prepareNative, which names its fault.
 */
function checkMemory(target: Target, deviceId: string, availableBytes: number): void {
  if (!isWorkload(target)) return
  let workload: Workload
  try {
    workload = workloadFrom(target)
  } catch {
    return
  }
  const refusal = memoryRefusal(memoryEstimateOf(workload), { verify: true, availableBytes })
  if (refusal !== null) throw workloadError(workload, 'cpu', deviceId, refusal)
}

/** What the CPU backend reads from the machine besides the addon; tests substitute their own. */
export interface CpuBackendSources {
  /** Memory available now, in bytes; core's availableMemoryBytes by default. */
  availableMemoryBytes?: () => number
}

/**
 * A CPU backend with its own options (e.g. `{ blas: 'own' }` beside `{ blas: 'system' }` to
 * compare). Its kernels run in a device process unless `isolation` is 'none' (see
 * process/contained.ts); `sources` are read in this process, so a backend given them runs here.
 */
export function createCpuBackend(options: CpuBackendOptions = {}, sources: CpuBackendSources = {}): Backend {
  resolveCpuOptions({ ...options, blas: options.blas ?? 'auto' }) // refuses bad options now, naming them; the environment is read on use
  const { isolation, timeoutMs, ...cpu } = options
  const inProcess = new CpuBackend(cpu, sources)
  if (isolation === 'none' || sources.availableMemoryBytes !== undefined) return inProcess
  return new ContainedBackend(inProcess, { backend: 'cpu', options: { ...cpu } }, { isolation, timeoutMs })
}

/** The CPU backend with default options (GPUBENCH_CPU_BLAS, else system BLAS where present). */
export const cpuBackend: Backend = createCpuBackend()
