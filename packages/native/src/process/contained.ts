/**
 * Native device work in a device process (isolation 'process', the default): the CPU, CUDA and
 * Metal backends' kernels run in a child process of the caller (native-process.ts), started on
 * the first probe and kept for the benchmarks that follow. Each call into the device (a cold run,
 * one batch of samples, a verification) that has not answered within `timeoutMs` (default 60 s,
 * GPUBENCH_NATIVE_TIMEOUT_MS) plus core's SILENCE_GRACE_MS ends its benchmark with an error that
 * says so: the process is killed (SIGKILL ends a kernel stuck in a driver call or spinning on
 * every core, which nothing inside the process could stop) and the next benchmark gets a fresh
 * one. A native call holds the process's only JavaScript thread, so it sends no heartbeat: the
 * limit bounds each call, not the silence between calls.
 *
 * Cost: a fresh process is a Node start, the addon's load (checked in a child of its own first,
 * see load.ts) and the device's set-up; each call is one IPC round trip. Durations are measured
 * inside the process (steady clock, CUDA events, Metal command buffers), so the round trip is
 * never in them. Isolation 'none' runs the kernels in the calling process, where a kernel that
 * never returns hangs the caller.
 */
import {
  type Backend,
  BackendError,
  BackendUnavailableError,
  type DeviceDescription,
  DeviceProcess,
  type DeviceProcessInfo,
  DeviceProcessSlot,
  type DurationNs,
  describeWorkload,
  isWorkload,
  MAX_TIMER_MS,
  messageOf,
  moduleBeside,
  type Prepared,
  type Probe,
  type RemoteChannel,
  RemoteRunnable,
  type Runnable,
  type RunnableOperation,
  type RunnableResults,
  type Target,
  type TimingMethod,
  type TrainStepRecord,
  type TrainWorkload,
  trainWorkloadOf,
} from '@gpubench/core'
import type { NativeBackendKind } from '../addon-types.ts'

export const ENV_NATIVE_ISOLATION = 'GPUBENCH_NATIVE_ISOLATION'
export const ENV_NATIVE_TIMEOUT_MS = 'GPUBENCH_NATIVE_TIMEOUT_MS'
export const DEFAULT_NATIVE_TIMEOUT_MS = 60_000
export const NATIVE_ISOLATIONS = ['process', 'none'] as const
export type NativeIsolation = (typeof NATIVE_ISOLATIONS)[number]

/** Where a native backend's kernels run, and how long one call into the device may take. */
export interface IsolationOptions {
  /** 'process' (default, else $GPUBENCH_NATIVE_ISOLATION): in a device process, killed when a call outlasts `timeoutMs`; 'none': in this process. */
  readonly isolation?: NativeIsolation
  /** Upper bound of one call into the device in a device process, in ms; default $GPUBENCH_NATIVE_TIMEOUT_MS, else 60 s. */
  readonly timeoutMs?: number
}

/** What a device process is started with: its backend and that backend's own options (JSON). */
export interface NativeStart {
  readonly backend: NativeBackendKind
  readonly options: Readonly<Record<string, unknown>>
}

export type NativeOperation =
  | RunnableOperation
  | { readonly op: 'probe' }
  | { readonly op: 'prepare'; readonly target: Target }
  /** A training runnable's step records from index `from` on (core's TrainingRunnable.records). */
  | { readonly op: 'records'; readonly handle: number; readonly from: number }
  /** n more training steps, answered with their records (TrainingRunnable.steps). */
  | { readonly op: 'steps'; readonly handle: number; readonly n: number }

export interface NativeResults extends RunnableResults {
  probe: Probe
  prepare: { handle: number; timing: TimingMethod; notes: readonly string[] }
  records: TrainStepRecord[]
  steps: TrainStepRecord[]
}

/**
 * A training step in a device process, with what core's TrainingRunnable offers besides a
 * Runnable: every step's record (`records`, cold first, fetched after each call) and `steps(n)`
 * for a longer series.
 */
export class RemoteTrainingRunnable extends RemoteRunnable {
  readonly workload: TrainWorkload
  /** Every step measured so far, cold first. */
  readonly records: TrainStepRecord[] = []

