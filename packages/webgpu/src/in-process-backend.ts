/**
 * The WebGPU backend (core's `Backend` contract) through Dawn.
 *
 * `probe()` loads dawn.node, asks for an adapter and describes it (cached; unavailable with the
 * loader's error or "no WebGPU adapter found (Dawn backend X)"). `prepare()` gives every
 * benchmark a fresh adapter and device (see session.ts), so a fault in one cannot leak into the
 * next. `shutdown()` destroys every device and drops Dawn's instances: Dawn keeps a Node process
 * alive while they live, so test files and scripts call it at the end.
 */
import {
  type Backend,
  BackendError,
  BackendUnavailableError,
  buffersOf,
  bytesPerElement,
  type DeviceDescription,
  describeWorkload,
  hostInfo,
  isWorkload,
  type Probe,
  type Target,
  type Workload,
} from '@gpubench/core'
import { describeAdapter } from './describe.ts'
import { releaseInstances } from './instance.ts'
import { type ResolvedOptions, resolveOptions, type WebgpuOptions } from './options.ts'
import { PlanRunnable } from './runnable.ts'
import { destroyAllSessions, messageOf, requestAdapter, Session } from './session.ts'
import { isWebgpuKernel, kernelNeedsF16, kernelVerifier, planOfKernel } from './user-kernel.ts'
import { planOf, workloadLimitReason } from './workload-plan.ts'
import { workloadVerifier } from './workload-verify.ts'

export interface WebgpuBackend extends Backend {
  readonly kind: 'webgpu'
  /** The runnable has `hostDurationsNs` (host clock beside the device's) besides core's Runnable. */
  prepare(target: Target): Promise<PlanRunnable>
  /** Destroys every device this process opened through WebGPU and releases Dawn, so Node can exit. */
  shutdown(): Promise<void>
}

/** Destroys every device and drops every Dawn instance (all backends of this package); later use starts afresh. */
export async function shutdownWebgpu(): Promise<void> {
  destroyAllSessions()
  releaseInstances()
}

/** Whether f16 kernels can run given a probe result (undefined: not probed yet), else the reason. */
export function f16Support(probed: Probe | undefined, label: string): true | string {
  if (!probed)
    return `${label}: f16 needs the 'shader-f16' feature; call probe() first so the adapter's features are known`
  if (!probed.available) return probed.reason
  if (probed.device.details.shaderF16 !== true) {
    return `${label}: f16 needs the 'shader-f16' feature, which adapter '${probed.device.name}' lacks`
  }
  return true
}

function reasonOf(target: Target): string {
  return isWorkload(target) ? describeWorkload(target) : target.name
}

export function createWebgpuBackend(options: WebgpuOptions = {}): WebgpuBackend {
  let resolved: ResolvedOptions | undefined
  let probed: Probe | undefined
  let probing: Promise<Probe> | undefined

  async function probeOnce(): Promise<Probe> {
    try {
      resolved = resolveOptions(options)
      const adapter = await requestAdapter(resolved)
      return { available: true, device: describeAdapter(adapter, resolved, await hostInfo()) }
    } catch (error) {
      return { available: false, reason: messageOf(error) }
    }
  }

  function probe(): Promise<Probe> {
    probing ??= probeOnce().then((p) => {
      probed = p
      return p
    })
    return probing
  }

  function workloadReason(w: Workload, device: DeviceDescription | undefined): true | string {
    const limit = workloadLimitReason(w)
    if (limit) return `${describeWorkload(w)}: ${limit}`
    const maxBinding = device?.details.maxStorageBufferBindingSize
    if (w.kind !== 'launch' && typeof maxBinding === 'number') {
      const { inputs, outputs } = buffersOf(w)
      for (const b of [...inputs, ...outputs]) {
        const bytes = b.length * bytesPerElement(w.dtype)
        if (bytes > maxBinding) {
          return `${describeWorkload(w)}: buffer '${b.name}' has ${bytes} bytes, over this adapter's maxStorageBufferBindingSize of ${maxBinding}`
        }
      }
    }
    return true
  }

  function f16Reason(label: string): true | string {
    return f16Support(probed, label)
  }

  function supports(target: Target): true | string {
    // What this backend never runs, first: that reason holds whether or not an adapter exists.
    if (target.kind === 'function') {
      return `the webgpu backend runs WGSL kernels; measure the JavaScript function '${target.name}' with the host backend`
    }
    if (target.kind === 'custom' && target.backend !== 'webgpu') {
      return `target '${target.name}' belongs to the ${target.backend} backend`
    }
    if (target.kind === 'custom' && !isWebgpuKernel(target)) {
      return `target '${target.name}' is not a webgpuKernel(...) target`
    }
    if (probed && !probed.available) return probed.reason
    const device = probed?.available ? probed.device : undefined
    if (target.kind === 'custom') return kernelNeedsF16(target.spec) ? f16Reason(target.name) : true
    const reason = workloadReason(target, device)
    if (reason !== true) return reason
    if (target.kind !== 'launch' && target.dtype === 'f16') return f16Reason(describeWorkload(target))
    return true
  }

  async function prepare(target: Target): Promise<PlanRunnable> {
    const p = await probe()
    if (!p.available) throw new BackendUnavailableError(`webgpu unavailable: ${p.reason}`, 'webgpu')
    const device = p.device
    const ok = supports(target)
    if (ok !== true) throw new BackendError(`webgpu ${device.id}: ${ok}`, 'webgpu', device.id)
    const settings = resolved ?? resolveOptions(options)
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
    const session = await Session.open(settings, device.id, { f16: plan.f16, timestamps: true }, plan.label)
    const timingNote = !settings.timestamps
      ? 'timestamp queries disabled by the timestamps option'
      : "the adapter lacks the 'timestamp-query' feature"
    return PlanRunnable.create(session, plan, target, device, verifier, timingNote)
  }

  return {
    kind: 'webgpu',
    probe,
    supports,
    prepare,
    async shutdown() {
      await shutdownWebgpu()
      // A later probe re-creates the instance; the cached description stays valid.
    },
  }
}

/** The WebGPU backend with options from the environment ($GPUBENCH_WEBGPU_BACKEND, $GPUBENCH_WEBGPU_ADAPTER, $GPUBENCH_WEBGPU_TIMEOUT_MS). */
export const webgpuBackend: WebgpuBackend = createWebgpuBackend()
