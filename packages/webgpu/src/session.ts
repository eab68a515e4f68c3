/**
 * A session: one fresh adapter and device, owned by one runnable, with every fault of the device
 * turned into a BackendError that carries Dawn's own message.
 *
 * Why a fresh device per runnable: a WebGPU device that saw an out-of-memory error, a lost event
 * or a timed-out wait is in an unknown state; giving each benchmark its own device means one bad
 * kernel fails its own benchmark and the next one still runs. (A WebGPU adapter creates only one
 * device, so the adapter is requested afresh too; on lavapipe both take about 15 ms.)
 *
 * Invariants: every wait on the device is bounded by `timeoutMs` and races the device's `lost`
 * promise, so a lost or hung device cannot hang a run; once lost or timed out, the session refuses
 * further work with the first reason it saw.
 */
import { BackendError, messageOf } from '@gpubench/core'
import { gpuInstance } from './instance.ts'
import type { ResolvedOptions } from './options.ts'

/** Sessions not yet destroyed, so shutdown can free every device even if a runnable was never disposed. */
const live = new Set<Session>()

/** Destroys every open session's device (see shutdown in webgpu-backend.ts). */
export function destroyAllSessions(): void {
  for (const session of [...live]) session.destroy()
}

/**
 * What a session does with its device when a wait times out. By default it destroys the device,
 * which in Dawn waits for the queue to go idle: with a kernel that never ends, that wait never
 * returns. The device process (process/device-process.ts) replaces this with a handler that
 * leaves the device alone and has the whole process killed instead.
 */
export type TimeoutHandler = (session: Session, message: string) => void

const destroyOnTimeout: TimeoutHandler = (session) => session.device.destroy()
let timeoutHandler: TimeoutHandler = destroyOnTimeout

/** Replaces what sessions do on a timeout (see TimeoutHandler); returns the previous handler. */
export function setTimeoutHandler(handler: TimeoutHandler): TimeoutHandler {
  const previous = timeoutHandler
  timeoutHandler = handler
  return previous
}

export interface SessionNeeds {
  readonly f16: boolean
  readonly timestamps: boolean
}

/** Resolves to `value`, or rejects after `timeoutMs` with a message naming what was awaited. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Requests an adapter with the options' Dawn flags; a missing adapter is an error that names the Dawn backend. */
export async function requestAdapter(options: ResolvedOptions): Promise<GPUAdapter> {
  const gpu = await gpuInstance(options)
  const adapter = await withTimeout(
    gpu.requestAdapter({ powerPreference: options.powerPreference }),
    options.timeoutMs,
    'requestAdapter()',
  )
  if (!adapter) {
    const which = options.adapter ? `, adapter '${options.adapter}'` : ''
    throw new Error(`no WebGPU adapter found (Dawn backend ${options.backend}${which})`)
  }
  return adapter
}

export class Session {
  readonly device: GPUDevice
  readonly deviceId: string
  readonly timeoutMs: number
  /** Whether the device was created with timestamp queries enabled. */
  readonly timestamps: boolean
  #failure: string | undefined
  #uncaptured: string[] = []
  #lost: Promise<never>