  constructor(channel: RemoteChannel, handle: number, prepared: Prepared, label: string, workload: TrainWorkload) {
    super(channel, handle, prepared, label)
    this.workload = workload
  }

  async #fetch(): Promise<void> {
    const more = await this.call<TrainStepRecord[]>(
      { op: 'records', handle: this.handle, from: this.records.length },
      'its step records',
    )
    this.records.push(...more)
  }

  override async cold(): Promise<DurationNs> {
    const duration = await super.cold()
    await this.#fetch()
    return duration
  }

  override async run(n: number): Promise<DurationNs[]> {
    const durations = await super.run(n)
    await this.#fetch()
    return durations
  }

  /** n more steps, returning their records (for a series over a longer run). */
  async steps(n: number): Promise<TrainStepRecord[]> {
    const more = await this.call<TrainStepRecord[]>({ op: 'steps', handle: this.handle, n }, 'steps()')
    this.records.push(...more)
    return more
  }
}

const ENTRY = moduleBeside(import.meta.url, './native-process')

function fromEnv(name: string): string | undefined {
  const value = process.env[name]
  return value === undefined || value === '' ? undefined : value
}

/** The isolation and the timeout, from the options, else the environment; a bad value is an error naming its source. */
export function resolveIsolation(
  backend: NativeBackendKind,
  options: IsolationOptions,
): { isolation: NativeIsolation; timeoutMs: number } {
  const envIsolation = fromEnv(ENV_NATIVE_ISOLATION)
  const isolation: unknown = options.isolation ?? envIsolation ?? 'process'
  if (!(NATIVE_ISOLATIONS as readonly unknown[]).includes(isolation)) {
    const source = options.isolation !== undefined ? `${backend} option 'isolation'` : `$${ENV_NATIVE_ISOLATION}`
    throw new BackendError(
      `${source} must be one of ${NATIVE_ISOLATIONS.join(', ')}, got ${JSON.stringify(isolation)}`,
      backend,
    )
  }
  const envTimeout = fromEnv(ENV_NATIVE_TIMEOUT_MS)
  const timeout: unknown =
    options.timeoutMs ?? (envTimeout === undefined ? DEFAULT_NATIVE_TIMEOUT_MS : Number(envTimeout))
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_TIMER_MS) {
    const source = options.timeoutMs !== undefined ? `${backend} option 'timeoutMs'` : `$${ENV_NATIVE_TIMEOUT_MS}`
    const shown = options.timeoutMs !== undefined ? JSON.stringify(options.timeoutMs) : JSON.stringify(envTimeout)
    throw new BackendError(
      `${source} must be a positive number of milliseconds up to ${MAX_TIMER_MS} (Node's timer range), got ${shown}`,
      backend,
    )
  }
  return { isolation: isolation as NativeIsolation, timeoutMs: timeout }
}

const NAMES: Record<NativeBackendKind, string> = { cpu: 'CPU', cuda: 'CUDA', metal: 'Metal' }

/** The label of a target in messages: the workload as core describes it, else its name. */
function labelOf(target: Target): string {
  if (isWorkload(target)) {
    try {
      return describeWorkload(target)
    } catch {
      // a malformed workload: the process names its fault
    }
  }
  return String((target as { name?: unknown }).name ?? 'target')
}

/** The training workload of a training target (the device process has accepted it); null for any other target. */
function trainingWorkloadOf(target: Target): TrainWorkload | null {
  try {
    return trainWorkloadOf(target)
  } catch {
    return null
  }
}

/** A backend whose `supports` uses the device's description (its memory), told of it when another process probed. */
export interface ProbeListener {
  noteProbe(device: DeviceDescription): void
}

/**
 * A native backend with its isolation decided on first use: `inProcess` itself under 'none', or
 * its twin in a device process. `supports` is always answered here (it needs no device).
 */
export class ContainedBackend implements Backend {
  readonly kind: NativeBackendKind
  readonly #inProcess: Backend
  readonly #start: NativeStart
  readonly #requested: IsolationOptions
  #mode: { isolation: NativeIsolation; timeoutMs: number } | { error: string } | undefined
  #slot: DeviceProcessSlot<NativeOperation, NativeResults> | undefined
  #probed: Promise<Probe> | undefined

