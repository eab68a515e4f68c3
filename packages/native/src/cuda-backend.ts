/**
 * The CUDA backend: kernels compiled with nvcc into the addon (only where nvcc was found at
 * install), linked to the static CUDA runtime so the addon loads on machines without a driver;
 * there the backend is unavailable with the runtime's own reason. GEMM runs on cuBLAS when its
 * library loads at run time, else on the own kernels (WMMA tensor cores for f16); which one ran is
 * in the description (`details.gemm`) and the runnable's notes. Durations come from CUDA events.
 * A fallback from cuBLAS to the own kernels under `gemm: 'auto'` is a process warning (once, when a
 * GEMM workload is prepared) as well as a note. Energy per run comes from NVML where present, summed over the measurement (runnable notes
 * and `energyJoulesPerRun`). Peak rates: cuda-peaks.ts. Training targets (core's trainTarget with
 * backend 'cuda') run the step of src/cuda/train.cu: CUDA events per phase, device memory after
 * each step, NVML energy per step.
 */
import {
  type Backend,
  BackendError,
  type DeviceDescription,
  deviceId,
  type Probe,
  type Runnable,
  type Target,
} from '@gpubench/core'
import type { NativeCudaOptions, NativeCudaProbe } from './addon-types.ts'
import { cudaPeaks } from './cuda-peaks.ts'
import { type AddonLoad, loadAddon } from './load.ts'
import { messageOf } from './native-runnable.ts'
import { gpuTrainRefusal, prepareTrainingTarget, trainingSupport } from './native-train.ts'
import { ContainedBackend, type IsolationOptions } from './process/contained.ts'
import { nativeSupports, ProbedOnce, prepareNative } from './targets.ts'

export interface CudaBackendOptions extends NativeCudaOptions, IsolationOptions {}

/** Why CUDA is missing from a loaded addon: the build's recorded reason ("not built: nvcc not found ..."), or a generic one. */
function notBuiltReason(load: Extract<AddonLoad, { ok: true }>): string {
  return `CUDA ${load.buildInfo?.cuda.reason || 'not built into the addon'}`
}

