/**
 * The caller's side of a device process (a backend's device work in a child process, see
 * serve.ts): starts it, sends it operations, and kills it when it cannot answer.
 *
 * A request ends in one of three ways: the answer; the process's own report that a wait on the
 * device timed out (`hung`), after which the process is killed with SIGKILL because its queue may
 * never drain; or silence: no answer and no heartbeat for the timeout plus SILENCE_GRACE_MS (the
 * process is blocked in native code: a kernel that does not return, or a driver call that never
 * ends), and it is killed too. Either way the request fails with a BackendError that says what
 * timed out, and the backend starts a fresh process for the next benchmark. So a benchmark whose
 * kernel never ends fails within its timeout plus SILENCE_GRACE_MS at most.
 *
 * The process is unreferenced while no request is pending, so it never keeps the caller alive;
 * it kills itself when the caller goes away (IPC disconnect).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BackendError, type BackendKind } from '../backend.ts'
import {
  type AnyOperation,
  type DeviceOperation,
  type DeviceRequest,
  HEARTBEAT_MS,
  type ProcessMessage,
  type Reply,
  SILENCE_GRACE_MS,
} from './protocol.ts'

/** Node's timers hold at most 2^31 - 1 ms; a longer delay fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** What a backend's device process is. */
export interface DeviceProcessSpec {
  /** The backend whose work it does; errors carry it. */
  readonly backend: BackendKind
  /** How messages name the backend: "the WebGPU device process ...". */
  readonly name: string
  /** The process's module (an absolute path; see `moduleBeside`). */
  readonly entry: string
  /** Its arguments. */
  readonly args: readonly string[]
  /** How long a request may go without a word from the process (answer or heartbeat) before SILENCE_GRACE_MS more and the kill. */
  readonly timeoutMs: number
  /** Lines of the process's stderr to drop (known noise of a driver); the rest pass through. */
  readonly dropStderr?: (line: string) => boolean
}

/**
 * The path of a module beside `importMetaUrl`'s, with that file's extension (.ts in a workspace
 * that runs its sources, .js when built): `moduleBeside(import.meta.url, './device-process')`.
 */
export function moduleBeside(importMetaUrl: string, relative: string): string {
  return fileURLToPath(new URL(`${relative}${extname(fileURLToPath(importMetaUrl))}`, importMetaUrl))
}

/**
 * The caller's flags the process keeps: only those that let Node load TypeScript sources (the
 * workspace on a Node that needs them) and quiet its warning about them; never a test runner's
 * loaders or an inspector's port.
 */
export function childExecArgv(entry: string, execArgv: readonly string[]): string[] {
  if (!entry.endsWith('.ts')) return []
  return execArgv.filter((flag) => /^--(experimental-(strip|transform)-types|no-warnings)$/.test(flag))
}

/** Lines kept from the process's stderr, to explain a crash. */
const STDERR_LINES_KEPT = 20

/** Processes not yet ended, so a backend's shutdown can stop them all. */
const running = new Set<DeviceProcess<DeviceOperation, Record<string, unknown>>>()

/** Kills every device process of `backend` (all of them when omitted). */
export function stopDeviceProcesses(backend?: BackendKind): void {
  for (const p of [...running])
    if (backend === undefined || p.backend === backend) p.kill(`the ${p.name} backend was shut down`)
}

/** Splits a stream's chunks into lines; `flush` hands over an unterminated last line. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let rest = ''
  return {
    push(chunk) {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    },
    flush() {
      if (rest !== '') onLine(rest)
      rest = ''
    },
  }
}

interface Pending {
  readonly op: string
  readonly what: string
  readonly resolve: (reply: Extract<Reply, { ok: true }>) => void
  readonly reject: (error: BackendError) => void
}

export interface Answer<T> {
  readonly value: T
  readonly notes: readonly string[] | undefined
}

/**
 * One device process. `Op` is the union of the backend's operations, `R` what each answers by
 * name.
 */