  constructor(
    inProcess: Backend & { readonly kind: NativeBackendKind },
    start: NativeStart,
    requested: IsolationOptions,
  ) {
    this.kind = inProcess.kind
    this.#inProcess = inProcess
    this.#start = start
    this.#requested = requested
  }

  /** 'process' or 'none', once decided (first probe or prepare); an error when the options are bad. */
  get isolation(): NativeIsolation {
    const mode = this.#resolve()
    if ('error' in mode) throw new BackendError(mode.error, this.kind)
    return mode.isolation
  }

  #resolve(): { isolation: NativeIsolation; timeoutMs: number } | { error: string } {
    if (!this.#mode) {
      try {
        this.#mode = resolveIsolation(this.kind, this.#requested)
      } catch (error) {
        this.#mode = { error: messageOf(error) }
      }
    }
    return this.#mode
  }

  #slotOf(timeoutMs: number): DeviceProcessSlot<NativeOperation, NativeResults> {
    this.#slot ??= new DeviceProcessSlot(() =>
      DeviceProcess.start<NativeOperation, NativeResults>({
        backend: this.kind,
        name: NAMES[this.kind],
        entry: ENTRY,
        args: [JSON.stringify(this.#start)],
        timeoutMs,
      }),
    )
    return this.#slot
  }

  probe(): Promise<Probe> {
    this.#probed ??= this.#probe()
    return this.#probed
  }

  async #probe(): Promise<Probe> {
    const mode = this.#resolve()
    if ('error' in mode) return { available: false, reason: mode.error }
    if (mode.isolation === 'none') return this.#inProcess.probe()
    const slot = this.#slotOf(mode.timeoutMs)
    let probe: Probe
    try {
      probe = (await slot.get().request({ op: 'probe' }, 'probe()')).value
    } catch (error) {
      probe = { available: false, reason: messageOf(error) }
    }
    // A backend this machine lacks (Metal on Linux, CUDA without a driver) keeps no process idle.
    if (!probe.available) slot.shutdown(`the ${NAMES[this.kind]} backend is unavailable: ${probe.reason}`)
    // `supports` is answered here: what it needs of the device (its memory) comes from the child's probe.
    else (this.#inProcess as Partial<ProbeListener>).noteProbe?.(probe.device)
    return probe
  }

  supports(target: Target): true | string {
    return this.#inProcess.supports(target)
  }

  async prepare(target: Target): Promise<Runnable> {
    const mode = this.#resolve()
    if ('error' in mode) throw new BackendUnavailableError(`${this.kind} backend unavailable: ${mode.error}`, this.kind)
    if (mode.isolation === 'none') return this.#inProcess.prepare(target)
    const probe = await this.probe()
    if (!probe.available)
      throw new BackendUnavailableError(`${this.kind} backend unavailable: ${probe.reason}`, this.kind)
    const label = labelOf(target)
    const process = this.#slotOf(mode.timeoutMs).get()
    let value: NativeResults['prepare']
    try {
      value = (await process.request({ op: 'prepare', target }, `${label}: prepare()`)).value
    } catch (error) {
      // Named as the runnable's failures are: the backend, the device, the workload.
      const id = probe.device.id
      if (error instanceof BackendError && !error.message.includes(id)) {
        throw new BackendError(`${this.kind} ${id}: ${error.message}`, this.kind, id)
      }
      throw error
    }
    const prepared = { target, device: probe.device, ...value }
    const training = trainingWorkloadOf(target)
    if (training) return new RemoteTrainingRunnable(process, value.handle, prepared, label, training)
    return new RemoteRunnable(process, value.handle, prepared, label)
  }

  /** The current device process; undefined under isolation 'none', before the first probe and after shutdown. */
  deviceProcess(): DeviceProcessInfo | undefined {
    return this.#slot?.info()
  }

  /** Kills this backend's device processes; a later prepare starts a fresh one (the probe's description is kept). */
  async shutdown(): Promise<void> {
    this.#slot?.shutdown(`the ${NAMES[this.kind]} backend was shut down`)
  }
}
