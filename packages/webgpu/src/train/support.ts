/**
 * Whether the WebGPU backend trains a workload, decided from the probe's answer alone (so the
 * caller of a device process answers as the process would): f16 only where the adapter has
 * 'shader-f16', verification's float64 reference within its budget (core's trainReferenceRefusal),
 * and every buffer a kernel binds within the adapter's maxStorageBufferBindingSize and maxBufferSize.
 */
import {
  type DeviceDescription,
  describeTrain,
  parameterCount,
  type Target,
  type TrainWorkload,
  trainReferenceRefusal,
  trainWorkloadOf,
} from '@gpubench/core'

/** The training workload of a WebGPU training target (core's trainTarget), or what is wrong with it; null for any other target. */
export function trainingOf(target: Target): { workload: TrainWorkload } | { error: string } | null {
  if (target.kind !== 'custom' || target.backend !== 'webgpu') return null
  try {
    const workload = trainWorkloadOf(target)
    return workload ? { workload } : null
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  }
}

/** The largest buffer the step binds, in bytes: the logits (batch · seq x vocab) or the parameters (and so gradients and moments), padded. */
export function largestTrainBindingBytes(w: TrainWorkload): { name: string; bytes: number } {
  const m = w.model
  const logits = 4 * w.batch * w.seq * m.vocab
  // Each of 4 + 12 · layers tensors padded by at most 256 bytes.
  const parameters = 4 * parameterCount(m) + 256 * (4 + 12 * m.layers)
  const attention = 4 * w.batch * m.heads * w.seq * w.seq
  const largest = [
    { name: 'logits', bytes: logits },
    { name: 'parameters', bytes: parameters },
    { name: 'attention probabilities', bytes: attention },
  ].sort((a, b) => b.bytes - a.bytes)[0]!
  return largest
}

/** True when this adapter (the probe's description, undefined before the probe) trains `w`, else the reason. */
export function trainSupport(w: TrainWorkload, device: DeviceDescription | undefined): true | string {
  const name = describeTrain(w)
  if (w.dtype === 'f16') {
    if (!device) {
      return `${name}: f16 training needs the 'shader-f16' feature; call probe() first so the adapter's features are known`
    }
    if (device.details.shaderF16 !== true) {
      return `${name}: f16 training needs the 'shader-f16' feature, which adapter '${device.name}' lacks`
    }
  }
  const refusal = trainReferenceRefusal(w)
  if (refusal) return `${name}: ${refusal}`
  const largest = largestTrainBindingBytes(w)
  for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
    const max = device?.details[limit]
    if (typeof max === 'number' && largest.bytes > max) {
      return `${name}: buffer '${largest.name}' needs ${largest.bytes} bytes, over this adapter's ${limit} of ${max}`
    }
  }
  return true
}
