/**
 * What a WebGPU adapter says about itself, as core's DeviceDescription, and the device's stable id.
 *
 * The id names the Dawn backend and the adapter (`webgpu-metal-apple-m2-max`; core's gpuIdParts
 * keeps the model in parentheses and adds a hash where the name alone is ambiguous) and leaves out
 * what changes with a driver update (driver build, LLVM version), so a baseline file survives updates;
 * those go into `driver` and `details`. A software adapter runs on the host CPU, so its speed is
 * that CPU's: its id names the CPU too (`webgpu-vulkan-llvmpipe-amd-epyc-7b13-2c`), and lavapipe
 * on one machine is never compared with lavapipe on another.
 */
import { type DeviceDescription, deviceId, gpuIdParts, type HostInfo, hostCpuIdParts } from '@gpubench/core'
import type { ResolvedOptions } from './options.ts'

/** Software rasterisers and emulators: timings on them say little about any GPU. */
const SOFTWARE_ADAPTERS = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|warp/i

/** The short name of a software adapter, for the id ('llvmpipe' for lavapipe's device). */
function softwareName(text: string): string | undefined {
  const match = SOFTWARE_ADAPTERS.exec(text)
  return match?.[0].toLowerCase()
}

/**
 * `host`: the machine's facts, for a software adapter's id; required when the adapter is a
 * software one (the backend passes core's hostInfo()).
 */
export function describeAdapter(adapter: GPUAdapter, options: ResolvedOptions, host?: HostInfo): DeviceDescription {
  const info = adapter.info
  const vendor = info.vendor || undefined
  const architecture = info.architecture || undefined
  const deviceName = info.device || ''
  const description = info.description || ''
  const software =
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    architecture === 'software' ||
    SOFTWARE_ADAPTERS.test(`${deviceName} ${description}`)
  // Some drivers hand Dawn a slug as the device name ('llvmpipe-llvm-15-0-6-256-bits-'); the description reads better then.
  const slugLike = deviceName !== '' && !/\s/.test(deviceName) && description !== ''
  const name = (slugLike ? description : deviceName) || description || `${vendor ?? 'unknown'} adapter`
  const swName = software ? softwareName(`${deviceName} ${description}`) : undefined
  if (swName !== undefined && host === undefined) {
    throw new Error(`describeAdapter: ${name} is a software adapter; its id needs the host CPU's facts (host)`)
  }
  const idParts =
    swName !== undefined && host !== undefined
      ? ['webgpu', options.backend, swName, ...hostCpuIdParts(host)]
      : ['webgpu', options.backend, ...gpuIdParts({ vendor: vendor ?? '', name })]
  const features = [...adapter.features].sort()
  const limits = adapter.limits
  const details: Record<string, string | number | boolean> = {
    dawnBackend: options.backend,
    adapterDevice: deviceName,
    adapterDescription: description,
    features: features.join(' '),
    timestampQuery: adapter.features.has('timestamp-query'),
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    timestampQuantization: false,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
  }
  const subgroupMin = (info as { subgroupMinSize?: number }).subgroupMinSize
  const subgroupMax = (info as { subgroupMaxSize?: number }).subgroupMaxSize
  if (typeof subgroupMin === 'number') details.subgroupMinSize = subgroupMin
  if (typeof subgroupMax === 'number') details.subgroupMaxSize = subgroupMax
  if (options.adapter !== undefined) details.adapterOption = options.adapter
  return {
    id: deviceId(idParts),
    backend: 'webgpu',
    name,
    ...(vendor !== undefined && { vendor }),
    ...(architecture !== undefined && { architecture }),
    ...(description !== '' && { driver: description }),
    software,
    details,
  }
}
