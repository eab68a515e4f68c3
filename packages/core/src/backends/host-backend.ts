/**
 * The host backend: measures a plain JavaScript function (sync or async) with a steady clock, so
 * that JS code can be asserted on exactly like a kernel.
 *
 * Timing uses a tinybench timestamp provider (process.hrtime.bigint() under Node by default),
 * with the difference taken in the provider's own type before conversion, so nanoseconds stay
 * exact. A single call of a tiny function is shorter than the clock's resolution and overhead,
 * so each sample times `callsPerSample` back-to-back calls and reports the time per call; that
 * count is chosen once, on the first run, as the smallest power of two whose calls span at
 * least MIN_SAMPLE_SPAN_TIMER_CALLS times the clock's measured overhead (tinybench's
 * calibrateTimerOverhead) and at least 1 µs, so the clock's cost is under 1% of a sample. It is
 * reported in the runnable's notes. An async function is awaited inside the timed span, so the
 * cost of a promise turn is part of what is measured.
 */
import { calibrateTimerOverhead, hrtimeNowTimestampProvider, type TimestampProvider } from 'tinybench'
import {
  type Backend,
  BackendError,
  BackendUnavailableError,
  type DeviceDescription,
  type HostFunctionTarget,
  messageOf,
  type Probe,
  type Runnable,
  type Target,
} from '../backend.ts'
import { cpuDeviceDescription, type HostInfo, hostInfo } from '../device.ts'
import type { VerifyReport } from '../reference.ts'
import { isWorkload } from '../workloads.ts'

/** Why the host backend refuses a core workload. */
export const HOST_WORKLOAD_REASON =
  'the host backend measures JavaScript functions; run workloads on cpu, cuda, metal or webgpu'

/** A sample spans at least this many times the clock's overhead (so the overhead is under 1%). */
export const MIN_SAMPLE_SPAN_TIMER_CALLS = 100
/** A sample spans at least this long, whatever the clock's overhead. */
export const MIN_SAMPLE_SPAN_NS = 1000
/** Upper bound on calls per sample (a function that returns in well under a ns is not being measured). */
export const MAX_CALLS_PER_SAMPLE = 2 ** 24

export interface HostBackendOptions {
  /** The host's facts; device.ts's cached hostInfo() by default. Tests substitute their own. */
  hostInfo?: () => Promise<HostInfo>
  /** The clock; tinybench's hrtimeNowTimestampProvider by default. */
  timestampProvider?: TimestampProvider
}

/** A host backend with its sources of facts and time injected (the exported `hostBackend` uses the defaults). */
export function createHostBackend(options: HostBackendOptions = {}): Backend {
  const info = options.hostInfo ?? hostInfo
  const clock = options.timestampProvider ?? hrtimeNowTimestampProvider
  let probed: Promise<Probe> | undefined
  let overheadNs: number | undefined

  const probe = (): Promise<Probe> => {
    probed ??= (async (): Promise<Probe> => {
      try {
        const facts = await info()
        const base = cpuDeviceDescription(facts, 'host')
        const device: DeviceDescription = {
          ...base,
          details: { ...base.details, runtime: runtimeName(), clock: String(clock.name) },
        }
        return { available: true, device }
      } catch (error) {
        return { available: false, reason: `host: the host's facts could not be read: ${messageOf(error)}` }
      }
    })()
    return probed
  }

  const supports = (target: Target): true | string => {
    if (isWorkload(target)) return HOST_WORKLOAD_REASON
    if (typeof target !== 'object' || target === null) return 'host: the target is not an object'
    if (target.kind === 'function') {
      return typeof target.fn === 'function' ? true : `host: target '${target.name}' has no function to call`
    }
    if (target.kind === 'custom') {
      return `the host backend measures JavaScript functions; '${target.name}' is a ${target.backend} target`
    }
    return `host: unknown target kind ${JSON.stringify((target as { kind?: unknown }).kind)}`
  }

  const prepare = async (target: Target): Promise<Runnable> => {
    const supported = supports(target)
    if (supported !== true) throw new BackendError(supported, 'host')
    const result = await probe()
    if (!result.available) throw new BackendUnavailableError(result.reason, 'host')
    overheadNs ??= calibrateTimerOverhead(clock) * 1e6
    return new HostRunnable(target as HostFunctionTarget, result.device, clock, overheadNs)
  }

  return { kind: 'host', probe, supports, prepare }
}

/** The host backend: kind 'host', HostFunctionTarget only, timing 'steady-clock'. */
export const hostBackend: Backend = createHostBackend()

/** A JavaScript function as a target of the host backend; counts (per call) let throughput be asserted. */
export function hostFunction(
  name: string,
  fn: () => unknown,
  counts: { flops?: number; bytes?: number } = {},
): HostFunctionTarget {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TypeError(`hostFunction: 'name' must be a non-empty string, got ${JSON.stringify(name)}`)
  }
  if (typeof fn !== 'function') throw new TypeError(`hostFunction '${name}': 'fn' must be a function, got ${typeof fn}`)
  if (typeof counts !== 'object' || counts === null) {
    throw new TypeError(`hostFunction '${name}': 'counts' must be an object such as { flops: 1e6 }`)
  }
  const target: { kind: 'function'; name: string; fn: () => unknown; flops?: number; bytes?: number } = {
    kind: 'function',
    name,
    fn,
  }
  for (const field of ['flops', 'bytes'] as const) {
    const value: unknown = counts[field]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new TypeError(`hostFunction '${name}': '${field}' must be a finite number >= 0, got ${String(value)}`)
    }
    target[field] = value
  }
  return Object.freeze(target)
}