export class DeviceProcess<Op extends DeviceOperation, R extends { readonly [K in Op['op']]: unknown }> {
  readonly backend: BackendKind
  readonly name: string
  readonly #child: ChildProcess
  readonly #timeoutMs: number
  readonly #silenceLimitMs: number
  readonly #pending = new Map<number, Pending>()
  readonly #queued: DeviceRequest[] = []
  readonly #stderrTail: string[] = []
  readonly #afterExit: Array<() => void> = []
  readonly #startedAt = performance.now()
  #nextId = 1
  #ready = false
  #readyMs: number | undefined
  #lastHeard = performance.now()
  #watch: NodeJS.Timeout | undefined
  #ended: string | undefined
  #retired: string | undefined
  /** Runnables prepared here and not yet disposed. */
  #runnables = 0
  #deviceId: string | undefined

  private constructor(spec: DeviceProcessSpec) {
    this.backend = spec.backend
    this.name = spec.name
    this.#timeoutMs = spec.timeoutMs
    this.#silenceLimitMs = Math.min(MAX_TIMER_MS, spec.timeoutMs + SILENCE_GRACE_MS)
    this.#child = fork(spec.entry, [...spec.args], {
      execArgv: childExecArgv(spec.entry, process.execArgv),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    running.add(this as DeviceProcess<DeviceOperation, Record<string, unknown>>)
    const stderr = lineSplitter((line) => {
      if (spec.dropStderr?.(line)) return
      this.#stderrTail.push(line)
      if (this.#stderrTail.length > STDERR_LINES_KEPT) this.#stderrTail.shift()
      process.stderr.write(`${line}\n`)
    })
    this.#child.stderr?.setEncoding('utf8')
    this.#child.stderr?.on('data', (chunk: string) => stderr.push(chunk))
    this.#child.stderr?.on('end', () => stderr.flush())
    this.#child.on('message', (message: ProcessMessage) => this.#receive(message))
    this.#child.on('error', (error) => this.#end(`the ${this.name} device process failed: ${error.message}`))
    this.#child.on('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      const tail = this.#stderrTail.length > 0 ? `; its last stderr lines:\n${this.#stderrTail.join('\n')}` : ''
      this.#end(`the ${this.name} device process ${how}${tail}`)
    })
    this.#reference()
  }

  /** Starts a device process. */
  static start<Op extends DeviceOperation, R extends { readonly [K in Op['op']]: unknown }>(
    spec: DeviceProcessSpec,
  ): DeviceProcess<Op, R> {
    return new DeviceProcess<Op, R>(spec)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Milliseconds from the start to the process's first message (modules loaded); undefined before. */
  get readyMs(): number | undefined {
    return this.#readyMs
  }

  /** Why the process ended; undefined while it runs. */
  get ended(): string | undefined {
    return this.#ended
  }

  /** Whether a request is waiting for its answer. */
  get busy(): boolean {
    return this.#pending.size > 0
  }

  /**
   * Takes the process out of service: no new runnables go to it (the caller starts another), and
   * it is killed once nothing is pending and every runnable of it is disposed, or earlier for a
   * hung kernel. For work abandoned by its caller (a test runner's own timeout ended the test
   * while a kernel still ran), so the next benchmark never shares this process and is never
   * killed with it.
   */
  retire(reason: string): void {
    this.#retired ??= reason
    this.#killIfRetiredAndIdle()
  }

  #killIfRetiredAndIdle(): void {
    if (this.#retired !== undefined && this.#pending.size === 0 && this.#runnables === 0) this.kill(this.#retired)
  }

  /** Sends an operation; resolves with its answer, rejects with a BackendError naming `what`. */
  request<K extends Op['op']>(operation: Extract<Op, { op: K }>, what: string): Promise<Answer<R[K]>> {
    return this.send(operation as DeviceOperation as AnyOperation, what) as Promise<Answer<R[K]>>
  }

  /** `request` without the types: for code that serves several backends' operations (remote-runnable.ts). */
  send(operation: AnyOperation, what: string): Promise<Answer<unknown>> {
    if (this.#ended !== undefined) {
      return Promise.reject(this.#error(`${what}: ${this.#ended}`))
    }
    const id = this.#nextId++
    const request: DeviceRequest = { ...operation, id }
    if (operation.op === 'dispose') this.#runnables -= 1
    const answer = new Promise<Extract<Reply, { ok: true }>>((resolve, reject) => {
      this.#pending.set(id, { op: operation.op, what, resolve, reject })
    })
    if (this.#pending.size === 1) this.#lastHeard = performance.now() // silence counts from the first pending request
    this.#reference()
    if (this.#ready) this.#child.send(request)
    else this.#queued.push(request)
    return answer.then((reply) => ({ value: reply.value, notes: reply.notes }))
  }

  /** Kills the process (SIGKILL); pending requests fail with `reason`. */
  kill(reason: string): void {
    if (this.#ended !== undefined) return
    this.#ended = reason
    this.#child.kill('SIGKILL')
    // The 'exit' event settles the pending requests once the process is gone (its threads stopped).
  }

  #error(message: string): BackendError {
    const prefix =
      this.#deviceId !== undefined && !message.startsWith(`${this.backend} `)
        ? `${this.backend} ${this.#deviceId}: `
        : ''
    return new BackendError(`${prefix}${message}`, this.backend, this.#deviceId)
  }

  #receive(message: ProcessMessage): void {
    this.#lastHeard = performance.now()
    if ('heartbeat' in message) return
    if ('ready' in message) {
      this.#ready = true
      this.#readyMs = performance.now() - this.#startedAt
      for (const request of this.#queued.splice(0)) this.#child.send(request)
      return
    }
    const pending = this.#pending.get(message.id)
    if (!pending) return
    this.#pending.delete(message.id)
    this.#reference()
    if (message.ok && pending.op === 'prepare') this.#runnables += 1
    this.#killIfRetiredAndIdle()
    if (message.ok) {
      pending.resolve(message)
      return
    }
    if (message.error.deviceId !== undefined) this.#deviceId = message.error.deviceId
    if (message.hung) {
      const reason = `${message.error.message}; its device process was killed (SIGKILL) so the run can go on, and a fresh one starts for the next benchmark`
      // Settled once the process is gone, so the next benchmark never shares the cores with this kernel.
      this.#afterExit.push(() => pending.reject(this.#error(reason)))
      this.kill(reason)
      this.#reference()
      return
    }
    pending.reject(this.#error(`${message.error.message}`))
  }

  #end(reason: string): void {
    this.#ended ??= reason
    running.delete(this as DeviceProcess<DeviceOperation, Record<string, unknown>>)
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id)
      pending.reject(this.#error(`${pending.what}: ${this.#ended}`))
    }
    this.#queued.length = 0
    for (const settle of this.#afterExit.splice(0)) settle()
    this.#reference()
  }

  /** Keeps the caller alive (and watches for silence) only while a request is pending or a failure awaits the exit. */
  #reference(): void {
    const waiting = this.#pending.size > 0 || this.#afterExit.length > 0
    const handles = [this.#child, this.#child.channel, this.#child.stderr] as const
    for (const handle of handles) {
      const h = handle as { ref?: () => void; unref?: () => void } | null | undefined
      if (waiting) h?.ref?.()
      else h?.unref?.()
    }
    const watching = this.#pending.size > 0 && this.#ended === undefined
    if (watching && !this.#watch) {
      this.#watch = setInterval(() => this.#checkSilence(), HEARTBEAT_MS)
      this.#watch.unref()
    } else if (!watching) {
      this.#stopWatch()
    }
  }

  #stopWatch(): void {
    if (this.#watch) clearInterval(this.#watch)
    this.#watch = undefined
  }

  #checkSilence(): void {
    const silentMs = performance.now() - this.#lastHeard
    if (silentMs <= this.#silenceLimitMs) return
    this.kill(
      `the ${this.name} device process stopped answering for ${Math.round(silentMs)} ms (timeout ${this.#timeoutMs} ms plus ${SILENCE_GRACE_MS} ms grace); it was killed (SIGKILL) so the run can go on, and a fresh one starts for the next benchmark`,
    )
  }
}
