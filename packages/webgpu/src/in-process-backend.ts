/**
 * The WebGPU backend with its device work in this process (isolation 'none'; also what runs
 * inside the device process, see process/device-process.ts).
 *
 * `probe()` loads dawn.node, asks for an adapter and describes it (cached; unavailable with the
 * loader's error or "no WebGPU adapter found (Dawn backend X)"). `prepare()` gives every
 * benchmark a fresh adapter and device (see session.ts), so a fault in one cannot leak into the
 * next. What it cannot contain: a kernel that never ends. Its wait times out, but destroying the
 * device then blocks inside Dawn until the queue is idle, which is why the default is a device
 * process (process/isolated-backend.ts).
 */
import {
  type Backend,
  BackendError,
  type DeviceDescription,
  describeWorkload,
  hostInfo,
  isWorkload,
  type Target,
  type TrainTarget,
} from '@gpubench/core'
import { describeAdapter } from './describe.ts'
import { releaseInstances } from './instance.ts'
import { type ResolvedOptions, resolveOptions, type WebgpuOptions } from './options.ts'
import type { Plan } from './plan.ts'
import { PlanRunnable } from './runnable.ts'
import { destroyAllSessions, messageOf, requestAdapter, Session } from './session.ts'
import { ProbeOnce } from './support.ts'
import { trainingOf } from './train/support.ts'
import { WebgpuTrainingRunnable } from './train/training-runnable.ts'
import { isWebgpuKernel, kernelVerifier, planOfKernel } from './user-kernel.ts'
import type { Verifier, WebgpuRunnable } from './webgpu-runnable.ts'
import { planOf } from './workload-plan.ts'
import { workloadVerifier } from './workload-verify.ts'

export interface WebgpuBackend extends Backend {
  readonly kind: 'webgpu'
  /** The runnable has `hostDurationsNs` (host clock beside the device's) besides core's Runnable. */
  prepare(target: Target): Promise<WebgpuRunnable>
  /** Ends this backend's device work (devices, device process) and releases Dawn, so Node can exit. */
  shutdown(): Promise<void>
}

export interface InProcessBackend extends WebgpuBackend {
  /** A plan's runnable, or for a training target (core's trainTarget) the training step's. */
  prepare(target: Target): Promise<PlanRunnable | WebgpuTrainingRunnable>
  /** Prepares a plan made elsewhere (a user kernel's, made where its `init` functions live). */
  preparePlan(plan: Plan, target: Target, verifier: Verifier): Promise<PlanRunnable>
}

/** Destroys every device of this process and drops every Dawn instance; later use starts afresh. */
export function shutdownInProcess(): void {
  destroyAllSessions()
  releaseInstances()
}

function reasonOf(target: Target): string {
  return isWorkload(target) ? describeWorkload(target) : target.name
}

/** The in-process backend (isolation 'none' whatever the options say). */
export function createInProcessBackend(options: WebgpuOptions = {}): InProcessBackend {
  let resolved: ResolvedOptions | undefined
  const probed = new ProbeOnce(async () => {
    try {
      resolved = resolveOptions(options)
      const adapter = await requestAdapter(resolved)
      return { available: true, device: describeAdapter(adapter, resolved, await hostInfo()) }
    } catch (error) {
      return { available: false, reason: messageOf(error) }
    }
  })

  async function ready(target: Target): Promise<{ device: DeviceDescription; settings: ResolvedOptions }> {
    const device = await probed.deviceFor(target)
    return { device, settings: resolved ?? resolveOptions(options) }
  }

  async function open(
    plan: Plan,
    target: Target,
    verifier: Verifier,
    device: DeviceDescription,
    settings: ResolvedOptions,
  ): Promise<PlanRunnable> {
    const session = await Session.open(settings, device.id, { f16: plan.f16, timestamps: true }, plan.label)
    const timingNote = !settings.timestamps
      ? 'timestamp queries disabled by the timestamps option'
      : "the adapter lacks the 'timestamp-query' feature"
    return PlanRunnable.create({ session, plan, target, device, verifier, timingNote })
  }

  async function prepare(target: Target): Promise<PlanRunnable | WebgpuTrainingRunnable> {
    const { device, settings } = await ready(target)
    const training = trainingOf(target)
    if (training && 'workload' in training) {
      return WebgpuTrainingRunnable.create(target as TrainTarget, training.workload, device, settings)
    }
    let plan: ReturnType<typeof planOf>
    let verifier: ReturnType<typeof workloadVerifier>
    if (isWebgpuKernel(target)) {
      plan = planOfKernel(target.spec)
      verifier = kernelVerifier(target.spec)
    } else if (isWorkload(target)) {
      const gemmKernel = settings.gemmKernel !== 'auto' ? settings.gemmKernel : device.software ? 'registers' : 'tiled'
      plan = planOf(target, { gemmKernel })
      verifier = workloadVerifier(target)
    } else {
      throw new BackendError(`webgpu ${device.id}: cannot run '${reasonOf(target)}'`, 'webgpu', device.id)
    }
    return open(plan, target, verifier, device, settings)
  }

  async function preparePlan(plan: Plan, target: Target, verifier: Verifier): Promise<PlanRunnable> {
    const { device, settings } = await ready(target)
    return open(plan, target, verifier, device, settings)
  }

  return {
    kind: 'webgpu',
    probe: () => probed.probe(),
    supports: (target) => probed.supports(target),
    prepare,
    preparePlan,
    async shutdown() {
      shutdownInProcess()
      // A later probe re-creates the instance; the cached description stays valid.
    },
  }
}
