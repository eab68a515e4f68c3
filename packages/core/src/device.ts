/**
 * Device identity. A device id names the baseline file of a device (`baselines/<id>.json`), so it
 * must be the same on the same machine run after run, and safe as a file name everywhere.
 *
 * Invariants of every id made here (checked by `isSafeDeviceId`):
 * - only lowercase ASCII letters, digits and single dashes, no leading or trailing dash: so no
 *   path separator, no `.` or `..`, nothing macOS, Linux or Windows refuse in a file name, no
 *   trailing dot or space;
 * - 1 to 100 characters (a longer slug is cut and ends with a hash of the whole, so two long
 *   names that share a prefix still get distinct ids);
 * - never a reserved Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9), which Windows
 *   refuses even with an extension (`nul.json`).
 *
 * Ids are built only from facts that do not change between runs: vendor, model, core count,
 * the backend, and for JavaScript measured on the host the runtime and its major version. Clock
 * speeds, free memory, PIDs, hostnames and serial numbers never enter them.
 *
 * Migration (ids changed in 0.1): two kinds of id changed, and a baseline file is found only
 * under its device's id, so rename such files (`git mv old.json new.json`) and set `device.id`
 * inside to the new id, or record them again with `-u`:
 * - the `host` backend's ids name the JavaScript runtime after the backend:
 *   `host-intel-xeon-f6-m167-2c` became `host-node24-intel-xeon-f6-m167-2c` (a function ran
 *   about 4x apart between Node 20 and Node 24, so runs on two runtimes are two devices);
 * - hardware GPU adapters (WebGPU) keep the model named in parentheses and, where the readable
 *   name is not enough, a hash of the full name (see gpuIdParts): `webgpu-vulkan-intel-intel`
 *   became e.g. `webgpu-vulkan-intel-intel-uhd-graphics-620-kbl-gt2`. Software adapters
 *   (llvmpipe, SwiftShader), `cpu` and `cuda` ids are unchanged.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import type { DeviceDescription } from './backend.ts'

/** What the host machine is, as far as systeminformation (or, failing it, node:os) can tell. */
export interface HostInfo {
  /** CPU model without the vendor, e.g. "EPYC 7B13", "Core i7-8700", "M2 Pro". */
  cpuModel: string
  /** CPU vendor, e.g. "AMD", "Intel", "Apple"; empty when unknown. */
  cpuVendor: string
  /**
   * The CPU's family and model numbers as CPUID reports them (x86: "6" and "143"); empty when
   * unknown. Cloud machines often hide the model behind a generic brand ("Intel Xeon Processor",
   * "AMD EPYC Processor") shared by generations years apart; these numbers tell them apart.
   */
  cpuFamily?: string
  cpuModelNumber?: string
  /** Logical cores (hardware threads) of the machine. */
  cores: number
  /** Total physical memory in bytes. */
  memoryBytes: number
  /** Operating system and release, e.g. "Debian GNU/Linux 12". */
  os: string
  /** Node's architecture name: "x64", "arm64". */
  arch: string
  /** GPU controllers; empty when none are found or listing them failed or timed out. */
  gpus: Array<{ vendor: string; model: string; driver?: string; memoryBytes?: number }>
}

/** The subset of systeminformation that `collectHostInfo` uses; tests substitute their own. */
export interface HostInfoSource {
  cpu(): Promise<{
    manufacturer?: string
    brand?: string
    vendor?: string
    cores?: number
    family?: string
    model?: string
  }>
  mem(): Promise<{ total?: number }>
  osInfo(): Promise<{ distro?: string; release?: string; platform?: string; arch?: string }>
  graphics(): Promise<{
    controllers?: Array<{
      vendor?: string
      model?: string
      driverVersion?: string
      vram?: number | null
      vramDynamic?: boolean
    }>
  }>
}

export interface HostInfoOptions {
  /** Time allowed to each of cpu(), mem() and osInfo(); on timeout node:os answers instead. Default 10 s. */
  timeoutMs?: number
  /** Time allowed to graphics(), which runs lspci, nvidia-smi and the like. On timeout: no GPUs. Default 8 s. */
  graphicsTimeoutMs?: number
}

