/**
 * Users' own kernels: a WGSL compute shader, its buffers and its dispatch, benchmarked with the
 * same timing, fault handling and fresh device as the built-in kernels, so library authors can
 * hold their own kernels to a baseline.
 *
 * ```ts
 * const target = webgpuKernel({
 *   name: 'saxpy 1M',
 *   wgsl: SAXPY_WGSL,
 *   bindings: [
 *     { name: 'x', sizeBytes: 4 << 20, usage: 'read-only-storage', init: xs },
 *     { name: 'y', sizeBytes: 4 << 20, init: ys },
 *   ],
 *   workgroups: [4096],
 *   flops: 2 << 20,
 *   bytes: 12 << 20,
 *   check: ({ y }) => new Float32Array(y)[0] === 3 || 'y[0] should be 3',
 * })
 * const runnable = await webgpuBackend.prepare(target)
 * ```
 *
 * Bindings are @group(0) @binding(0..) in the order given, with an explicit layout from their
 * usage, so a shader that disagrees with the declared buffers fails with Dawn's message at
 * pipeline creation. The spec is validated when the target is made: a wrong field is named.
 */
import { BackendError, type BackendTarget, type Target, type VerifyReport } from '@gpubench/core'
import { BINDING_KINDS, type BindingKind, bytesOf, type Plan, type PlanBuffer } from './plan.ts'
import type { Verifier } from './webgpu-runnable.ts'

export interface WebgpuKernelBinding {
  /** Name of the buffer in readbacks and messages; default `binding<i>`. */
  readonly name?: string
  /** Size in bytes the shader sees (a positive integer). */
  readonly sizeBytes: number
  /** How the buffer is bound; default 'storage' (read-write). */
  readonly usage?: BindingKind
  /** Initial contents (at most sizeBytes, the rest zero), or a function filling the zeroed bytes; default zeros. */
  readonly init?: ArrayBufferView | ((bytes: Uint8Array) => void)
}

/** The read-write buffers after one run, by name; `check` returns true or nothing when they are right, false or a message when not, or throws. */
export type WebgpuKernelCheck = (
  readback: Readonly<Record<string, ArrayBuffer>>,
) => boolean | string | undefined | Promise<boolean | string | undefined>

export interface WebgpuKernelSpec {
  readonly name: string
  readonly wgsl: string
  /** Default 'main'. */
  readonly entryPoint?: string
  /** Values of the shader's `override` constants. */
  readonly constants?: Readonly<Record<string, number>>
  readonly bindings: readonly WebgpuKernelBinding[]
  /** Workgroups dispatched: [x, y?, z?] or a count in x. */
  readonly workgroups: number | readonly [number, number?, number?]
  /** Dispatches per timed run (default 1); durations are reported per dispatch. */
  readonly dispatchesPerRun?: number
  /** FLOPs and bytes of one dispatch, for throughput. */
  readonly flops?: number
  readonly bytes?: number
  /** Needs `shader-f16`; default: true when the WGSL says `enable f16`. */
  readonly f16?: boolean
  readonly check?: WebgpuKernelCheck
}

export interface WebgpuKernelTarget extends BackendTarget {
  readonly backend: 'webgpu'
  readonly spec: WebgpuKernelSpec
}

function fail(name: string, message: string): never {
  throw new BackendError(`webgpuKernel '${name}': ${message}`, 'webgpu')
}

function positiveInteger(name: string, field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    fail(name, `'${field}' must be an integer from 1 to ${max}, got ${JSON.stringify(value) ?? String(value)}`)
  }
  return value
}

function count(name: string, field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
    fail(name, `'${field}' must be a non-negative number, got ${JSON.stringify(value)}`)
  }
}

/** The three workgroup counts of a spec. */
export function workgroupsOf(spec: WebgpuKernelSpec): [number, number, number] {
  const w = typeof spec.workgroups === 'number' ? [spec.workgroups] : spec.workgroups
  return [w[0] ?? 1, w[1] ?? 1, w[2] ?? 1]
}

function bindingName(b: WebgpuKernelBinding, i: number): string {
  return b.name ?? `binding${i}`
}

