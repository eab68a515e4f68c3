/**
 * The CUDA backend: kernels compiled with nvcc into the addon (only where nvcc was found at
 * install), linked to the static CUDA runtime so the addon loads on machines without a driver;
 * there the backend is unavailable with the runtime's own reason. GEMM runs on cuBLAS when its
 * library loads at run time, else on the own kernels (WMMA tensor cores for f16); which one ran is
 * in the description (`details.gemm`) and the runnable's notes. Durations come from CUDA events.
 * Energy per run comes from NVML where present (runnable notes and `energyJoulesPerRun`).
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
import { type AddonLoad, loadAddon } from './load.ts'
import { messageOf } from './native-runnable.ts'
import { nativeSupports, prepareNative } from './targets.ts'

export interface CudaBackendOptions extends NativeCudaOptions {}

/** Why CUDA is missing from a loaded addon: the build's recorded reason ("not built: nvcc not found ..."), or a generic one. */
function notBuiltReason(load: Extract<AddonLoad, { ok: true }>): string {
  return `CUDA ${load.buildInfo?.cuda.reason || 'not built into the addon'}`
}

/** The description of an available device, for core and for baselines. */
export function cudaDeviceDescription(
  p: Extract<NativeCudaProbe, { available: true }>,
  gemm: string,
): DeviceDescription {
  const flopPerSecond: Record<string, number> = {}
  if (p.peakF32FlopPerSecond) flopPerSecond.f32 = p.peakF32FlopPerSecond
  if (p.peakF16FlopPerSecond) flopPerSecond.f16 = p.peakF16FlopPerSecond
  const hasPeak = Object.keys(flopPerSecond).length > 0 || p.peakBytesPerSecond
  return {
    id: deviceId(['cuda', p.name]),
    backend: 'cuda',
    name: p.name,
    vendor: 'NVIDIA',
    architecture: `sm_${p.computeCapability.replace('.', '')}`,
    driver: String(p.driverVersion),
    ...(hasPeak
      ? {
          peak: {
            ...(Object.keys(flopPerSecond).length ? { flopPerSecond } : {}),
            ...(p.peakBytesPerSecond ? { bytesPerSecond: p.peakBytesPerSecond } : {}),
          },
        }
      : {}),
    details: {
      computeCapability: p.computeCapability,
      smCount: p.smCount,
      memoryBytes: p.memoryBytes,
      clockKHz: p.clockKHz,
      memoryClockKHz: p.memoryClockKHz,
      memoryBusWidthBits: p.memoryBusWidthBits,
      runtimeVersion: p.runtimeVersion,
      gemm,
      cublas: p.cublas,
      nvml: p.nvml,
    },
  }
}

class CudaBackend implements Backend {
  readonly kind = 'cuda' as const
  private readonly options: NativeCudaOptions
  private probed: Promise<Probe> | undefined

  constructor(options: NativeCudaOptions) {
    this.options = options
  }

  probe(): Promise<Probe> {
    this.probed ??= this.doProbe()
    return this.probed
  }

  private async doProbe(): Promise<Probe> {
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

  supports(target: Target): true | string {
    return nativeSupports('cuda', target)
  }

  async prepare(target: Target): Promise<Runnable> {
    return prepareNative('cuda', await this.probe(), target, 'cuda-events', this.options)
  }
}

const GEMM_CHOICES = ['auto', 'cublas', 'own'] as const

export function createCudaBackend(options: CudaBackendOptions = {}): Backend {
  if (options.gemm !== undefined && !(GEMM_CHOICES as readonly string[]).includes(options.gemm)) {
    throw new BackendError(
      `cuda option 'gemm' must be one of ${GEMM_CHOICES.join(', ')}, got ${JSON.stringify(options.gemm)}`,
      'cuda',
    )
  }
  return new CudaBackend(options)
}

export const cudaBackend: Backend = createCudaBackend()