export const MAX_DEVICE_ID_LENGTH = 100

const SAFE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])$/
/** Characters of a cut id kept before `-<hash>`: 100 - 1 - 8. */
const HASH_HEX_DIGITS = 8

/** Lowercase ASCII slug of one part: accents folded, marks (®, ™, (R), (TM)) dropped, runs of anything else one dash. */
function slug(text: string): string {
  return text
    .replace(/[®™©]|\((?:r|tm|c)\)/gi, ' ')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/**
 * Builds a device id from parts (backend, vendor, model, ...): each part slugified, empty parts
 * dropped, joined with dashes. Throws when no part has a letter or digit: an id that says nothing
 * would make unrelated devices share a baseline.
 */
export function deviceId(parts: string[]): string {
  if (!Array.isArray(parts)) throw new TypeError(`deviceId: expected an array of strings, got ${typeof parts}`)
  const slugs = parts.map((part, index) => {
    if (typeof part !== 'string') {
      throw new TypeError(`deviceId: part ${index} must be a string, got ${part === null ? 'null' : typeof part}`)
    }
    return slug(part)
  })
  let id = slugs.filter((s) => s !== '').join('-')
  if (id === '') {
    throw new Error(`deviceId: no letter or digit in the parts ${JSON.stringify(parts)}; cannot name a device`)
  }
  if (id.length > MAX_DEVICE_ID_LENGTH) {
    const hash = createHash('sha256').update(id).digest('hex').slice(0, HASH_HEX_DIGITS)
    const kept = id.slice(0, MAX_DEVICE_ID_LENGTH - 1 - HASH_HEX_DIGITS).replace(/-+$/, '')
    id = `${kept}-${hash}`
  }
  if (WINDOWS_RESERVED.test(id)) id = `${id}-device`
  return id
}

/** True if `id` is a string deviceId could have returned: safe as a file name on macOS, Linux and Windows. */
export function isSafeDeviceId(id: string): boolean {
  return (
    typeof id === 'string' &&
    id.length >= 1 &&
    id.length <= MAX_DEVICE_ID_LENGTH &&
    SAFE_ID.test(id) &&
    !WINDOWS_RESERVED.test(id)
  )
}

const VENDOR_NAMES: Readonly<Record<string, string>> = {
  genuineintel: 'Intel',
  authenticamd: 'AMD',
  'advanced micro devices': 'AMD',
  'advanced micro devices, inc.': 'AMD',
  'intel corporation': 'Intel',
  'apple inc.': 'Apple',
}

function vendorName(raw: string): string {
  const trimmed = raw.trim()
  return VENDOR_NAMES[trimmed.toLowerCase()] ?? trimmed
}

/**
 * The CPU model reduced to what identifies it: without trademark marks, the nominal clock
 * (`@ 3.20GHz`), `CPU`, `Processor`, `N-Core` (the core count is added apart) and a leading vendor.
 */
function cpuModelWords(model: string, vendor: string): string {
  let words = slug(
    model
      .replace(/@\s*[\d.]+\s*[gm]hz/gi, ' ')
      .replace(/\b\d+-core\b/gi, ' ')
      .replace(/\b(?:cpu|processor)\b/gi, ' ')
      .replace(/\bwith radeon\b.*$/i, ' '),
  )
  const vendorSlug = slug(vendor)
  if (vendorSlug !== '' && (words === vendorSlug || words.startsWith(`${vendorSlug}-`))) {
    words = words.slice(vendorSlug.length + 1)
  }
  return words
}

/**
 * The parts that name the host CPU in a device id: vendor, model, and the core count
 * (`['AMD', 'epyc-7b13', '2c']`). A brand string with no digit in it names a product line, not a
 * model ("Intel Xeon Processor" covers a decade of them), so the CPUID family and model numbers
 * follow it where known (`['Intel', 'xeon', 'f6-m143', '2c']`). Every device whose speed is the
 * host CPU's uses these parts: the `cpu` and `host` backends, and software GPU adapters.
 */
export function hostCpuIdParts(info: HostInfo): string[] {
  if (!Number.isInteger(info.cores) || info.cores < 1) {
    throw new TypeError(`device id: info.cores must be a positive integer, got ${info.cores}`)
  }
  const words = cpuModelWords(info.cpuModel, info.cpuVendor)
  const family = slug(info.cpuFamily ?? '')
  const model = slug(info.cpuModelNumber ?? '')
  const generic = !/[0-9]/.test(words)
  const numbers = generic && family !== '' && model !== '' ? `f${family}-m${model}` : ''
  return [info.cpuVendor, words, numbers, `${info.cores}c`]
}

/**
 * The id of the host CPU as the `cpu` (native kernels) or `host` (JS functions) backend: e.g.
 * `cpu-amd-epyc-7b13-2c`, `cpu-intel-xeon-f6-m143-2c` (a generic brand; see hostCpuIdParts),
 * `host-node24-amd-epyc-7b13-2c` (the host backend names the JS runtime, `runtime`, which is
 * this process's jsRuntimeIdPart() unless given).
 */
export function cpuDeviceId(info: HostInfo, backend: 'cpu' | 'host', runtime?: string): string {
  if (backend !== 'cpu' && backend !== 'host') {
    throw new TypeError(`cpuDeviceId: backend must be 'cpu' or 'host', got ${JSON.stringify(backend)}`)
  }
  if (backend === 'cpu') return deviceId([backend, ...hostCpuIdParts(info)])
  return deviceId([backend, runtime ?? jsRuntimeIdPart(), ...hostCpuIdParts(info)])
}

/**
 * The JavaScript runtime and its major version as an id part: `node24`, `bun1`, `deno2`. The same
 * JS code can run several times faster on one major version than on another, so the `host`
 * backend's device id names it. `versions` is `process.versions` unless a test substitutes one.
 */
export function jsRuntimeIdPart(versions: Readonly<Record<string, string | undefined>> = process.versions): string {
  for (const runtime of ['bun', 'deno', 'node'] as const) {
    const version = versions[runtime]
    if (typeof version !== 'string') continue
    const major = /^v?(\d+)/.exec(version)?.[1]
    if (major === undefined) throw new Error(`device id: cannot read the major version of ${runtime} ${version}`)
    return `${runtime}${major}`
  }
  throw new Error('device id: unknown JavaScript runtime (no node, bun or deno version in process.versions)')
}

/** A device description of the host CPU for the `cpu` and `host` backends: id, name "AMD EPYC 7B13 (2 cores)", facts. */
export function cpuDeviceDescription(info: HostInfo, backend: 'cpu' | 'host', runtime?: string): DeviceDescription {
  const model = [info.cpuVendor, info.cpuModel].filter((s) => s !== '').join(' ') || 'unknown CPU'
  return {
    id: cpuDeviceId(info, backend, runtime),
    backend,
    name: `${model} (${info.cores} cores)`,
    ...(info.cpuVendor === '' ? {} : { vendor: info.cpuVendor }),
    architecture: info.arch,
    details: {
      cores: info.cores,
      memoryBytes: info.memoryBytes,
      os: info.os,
      ...(info.cpuFamily ? { cpuFamily: info.cpuFamily } : {}),
      ...(info.cpuModelNumber ? { cpuModelNumber: info.cpuModelNumber } : {}),
    },
  }
}

/** What names a hardware GPU: the vendor and the model as the driver names them, PCI ids where known. */
export interface GpuIdentity {
  /** e.g. "intel", "NVIDIA", "qualcomm"; empty when unknown. */
  vendor: string
  /** The model as the driver reports it, e.g. "Intel(R) UHD Graphics 620 (KBL GT2)", "Adreno (TM) 740". */
  name: string
  /** PCI vendor id (0x8086 for Intel), where the API reports it. */
  pciVendorId?: number
  /** PCI device id (0x5917 for UHD 620), where the API reports it. */
  pciDeviceId?: number
}

/** A parenthesised part that holds a version ("(LLVM 15.0.6, 256 bits)", "(driver 550.54)"): it changes with updates. */
const VERSION_GROUP = /\([^()]*\d+\.\d+[^()]*\)/g

/** A letter or digit that slug() cannot spell in ASCII (CJK, Cyrillic, ...): the slug lost it. */
const UNSPELLED = /(?!\p{ASCII})[\p{L}\p{N}]/u

/**
 * The parts that name a hardware GPU in a device id, after the backend: the vendor, the model as
 * the driver names it with trademark marks and version groups dropped but every other
 * parenthesised part kept (`Intel(R) UHD Graphics 620 (KBL GT2)` -> `intel-uhd-graphics-620-kbl-gt2`,
 * `Adreno (TM) 740` -> `adreno-740`, `AMD Radeon Graphics (RADV RENOIR)` ->
 * `amd-radeon-graphics-radv-renoir`), and one more part when that readable name is not enough
 * to tell devices apart: empty, without a digit (a product line such as "Radeon Graphics"
 * names many chips), or with letters the ASCII slug could not spell. That part is the PCI ids
 * (`pci-8086-5917`) where known, else `h` and 8 hex digits of the SHA-256 of the full name, so the
 * same device always gets the same id and two names that differ anywhere get two ids.
 */
export function gpuIdParts(gpu: GpuIdentity): string[] {
  const name = typeof gpu.name === 'string' ? gpu.name.trim() : ''
  const vendor = typeof gpu.vendor === 'string' ? gpu.vendor.trim() : ''
  const readable = slug(name.replace(/[®™©]|\((?:r|tm|c)\)/gi, ' ').replace(VERSION_GROUP, ' '))
  const folded = name
    .replace(/[®™©]/g, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
  const ambiguous = readable === '' || !/[0-9]/.test(readable) || UNSPELLED.test(folded)
  if (!ambiguous) return [vendor, readable]
  const pci = (id: number | undefined): string | undefined =>
    Number.isInteger(id) && (id as number) > 0 && (id as number) <= 0xffff
      ? (id as number).toString(16).padStart(4, '0')
      : undefined
  const pciVendor = pci(gpu.pciVendorId)
  const pciDevice = pci(gpu.pciDeviceId)
  if (pciVendor !== undefined && pciDevice !== undefined) return [vendor, readable, `pci-${pciVendor}-${pciDevice}`]
  if (name === '' && vendor === '') {
    throw new Error('device id: a GPU with neither a name nor a vendor nor PCI ids cannot be named')
  }
  const hash = createHash('sha256').update(`${vendor}\u0000${name}`).digest('hex').slice(0, HASH_HEX_DIGITS)
  return [vendor, readable, `h${hash}`]
}

class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/** Settles with `promise`, or rejects after `ms`. The timer does not keep the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms)
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** Runs `query` under a time limit; any failure (error, timeout) yields undefined so the caller can fall back. */
async function attempt<T>(query: () => Promise<T>, ms: number, what: string): Promise<T | undefined> {
  try {
    return await withTimeout(Promise.resolve().then(query), ms, what)
  } catch {
    return undefined
  }
}

/** Splits node:os's one-line CPU model ("AMD EPYC 7B13 64-Core Processor") into vendor and model. */
function cpuFromNodeOs(): { vendor: string; model: string } {
  const raw = os.cpus()[0]?.model.replace(/[®™©]|\((?:r|tm|c)\)/gi, ' ') ?? ''
  const first = raw.trim().split(/\s+/)[0] ?? ''
  const known = ['AMD', 'Intel', 'Apple', 'ARM', 'Ampere', 'Qualcomm']
  const vendor = known.find((v) => v.toLowerCase() === first.toLowerCase()) ?? ''
  const model = (vendor === '' ? raw : raw.trim().slice(first.length)).replace(/\s+/g, ' ').trim()
  return { vendor, model }
}

/** "cpu family" and "model" of the first processor in /proc/cpuinfo (Linux x86); undefined elsewhere. */
function cpuNumbersFromProc(): { family?: string; model?: string } | undefined {
  let text: string
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    return undefined
  }
  const first = text.split(/\n\s*\n/)[0] ?? ''
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(\\S+)`, 'm').exec(first)?.[1]
  return { family: field('cpu family'), model: field('model') }
}

function positive(value: number | null | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined
}

/**
 * Collects the host's facts from `source`, each query bounded in time. A query that fails or
 * times out is answered by node:os (CPU, memory, OS) or by "no GPUs": this never rejects, since a
 * benchmark should not fail because `lspci` is missing.
 */
export async function collectHostInfo(source: HostInfoSource, options: HostInfoOptions = {}): Promise<HostInfo> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const graphicsTimeoutMs = options.graphicsTimeoutMs ?? 8_000
  const [cpu, mem, osInfo, graphics] = await Promise.all([
    attempt(() => source.cpu(), timeoutMs, 'systeminformation.cpu()'),
    attempt(() => source.mem(), timeoutMs, 'systeminformation.mem()'),
    attempt(() => source.osInfo(), timeoutMs, 'systeminformation.osInfo()'),
    attempt(() => source.graphics(), graphicsTimeoutMs, 'systeminformation.graphics()'),
  ])

  const fallback = cpuFromNodeOs()
  const siVendor = vendorName(cpu?.manufacturer || cpu?.vendor || '')
  const siModel = (cpu?.brand ?? '').trim()
  const useSi = siModel !== ''
  const cpuVendor = useSi ? siVendor : fallback.vendor
  const cpuModel = useSi ? siModel : fallback.model

  const cores =
    Number.isInteger(cpu?.cores) && (cpu?.cores ?? 0) > 0 ? (cpu?.cores as number) : os.availableParallelism()
  const memoryBytes = positive(mem?.total) ?? os.totalmem()
  const osName = [osInfo?.distro, osInfo?.release].filter((s) => typeof s === 'string' && s.trim() !== '').join(' ')

  const gpus: HostInfo['gpus'] = []
  for (const controller of graphics?.controllers ?? []) {
    const model = (controller.model ?? '').trim()
    if (model === '') continue
    const gpu: HostInfo['gpus'][number] = { vendor: vendorName(controller.vendor ?? ''), model }
    const driver = (controller.driverVersion ?? '').trim()
    if (driver !== '') gpu.driver = driver
    // systeminformation reports VRAM in MiB; shared (dynamic) memory is not the GPU's own.
    const vramMiB = controller.vramDynamic ? undefined : positive(controller.vram)
    if (vramMiB !== undefined) gpu.memoryBytes = vramMiB * 1024 * 1024
    gpus.push(gpu)
  }

  // Family and model numbers from systeminformation, else from /proc/cpuinfo (where node:os reads
  // its brand string too), so the id is the same whichever source answered. systeminformation
  // takes them from `lscpu`: where that is not on PATH (a CI step's trimmed PATH, a slim
  // container) it still answers the brand but with empty numbers, and the same machine would get
  // another id than in a shell that has it.
  const numberOf = (value: unknown): string =>
    typeof value === 'string' && /^[0-9]+$/.test(value.trim()) ? value.trim() : ''
  const siFamily = useSi ? numberOf(cpu?.family) : ''
  const siModelNumber = useSi ? numberOf(cpu?.model) : ''
  const procNumbers = siFamily !== '' && siModelNumber !== '' ? undefined : cpuNumbersFromProc()
  const cpuFamily = procNumbers === undefined ? siFamily : numberOf(procNumbers.family)
  const cpuModelNumber = procNumbers === undefined ? siModelNumber : numberOf(procNumbers.model)
  return {
    cpuModel,
    cpuVendor,
    ...(cpuFamily !== '' && cpuModelNumber !== '' ? { cpuFamily, cpuModelNumber } : {}),
    cores,
    memoryBytes,
    os: osName || `${os.type()} ${os.release()}`,
    arch: process.arch,
    gpus,
  }
}

let cachedHostInfo: Promise<HostInfo> | undefined

/**
 * This machine's facts from systeminformation, collected once per process (graphics() alone can
 * take seconds) and shared by every caller. Never rejects; see collectHostInfo.
 */
export function hostInfo(): Promise<HostInfo> {
  cachedHostInfo ??= import('systeminformation').then((si) => collectHostInfo(si.default ?? si))
  return cachedHostInfo
}
