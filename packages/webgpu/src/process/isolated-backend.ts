/**
 * The WebGPU backend with its device work in a device process (isolation 'process', the
 * default): the same probe, support answers, kernels and timing as in-process-backend.ts, run in
 * a child process that is killed when a kernel outlasts the timeout (see client.ts) and started
 * afresh for the next benchmark. The probe's device description is kept across restarts.
 *
 * A user kernel's plan is made here, where its `init` functions live, and its check() runs here
 * on the buffers read back; a core workload is planned and verified in the process.
 */
import {
  BackendError,
  type DeviceProcessInfo,
  DeviceProcessSlot,
  describeWorkload,
  isWorkload,
  type Probe,
  type Target,
  type TrainTarget,
} from '@gpubench/core'
import type { WebgpuBackend } from '../in-process-backend.ts'
import { type ResolvedOptions, resolveOptions, type WebgpuOptions } from '../options.ts'
import { messageOf } from '../session.ts'
import { ProbeOnce } from '../support.ts'
import { trainingOf } from '../train/support.ts'
import { isWebgpuKernel, kernelVerifier, planOfKernel } from '../user-kernel.ts'
import { startDeviceProcess } from './client.ts'
import type { PrepareJob, StartOptions } from './protocol.ts'
import { RemoteRunnable } from './remote-runnable.ts'

export interface IsolatedWebgpuBackend extends WebgpuBackend {
  /** The current device process; undefined before the first probe and after shutdown. */
  deviceProcess(): DeviceProcessInfo | undefined
}

function startOptionsOf(settings: ResolvedOptions): StartOptions {
  const { isolation: _, ...rest } = settings
  return rest
}

export function createIsolatedBackend(options: WebgpuOptions = {}): IsolatedWebgpuBackend {
  let settings: ResolvedOptions | undefined
  // The slot's processes start with the options resolved at the first probe.
  const slot = new DeviceProcessSlot(() => {
    const resolved = settings ?? resolveOptions(options)
    return startDeviceProcess(startOptionsOf(resolved), resolved.timeoutMs)
  })

  const probed = new ProbeOnce(async (): Promise<Probe> => {
    try {
      settings = resolveOptions(options)
      return (await slot.get().request({ op: 'probe' }, 'probe()')).value
    } catch (error) {
      return { available: false, reason: messageOf(error) }
    }
  })

  async function prepare(target: Target): Promise<RemoteRunnable> {
    const device = await probed.deviceFor(target)
    let job: PrepareJob
    let label: string
    if (isWebgpuKernel(target)) {
      job = { kind: 'kernel', name: target.name, plan: planOfKernel(target.spec) }
      label = target.name
    } else if (trainingOf(target)) {
      job = { kind: 'train', target: target as TrainTarget }
      label = (target as TrainTarget).name
    } else if (isWorkload(target)) {
      job = { kind: 'workload', workload: target }
      label = describeWorkload(target)
    } else {
      throw new BackendError(`webgpu ${device.id}: cannot run '${target.name}'`, 'webgpu', device.id)
    }
    const process = slot.get()
    const { value } = await process.request({ op: 'prepare', job }, `${label}: prepare()`)
    const verifier = isWebgpuKernel(target) ? kernelVerifier(target.spec) : undefined
    return new RemoteRunnable(
      process,
      value.handle,
      { target, device, timing: value.timing, notes: value.notes },
      label,
      verifier,
    )
  }

  return {
    kind: 'webgpu',
    probe: () => probed.probe(),
    supports: (target) => probed.supports(target),
    prepare,
    deviceProcess: () => slot.info(),
    async shutdown() {
      // A later prepare starts a fresh process; the cached description stays valid.
      slot.shutdown('the WebGPU backend was shut down')
    },
  }
}