/** Keeps return values alive so that no call can be optimised away. */
// biome-ignore lint/correctness/noUnusedVariables: written, never read, on purpose: a value that escapes cannot be dead code
let sink: unknown

class HostRunnable implements Runnable {
  readonly target: HostFunctionTarget
  readonly device: DeviceDescription
  readonly timing = 'steady-clock' as const
  readonly #clock: TimestampProvider
  readonly #overheadNs: number
  #callsPerSample: number | undefined
  #disposed = false
  #notes: string[]

  constructor(target: HostFunctionTarget, device: DeviceDescription, clock: TimestampProvider, overheadNs: number) {
    this.target = target
    this.device = device
    this.#clock = clock
    this.#overheadNs = overheadNs
    this.#notes = [`steady-clock: ${String(clock.name)}, overhead about ${overheadNs.toFixed(0)} ns per reading`]
  }

  get notes(): readonly string[] {
    return this.#notes
  }

  async cold(): Promise<number> {
    this.#check('cold')
    const t0 = this.#clock.fn()
    await this.#call('cold')
    return this.#positive(this.#elapsedNs(t0), 1, 'cold')
  }

  async run(n: number): Promise<number[]> {
    this.#check('run')
    if (!Number.isInteger(n) || n < 1) {
      throw new BackendError(`host: run(n) needs an integer n >= 1, got ${n}`, 'host', this.device.id)
    }
    const calls = this.#callsPerSample ?? (await this.#calibrate())
    const out = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const t0 = this.#clock.fn()
      for (let c = 0; c < calls; c++) {
        const pending = this.#call('run')
        if (pending) await pending
      }
      out[i] = this.#positive(this.#elapsedNs(t0), calls, 'run') / calls
    }
    return out
  }

  /** Calls the function once and reports whether it completed: a JS function has no float64 reference to compare with. */
  async verify(): Promise<VerifyReport> {
    this.#check('verify')
    const base = { checked: 0, scanned: 0, maxScaledError: 0, tolerance: 0, seed: 0 }
    try {
      await this.#call('verify')
      return { ok: true, ...base }
    } catch (error) {
      return { ok: false, ...base, failure: messageOf(error) }
    }
  }

  async dispose(): Promise<void> {
    this.#disposed = true
  }

  /**
   * Chooses callsPerSample (see the module's comment) after a short warm-up; the calls made
   * here also serve as warm-up for the measurement. A count is accepted when three timings in a row span at least the minimum (one slow
   * first call, still compiling, must not decide it), or at once when one timing spans 1 ms,
   * which no clock's overhead explains, so a slow function is not called more than needed.
   */
  async #calibrate(): Promise<number> {
    const minSpanNs = Math.max(MIN_SAMPLE_SPAN_NS, MIN_SAMPLE_SPAN_TIMER_CALLS * this.#overheadNs)
    // Warm-up first, so that the count is chosen for the compiled function: up to 10 000 calls or 5 ms.
    const warmStart = this.#clock.fn()
    for (let c = 0; c < 10_000 && this.#elapsedNs(warmStart) < 5e6; c++) {
      const pending = this.#call('run')
      if (pending) await pending
    }
    let calls = 1
    calibrating: for (;;) {
      for (let rep = 0; rep < 3; rep++) {
        const t0 = this.#clock.fn()
        for (let c = 0; c < calls; c++) {
          const pending = this.#call('run')
          if (pending) await pending
        }
        const spanNs = this.#elapsedNs(t0)
        if (spanNs >= 1e6) break calibrating
        if (spanNs < minSpanNs) {
          if (calls >= MAX_CALLS_PER_SAMPLE) break calibrating
          calls *= 2
          continue calibrating
        }
      }
      break
    }
    this.#callsPerSample = calls
    if (calls > 1) {
      this.#notes.push(`each sample times ${calls} back-to-back calls and reports the time per call`)
    }
    return calls
  }

  /**
   * Calls the function. Returns a promise to await when it returned a promise (or any thenable),
   * else undefined: a sync function is never awaited, since a microtask turn per call would be
   * measured with it.
   */
  #call(phase: string): Promise<void> | undefined {
    let result: unknown
    try {
      result = this.target.fn()
    } catch (error) {
      throw this.#threw(phase, error)
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => {
          sink = value
        },
        (error: unknown) => {
          throw this.#threw(phase, error)
        },
      )
    }
    sink = result
    return undefined
  }

  #elapsedNs(t0: bigint | number): number {
    const t1 = this.#clock.fn()
    const delta = typeof t0 === 'bigint' && typeof t1 === 'bigint' ? t1 - t0 : Number(t1) - Number(t0)
    return typeof delta === 'bigint' && this.#clock === hrtimeNowTimestampProvider
      ? Number(delta)
      : this.#clock.toMs(delta) * 1e6
  }

  #positive(spanNs: number, calls: number, phase: string): number {
    if (!(spanNs > 0)) {
      throw new BackendError(
        `host: the clock (${String(this.#clock.name)}) did not advance over ${calls} call(s) of '${this.target.name}' during ${phase}; its resolution is too coarse`,
        'host',
        this.device.id,
      )
    }
    return spanNs
  }

  #threw(phase: string, error: unknown): BackendError {
    const wrapped = new BackendError(
      `host: function '${this.target.name}' threw during ${phase}: ${messageOf(error)}`,
      'host',
      this.device.id,
    )
    wrapped.cause = error
    return wrapped
  }

  #check(method: string): void {
    if (this.#disposed) {
      throw new BackendError(`host: ${method}() on '${this.target.name}' after dispose()`, 'host', this.device.id)
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function runtimeName(): string {
  return `node ${process.versions.node}`
}