/** "13.0" from the CUDA API's 13000. */
function cudaVersionText(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`
}

/**
 * The description of an available device, for core and for baselines. `driver` is the driver's
 * release ("580.65.06"); the CUDA API version the driver supports is `details.driverApiVersion`.
 */
export function cudaDeviceDescription(
  p: Extract<NativeCudaProbe, { available: true }>,
  gemm: string,
): DeviceDescription {
  const peaks = cudaPeaks(p)
  const flopPerSecond: Record<string, number> = {}
  if (peaks.f32FlopPerSecond) flopPerSecond.f32 = peaks.f32FlopPerSecond
  if (peaks.f16FlopPerSecond) flopPerSecond.f16 = peaks.f16FlopPerSecond
  const hasFlops = Object.keys(flopPerSecond).length > 0
  return {
    id: deviceId(['cuda', p.name]),
    backend: 'cuda',
    name: p.name,
    vendor: 'NVIDIA',
    architecture: `sm_${p.computeCapability.replace('.', '')}`,
    driver: p.driverRelease || `unknown release (CUDA ${cudaVersionText(p.driverApiVersion)} driver API)`,
    ...(hasFlops || peaks.bytesPerSecond
      ? {
          peak: {
            ...(hasFlops ? { flopPerSecond } : {}),
            ...(peaks.bytesPerSecond ? { bytesPerSecond: peaks.bytesPerSecond } : {}),
          },
        }
      : {}),
    details: {
      computeCapability: p.computeCapability,
      smCount: p.smCount,
      memoryBytes: p.memoryBytes,
      l2CacheBytes: p.l2CacheBytes,
      clockKHz: p.clockKHz,
      memoryClockKHz: p.memoryClockKHz,
      memoryBusWidthBits: p.memoryBusWidthBits,
      driverApiVersion: p.driverApiVersion,
      runtimeVersion: p.runtimeVersion,
      peakF16Source: peaks.f16Source,
      ...(peaks.f16ClockKHz ? { peakF16ClockKHz: peaks.f16ClockKHz } : {}),
      gemm,
      cublas: p.cublas,
      nvml: p.nvml,
    },
  }
}

/** Said once per process: a fallback that changes what a baseline measures must not pass unnoticed. */
const warned = new Set<string>()
function warnOnce(message: string): void {
  if (warned.has(message)) return
  warned.add(message)
  process.emitWarning(message, { code: 'GPUBENCH_CUDA_GEMM_FALLBACK' })
}

class CudaBackend extends ProbedOnce implements Backend {
  readonly kind = 'cuda' as const
  private readonly options: NativeCudaOptions

  constructor(options: NativeCudaOptions) {
    super()
    this.options = options
  }

  protected async detect(): Promise<Probe> {
    const load = await loadAddon()
    if (!load.ok) return { available: false, reason: load.reason }
    if (!load.addon.build.cuda || !load.addon.cudaProbe) return { available: false, reason: notBuiltReason(load) }
    try {
      const p = load.addon.cudaProbe()
      if (!p.available) return { available: false, reason: p.reason }
      const wantsCublas = this.options.gemm ?? 'auto'
      const cublasLoaded = !p.cublas.startsWith('not loaded')
      if (wantsCublas === 'cublas' && !cublasLoaded)
        return { available: false, reason: `gemm: 'cublas' asked for, but cuBLAS is ${p.cublas}` }
      const gemm = wantsCublas !== 'own' && cublasLoaded ? 'cublas' : 'own'
      return { available: true, device: cudaDeviceDescription(p, gemm) }
    } catch (error) {
      return { available: false, reason: `the CUDA part of the addon failed: ${messageOf(error)}` }
    }
  }

  /** The device's memory from the probe, once probed (before it, the addon checks what is free when allocating). */
  private memoryBytes: number | undefined

  noteProbe(device: DeviceDescription): void {
    this.memoryBytes = Number(device.details.memoryBytes) || undefined
  }

  supports(target: Target): true | string {
    return (
      trainingSupport('cuda', target, (w) => gpuTrainRefusal(w, this.memoryBytes)) ?? nativeSupports('cuda', target)
    )
  }

  async prepare(target: Target): Promise<Runnable> {
    const probe = await this.probe()
    if (probe.available) this.noteProbe(probe.device)
    const training = await prepareTrainingTarget(
      'cuda',
      probe,
      target,
      (w) => gpuTrainRefusal(w, this.memoryBytes),
      'cuda-events',
      this.options,
    )
    if (training) return training
    const runnable = await prepareNative('cuda', probe, target, 'cuda-events', this.options)
    const fallback = runnable.notes.find((note) => note.startsWith('gemm: FALLBACK'))
    if (fallback) warnOnce(`gpubench cuda: ${fallback}`)
    return runnable
  }
}

const GEMM_CHOICES = ['auto', 'cublas', 'own'] as const
/** kMaxRunsPerSample in common/timing_plan.h. */
const MAX_RUNS_PER_SAMPLE = 1000

export function createCudaBackend(options: CudaBackendOptions = {}): Backend {
  if (options.gemm !== undefined && !(GEMM_CHOICES as readonly string[]).includes(options.gemm)) {
    throw new BackendError(
      `cuda option 'gemm' must be one of ${GEMM_CHOICES.join(', ')}, got ${JSON.stringify(options.gemm)}`,
      'cuda',
    )
  }
  const runs = options.runsPerSample
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1 && runs <= MAX_RUNS_PER_SAMPLE)) {
    throw new BackendError(
      `cuda option 'runsPerSample' must be an integer from 1 to ${MAX_RUNS_PER_SAMPLE}, got ${JSON.stringify(runs)}`,
      'cuda',
    )
  }
  const { isolation, timeoutMs, ...cuda } = options
  const inProcess = new CudaBackend(cuda)
  if (isolation === 'none') return inProcess
  // In a device process by default: a kernel or driver call that never returns is ended there (process/contained.ts).
  return new ContainedBackend(inProcess, { backend: 'cuda', options: { ...cuda } }, { isolation, timeoutMs })
}

export const cudaBackend: Backend = createCudaBackend()
