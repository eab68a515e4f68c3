/**
 * The WebGPU backend with its device work in a device process (isolation 'process', the
 * default): the same probe, support answers, kernels and timing as in-process-backend.ts, run in
 * a child process that is killed when a kernel outlasts the timeout (see client.ts) and started
 * afresh for the next benchmark. The probe's device description is kept across restarts.
 *
 * A user kernel's plan is made here, where its `init` functions live, and its check() runs here
 * on the buffers read back; a core workload is planned and verified in the process.
 */
import { BackendError, describeWorkload, isWorkload, type Probe, type Target, type TrainTarget } from '@gpubench/core'
import type { WebgpuBackend } from '../in-process-backend.ts'
import { type ResolvedOptions, resolveOptions, type WebgpuOptions } from '../options.ts'
import { messageOf } from '../session.ts'
import { ProbeOnce } from '../support.ts'
import { trainingOf } from '../train/support.ts'
import { isWebgpuKernel, kernelVerifier, planOfKernel } from '../user-kernel.ts'
import { DeviceProcess } from './client.ts'
import type { PrepareJob, StartOptions } from './protocol.ts'
import { RemoteRunnable } from './remote-runnable.ts'

/** What the current device process is, for tests and reports. */
export interface DeviceProcessInfo {
  readonly pid: number | undefined
  /** Processes started by this backend so far (1 + restarts). */
  readonly starts: number
  /** Milliseconds from start to the process's first message; undefined before it. */
  readonly readyMs: number | undefined
}

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
  let current: DeviceProcess | undefined
  /** Every process started and not yet ended: the current one and any retired one still finishing. */
  const started = new Set<DeviceProcess>()
  let starts = 0

  function processOf(resolved: ResolvedOptions): DeviceProcess {
    // Work still in flight when a benchmark starts belongs to one its caller gave up on (Vitest's
    // own test timeout can end a test before the device timeout ends its wait), or runs beside
    // it: the new benchmark gets a process of its own, so that killing the old one for a hung
    // kernel cannot take it along.
    if (current?.busy) current.retire('its benchmark was abandoned while device work was in flight')
    if (!current || current.ended !== undefined || current.busy) {
      current = DeviceProcess.start(startOptionsOf(resolved), resolved.timeoutMs)
      starts += 1
      for (const p of started) if (p.ended !== undefined) started.delete(p)
      started.add(current)
    }
    return current
  }

  const probed = new ProbeOnce(async (): Promise<Probe> => {
    try {
      settings = resolveOptions(options)
      return (await processOf(settings).request({ op: 'probe' }, 'probe()')).value
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
    const resolved = settings ?? resolveOptions(options)
    const process = processOf(resolved)
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
    deviceProcess() {
      if (!current) return undefined
      return { pid: current.pid, starts, readyMs: current.readyMs }
    },
    async shutdown() {
      for (const p of started) p.kill('the WebGPU backend was shut down')
      started.clear()
      current = undefined
      // A later prepare starts a fresh process; the cached description stays valid.
    },
  }
}