/** Validates a user kernel and wraps it as a target for the webgpu backend. */
export function webgpuKernel(spec: WebgpuKernelSpec): WebgpuKernelTarget {
  if (typeof spec !== 'object' || spec === null)
    throw new BackendError('webgpuKernel: expected a spec object', 'webgpu')
  const name = spec.name
  if (typeof name !== 'string' || name.trim() === '') {
    throw new BackendError(`webgpuKernel: 'name' must be a non-empty string, got ${JSON.stringify(name)}`, 'webgpu')
  }
  if (typeof spec.wgsl !== 'string' || spec.wgsl.trim() === '') fail(name, `'wgsl' must be non-empty WGSL source`)
  if (spec.entryPoint !== undefined && (typeof spec.entryPoint !== 'string' || spec.entryPoint === '')) {
    fail(name, `'entryPoint' must be a non-empty string`)
  }
  if (!Array.isArray(spec.bindings)) fail(name, `'bindings' must be an array`)
  const names = new Set<string>()
  spec.bindings.forEach((b, i) => {
    if (typeof b !== 'object' || b === null) fail(name, `bindings[${i}] must be an object`)
    const bName = bindingName(b, i)
    if (typeof bName !== 'string' || bName === '') fail(name, `bindings[${i}].name must be a non-empty string`)
    if (names.has(bName)) fail(name, `bindings[${i}].name '${bName}' is used twice`)
    names.add(bName)
    positiveInteger(name, `bindings[${i}].sizeBytes`, b.sizeBytes)
    if (b.usage !== undefined && !(BINDING_KINDS as readonly string[]).includes(b.usage)) {
      fail(name, `bindings[${i}].usage must be one of ${BINDING_KINDS.join(', ')}, got ${JSON.stringify(b.usage)}`)
    }
    if (b.init !== undefined && typeof b.init !== 'function') {
      if (!ArrayBuffer.isView(b.init)) fail(name, `bindings[${i}].init must be a typed array or a function`)
      if (b.init.byteLength > b.sizeBytes) {
        fail(name, `bindings[${i}].init has ${b.init.byteLength} bytes, more than sizeBytes ${b.sizeBytes}`)
      }
    }
  })
  const wg = typeof spec.workgroups === 'number' ? [spec.workgroups] : spec.workgroups
  if (!Array.isArray(wg) || wg.length < 1 || wg.length > 3) {
    fail(name, `'workgroups' must be a count or [x, y?, z?], got ${JSON.stringify(spec.workgroups)}`)
  }
  wg.forEach((v, i) => {
    if (v !== undefined) positiveInteger(name, `workgroups[${i}]`, v)
  })
  if (spec.dispatchesPerRun !== undefined) positiveInteger(name, 'dispatchesPerRun', spec.dispatchesPerRun, 1_000_000)
  count(name, 'flops', spec.flops)
  count(name, 'bytes', spec.bytes)
  if (spec.check !== undefined && typeof spec.check !== 'function') fail(name, `'check' must be a function`)
  return Object.freeze({
    kind: 'custom',
    backend: 'webgpu',
    name,
    ...(spec.flops !== undefined && { flops: spec.flops }),
    ...(spec.bytes !== undefined && { bytes: spec.bytes }),
    spec,
  })
}

export function isWebgpuKernel(target: Target): target is WebgpuKernelTarget {
  return (
    target.kind === 'custom' &&
    target.backend === 'webgpu' &&
    typeof target.spec === 'object' &&
    target.spec !== null &&
    typeof (target.spec as { wgsl?: unknown }).wgsl === 'string'
  )
}

export function kernelNeedsF16(spec: WebgpuKernelSpec): boolean {
  return spec.f16 ?? /\benable\s+f16\s*;/.test(spec.wgsl)
}

function initialBytes(b: WebgpuKernelBinding): Uint8Array | undefined {
  if (b.init === undefined) return undefined
  if (typeof b.init === 'function') {
    const bytes = new Uint8Array(b.sizeBytes)
    b.init(bytes)
    return bytes
  }
  return bytesOf(b.init)
}

function buffersOfKernel(spec: WebgpuKernelSpec): PlanBuffer[] {
  return spec.bindings.map((b, i) => {
    const init = initialBytes(b)
    return { name: bindingName(b, i), sizeBytes: b.sizeBytes, kind: b.usage ?? 'storage', ...(init && { init }) }
  })
}

export function planOfKernel(spec: WebgpuKernelSpec): Plan {
  const buffers = buffersOfKernel(spec)
  return {
    label: spec.name,
    f16: kernelNeedsF16(spec),
    buffers,
    programs: [
      {
        label: spec.name,
        wgsl: spec.wgsl,
        entryPoint: spec.entryPoint ?? 'main',
        ...(spec.constants && { constants: spec.constants }),
        bindings: buffers.map((b) => b.name),
      },
    ],
    dispatches: [{ program: 0, workgroups: workgroupsOf(spec) }],
    repeat: spec.dispatchesPerRun ?? 1,
  }
}

/**
 * Verifies a user kernel with its `check` hook: every buffer is reset to its initial contents,
 * the kernel runs once, and the read-write buffers are handed to `check`. In the report,
 * `checked` counts the buffers handed over, `scanned` their bytes; the scaled-error fields,
 * which belong to core's float64 comparison, are 0 when the check passed and Infinity when not.
 * Without a hook there is nothing to compare with, and verify() says so instead of passing.
 */
export function kernelVerifier(spec: WebgpuKernelSpec): Verifier {
  return async (runnable) => {
    const check = spec.check
    if (!check) {
      throw new BackendError(
        `webgpuKernel '${spec.name}': verify() needs a check(readback) hook in the spec; none was given`,
        'webgpu',
        runnable.device.id,
      )
    }
    const buffers = buffersOfKernel(spec)
    for (const b of buffers) await runnable.upload(b.name, b.init ?? new Uint8Array(b.sizeBytes))
    await runnable.runOnce()
    // Keys are the user's binding names: with a null prototype, one named '__proto__' is a buffer like any other.
    const readback: Record<string, ArrayBuffer> = Object.create(null)
    let scanned = 0
    for (const b of buffers) {
      if (b.kind !== 'storage') continue
      readback[b.name] = await runnable.readback(b.name)
      scanned += b.sizeBytes
    }
    let failure: string | undefined
    try {
      const verdict = await check(readback)
      if (verdict === false) failure = 'check() returned false'
      else if (typeof verdict === 'string') failure = verdict
    } catch (error) {
      failure = `check() threw: ${error instanceof Error ? error.message : String(error)}`
    }
    const report: VerifyReport = {
      ok: failure === undefined,
      checked: Object.keys(readback).length,
      scanned,
      maxScaledError: failure === undefined ? 0 : Number.POSITIVE_INFINITY,
      tolerance: 0,
      seed: 0,
      ...(failure !== undefined && { failure: `${spec.name}: ${failure}` }),
    }
    return report
  }
}