  private constructor(device: GPUDevice, deviceId: string, timeoutMs: number, timestamps: boolean) {
    this.device = device
    this.deviceId = deviceId
    this.timeoutMs = timeoutMs
    this.timestamps = timestamps
    // Rejects when the device is lost, unless we destroyed it ourselves; never left unhandled.
    this.#lost = device.lost.then((info) => {
      if (info.reason !== 'destroyed' || this.#failure === undefined) {
        this.#failure ??= `device lost (${info.reason}): ${info.message}`
      }
      throw this.error(this.#failure ?? 'device lost')
    })
    this.#lost.catch(() => {})
    // Errors outside any error scope (should not happen: all work is scoped) are kept, not printed.
    device.addEventListener('uncapturederror', (event) => {
      this.#uncaptured.push((event as GPUUncapturedErrorEvent).error.message)
    })
  }

  /** Opens a fresh adapter and device with the features the work needs and the adapter's largest buffer limits. */
  static async open(options: ResolvedOptions, deviceId: string, needs: SessionNeeds, label: string): Promise<Session> {
    let adapter: GPUAdapter
    try {
      adapter = await requestAdapter(options)
    } catch (error) {
      throw new BackendError(`webgpu ${deviceId}: ${label}: ${messageOf(error)}`, 'webgpu', deviceId)
    }
    if (needs.f16 && !adapter.features.has('shader-f16')) {
      throw new BackendError(
        `webgpu ${deviceId}: ${label} needs the 'shader-f16' feature, which this adapter lacks`,
        'webgpu',
        deviceId,
      )
    }
    const timestamps = options.timestamps && needs.timestamps && adapter.features.has('timestamp-query')
    const requiredFeatures: GPUFeatureName[] = []
    if (needs.f16) requiredFeatures.push('shader-f16')
    if (timestamps) requiredFeatures.push('timestamp-query')
    let device: GPUDevice
    try {
      device = await withTimeout(
        adapter.requestDevice({
          label,
          requiredFeatures,
          requiredLimits: {
            maxBufferSize: adapter.limits.maxBufferSize,
            maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          },
        }),
        options.timeoutMs,
        'requestDevice()',
      )
    } catch (error) {
      throw new BackendError(
        `webgpu ${deviceId}: ${label}: requestDevice failed: ${messageOf(error)}`,
        'webgpu',
        deviceId,
      )
    }
    const session = new Session(device, deviceId, options.timeoutMs, timestamps)
    live.add(session)
    return session
  }

  /** A BackendError naming this device. */
  error(message: string): BackendError {
    return new BackendError(`webgpu ${this.deviceId}: ${message}`, 'webgpu', this.deviceId)
  }

  /** Throws if the device was lost, timed out or destroyed earlier. */
  check(): void {
    if (this.#failure !== undefined) throw this.error(`${this.#failure} (this benchmark cannot continue)`)
  }

  /** Awaits device work, bounded by the timeout and failing fast if the device is lost meanwhile. */
  async wait<T>(promise: Promise<T>, what: string): Promise<T> {
    this.check()
    try {
      return await withTimeout(Promise.race([promise, this.#lost]), this.timeoutMs, what)
    } catch (error) {
      if (error instanceof BackendError) throw error
      const message = messageOf(error)
      if (message.startsWith('timed out')) {
        this.#failure ??= message
        // The device is in an unknown state: nothing may use it again (see TimeoutHandler).
        timeoutHandler(this, message)
        throw this.error(message)
      }
      throw this.error(`${what} failed: ${message}`)
    }
  }

  /**
   * Runs `work` inside validation, out-of-memory and internal error scopes and throws Dawn's
   * message (prefixed with `what`) if any of them caught an error. A thrown exception from `work`
   * is reported too, after the scopes are popped so they stay balanced.
   */
  async scoped<T>(what: string, work: () => T | Promise<T>): Promise<T> {
    this.check()
    const device = this.device
    device.pushErrorScope('internal')
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    let result: T | undefined
    let thrown: unknown
    try {
      result = await work()
    } catch (error) {
      thrown = error
    }
    // A wait inside `work` timed out or the device was lost: the scopes cannot be popped any more.
    if (this.#failure !== undefined) throw thrown instanceof BackendError ? thrown : this.error(this.#failure)
    const caught: string[] = []
    for (const kind of ['validation', 'out-of-memory', 'internal'] as const) {
      const error = await this.wait(device.popErrorScope(), `popErrorScope() after ${what}`)
      if (error) caught.push(`${kind} error: ${error.message.trim()}`)
    }
    // Our own error (e.g. compilation messages with line and column) already says what the scopes caught.
    if (thrown instanceof BackendError) throw thrown
    if (caught.length > 0) throw this.error(`${what}: ${caught.join('; ')}`)
    if (thrown !== undefined) throw this.error(`${what}: ${messageOf(thrown)}`)
    if (this.#uncaptured.length > 0) throw this.error(`${what}: ${this.#uncaptured.splice(0).join('; ')}`)
    return result as T
  }

  /** Whether a wait on this session timed out (its queue may still be busy with the work). */
  get timedOut(): boolean {
    return this.#failure?.startsWith('timed out') === true
  }

  /** Destroys the device (frees its buffers and pipelines). Safe to call twice. */
  destroy(): void {
    this.#failure ??= 'the benchmark was disposed'
    live.delete(this)
    // A device abandoned by the timeout handler stays as it is: destroying it would block on its queue.
    if (this.timedOut && timeoutHandler !== destroyOnTimeout) return
    this.device.destroy()
  }
}

export { messageOf }
