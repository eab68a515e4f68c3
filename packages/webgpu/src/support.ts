/**
 * What the WebGPU backend can run, decided from the probe's answer alone, so the caller of a
 * device process answers `supports()` exactly as the process would; and the probe itself, done
 * once per backend.
 */
import {
  BackendError,
  BackendUnavailableError,
  buffersOf,
  bytesPerElement,
  type DeviceDescription,
  describeWorkload,
  type Probe,
  type Target,
  type Workload,
} from '@gpubench/core'
import { trainingOf, trainSupport } from './train/support.ts'
import { isWebgpuKernel, kernelNeedsF16 } from './user-kernel.ts'
import { workloadLimitReason } from './workload-plan.ts'

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

/**
 * Whether this backend can run `target` given the probe's answer (undefined: not probed yet),
 * else the reason. The same answer in this process and in front of a device process.
 */
export function targetSupport(target: Target, probed: Probe | undefined): true | string {
  // What this backend never runs, first: that reason holds whether or not an adapter exists.
  if (target.kind === 'function') {
    return `the webgpu backend runs WGSL kernels; measure the JavaScript function '${target.name}' with the host backend`
  }
  if (target.kind === 'custom' && target.backend !== 'webgpu') {
    return `target '${target.name}' belongs to the ${target.backend} backend`
  }
  const training = trainingOf(target)
  if (training && 'error' in training) return training.error
  if (training) {
    if (probed && !probed.available) return probed.reason
    return trainSupport(training.workload, probed?.available ? probed.device : undefined)
  }
  if (target.kind === 'custom' && !isWebgpuKernel(target)) {
    return `target '${target.name}' is not a webgpuKernel(...) target`
  }
  if (probed && !probed.available) return probed.reason
  const device = probed?.available ? probed.device : undefined
  if (target.kind === 'custom') return kernelNeedsF16(target.spec) ? f16Support(probed, target.name) : true
  const reason = workloadReason(target, device)
  if (reason !== true) return reason
  if (target.kind !== 'launch' && target.dtype === 'f16') return f16Support(probed, describeWorkload(target))
  return true
}

/**
 * A backend's probe, run once and remembered; `supports` and `deviceFor` answer from it.
 */
export class ProbeOnce {
  readonly #run: () => Promise<Probe>
  #probing: Promise<Probe> | undefined
  #probed: Probe | undefined

  /** `run` never throws: it answers unavailable with the reason instead. */
  constructor(run: () => Promise<Probe>) {
    this.#run = run
  }

  probe(): Promise<Probe> {
    this.#probing ??= this.#run().then((p) => {
      this.#probed = p
      return p
    })
    return this.#probing
  }

  supports(target: Target): true | string {
    return targetSupport(target, this.#probed)
  }

  /** The probed device, once it is known to run `target`; else the BackendError that says why not. */
  async deviceFor(target: Target): Promise<DeviceDescription> {
    const p = await this.probe()
    if (!p.available) throw new BackendUnavailableError(`webgpu unavailable: ${p.reason}`, 'webgpu')
    const ok = this.supports(target)
    if (ok !== true) throw new BackendError(`webgpu ${p.device.id}: ${ok}`, 'webgpu', p.device.id)
    return p.device
  }
}
