/**
 * The Metal backend (macOS only): MPS matrix multiplication for GEMM, small MSL kernels for the
 * rest, durations from command buffers' GPUStartTime/GPUEndTime, timed as the CUDA backend is
 * (time-based warm-up, several runs per command buffer for short runs; launch latency from
 * dispatches in one command buffer, the per-command-buffer figure apart in the notes). How MPS
 * accumulates f16 is checked once per process and said in the notes. UNTESTED here (no macOS
 * machine in reach): built and exercised by .github/workflows/macos-native.yml. Everywhere else it
 * is unavailable with the build's reason. Training targets (core's trainTarget with backend
 * 'metal') run the step of src/metal/train.mm: command-buffer times per phase, Metal's allocated
 * size after each step; no energy (macOS has no unprivileged counter).
 */
import { type Backend, type DeviceDescription, deviceId, type Probe, type Runnable, type Target } from '@gpubench/core'
import { loadAddon } from './load.ts'
import { messageOf } from './native-runnable.ts'
import { gpuTrainRefusal, prepareTrainingTarget, trainingSupport } from './native-train.ts'
import { ContainedBackend, type IsolationOptions } from './process/contained.ts'
import { nativeSupports, ProbedOnce, prepareNative } from './targets.ts'

class MetalBackend extends ProbedOnce implements Backend {
  readonly kind = 'metal' as const

  protected async detect(): Promise<Probe> {
    const load = await loadAddon()
    if (!load.ok) return { available: false, reason: load.reason }
    if (!load.addon.build.metal || !load.addon.metalProbe) {
      const why = load.buildInfo?.metal.reason
      return { available: false, reason: `Metal ${why ?? 'not built into the addon'}` }
    }
    try {
      const p = load.addon.metalProbe()
      if (!p.available) return { available: false, reason: p.reason }
      return {
        available: true,
        device: {
          id: deviceId(['metal', p.name]),
          backend: 'metal',
          name: p.name,
          vendor: 'Apple',
          details: { memoryBytes: p.memoryBytes, unifiedMemory: p.unifiedMemory, gemm: 'mps' },
        },
      }
    } catch (error) {
      return { available: false, reason: `the Metal part of the addon failed: ${messageOf(error)}` }
    }
  }

  /** Unified memory: the device's share (the probe's recommended working set), once probed. */
  private memoryBytes: number | undefined

  noteProbe(device: DeviceDescription): void {
    this.memoryBytes = Number(device.details.memoryBytes) || undefined
  }

  supports(target: Target): true | string {
    return (
      trainingSupport('metal', target, (w) => gpuTrainRefusal(w, this.memoryBytes)) ?? nativeSupports('metal', target)
    )
  }

  async prepare(target: Target): Promise<Runnable> {
    const probe = await this.probe()
    if (probe.available) this.noteProbe(probe.device)
    const training = await prepareTrainingTarget(
      'metal',
      probe,
      target,
      (w) => gpuTrainRefusal(w, this.memoryBytes),
      'metal-command-buffer',
    )
    if (training) return training
    return prepareNative('metal', probe, target, 'metal-command-buffer')
  }
}

/** The Metal backend; its kernels run in a device process unless `isolation` is 'none' (process/contained.ts). */
export function createMetalBackend(options: IsolationOptions = {}): Backend {
  const { isolation, timeoutMs } = options
  const inProcess = new MetalBackend()
  if (isolation === 'none') return inProcess
  return new ContainedBackend(inProcess, { backend: 'metal', options: {} }, { isolation, timeoutMs })
}

export const metalBackend: Backend = createMetalBackend()
