/**
 * The caller's side of a device process (device-process.ts): starts it, sends it operations,
 * and kills it when it cannot answer.
 *
 * A request ends in one of three ways: the answer; the process's own report that a wait on the
 * device timed out (`hung`), after which the process is killed with SIGKILL because its queue may
 * never drain; or silence: no answer and no heartbeat for the timeout plus SILENCE_GRACE_MS (the
 * process is blocked in native code), and it is killed too. Either way the request fails with a
 * BackendError that says what timed out, and the next request starts a fresh process. So a
 * benchmark whose kernel never ends fails within its timeout plus SILENCE_GRACE_MS at most.
 *
 * Cost (measured on a 2-core VM with lavapipe, see the package README): a restart is a new Node
 * process, its modules, Dawn, an adapter and a device, 1-2.6 s there. On the normal path each
 * operation is one IPC round trip, 0.3-1.3 ms of host time per call there (more when the machine
 * is loaded); device timestamps are taken inside the process as before.
 *
 * The process is unreferenced while no request is pending, so it never keeps the caller alive;
 * it kills itself when the caller goes away (IPC disconnect).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BackendError } from '@gpubench/core'
import { MAX_TIMEOUT_MS } from '../options.ts'
import {
  HEARTBEAT_MS,
  type Operation,
  type ProcessMessage,
  type Reply,
  type Request,
  type Results,
  type StartOptions,
} from './protocol.ts'

/** How long a silent process gets beyond the timeout before it is taken for blocked (heartbeats are HEARTBEAT_MS apart). */
export const SILENCE_GRACE_MS = 2_000

/**
 * Dawn prints these two notices to stderr (from native code, with no switch to turn them off)
 * whenever it enumerates a Vulkan adapter: it caps the adapter's dynamic-buffer limits to the
 * 16 its bind groups support. They describe limits no gpubench kernel comes near (gpubench uses
 * no dynamic offsets), so the device process's stderr is filtered of exactly these lines.
 */
export const DAWN_LIMIT_NOTICE =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/

/** The device process's entry, beside this file with the same extension (.ts in the workspace, .js when built). */
const ENTRY = fileURLToPath(new URL(`./device-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

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

/** Processes not yet ended, so shutdown can stop them all. */
const running = new Set<DeviceProcess>()

/** Kills every device process of this package (see shutdownWebgpu). */
export function stopDeviceProcesses(): void {
  for (const p of [...running]) p.kill('the WebGPU backend was shut down')
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
  readonly op: Operation['op']
  readonly what: string
  readonly resolve: (reply: Extract<Reply, { ok: true }>) => void
  readonly reject: (error: BackendError) => void
}

export interface Answer<T> {
  readonly value: T
  readonly notes: readonly string[] | undefined
}

export class DeviceProcess {
  readonly #child: ChildProcess
  readonly #timeoutMs: number
  readonly #silenceLimitMs: number
  readonly #pending = new Map<number, Pending>()
  readonly #queued: Request[] = []
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

  private constructor(options: StartOptions, timeoutMs: number) {
    this.#timeoutMs = timeoutMs
    this.#silenceLimitMs = Math.min(MAX_TIMEOUT_MS, timeoutMs + SILENCE_GRACE_MS)
    this.#child = fork(ENTRY, [JSON.stringify(options)], {
      execArgv: childExecArgv(ENTRY, process.execArgv),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    running.add(this)
    const stderr = lineSplitter((line) => {
      if (DAWN_LIMIT_NOTICE.test(line)) return
      this.#stderrTail.push(line)
      if (this.#stderrTail.length > STDERR_LINES_KEPT) this.#stderrTail.shift()
      process.stderr.write(`${line}\n`)
    })
    this.#child.stderr?.setEncoding('utf8')
    this.#child.stderr?.on('data', (chunk: string) => stderr.push(chunk))
    this.#child.stderr?.on('end', () => stderr.flush())
    this.#child.on('message', (message: ProcessMessage) => this.#receive(message))
    this.#child.on('error', (error) => this.#end(`the WebGPU device process failed: ${error.message}`))
    this.#child.on('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      const tail = this.#stderrTail.length > 0 ? `; its last stderr lines:\n${this.#stderrTail.join('\n')}` : ''
      this.#end(`the WebGPU device process ${how}${tail}`)
    })
    this.#reference()
  }

  /** Starts a device process with these options; `timeoutMs` bounds its silence (plus SILENCE_GRACE_MS). */
  static start(options: StartOptions, timeoutMs: number): DeviceProcess {
    return new DeviceProcess(options, timeoutMs)
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
  request<K extends Operation['op']>(
    operation: Extract<Operation, { op: K }>,
    what: string,
  ): Promise<Answer<Results[K]>> {
    if (this.#ended !== undefined) {
      return Promise.reject(this.#error(`${what}: ${this.#ended}`))
    }
    const id = this.#nextId++
    const request = { ...operation, id } as Request
    if (operation.op === 'dispose') this.#runnables -= 1
    const answer = new Promise<Extract<Reply, { ok: true }>>((resolve, reject) => {
      this.#pending.set(id, { op: operation.op, what, resolve, reject })
    })
    if (this.#pending.size === 1) this.#lastHeard = performance.now() // silence counts from the first pending request
    this.#reference()
    if (this.#ready) this.#child.send(request)
    else this.#queued.push(request)
    return answer.then((reply) => ({ value: reply.value as Results[K], notes: reply.notes }))
  }

  /** Kills the process (SIGKILL); pending requests fail with `reason`. */
  kill(reason: string): void {
    if (this.#ended !== undefined) return
    this.#ended = reason
    this.#child.kill('SIGKILL')
    // The 'exit' event settles the pending requests once the process is gone (its threads stopped).
  }

  #error(message: string): BackendError {
    const prefix = this.#deviceId !== undefined && !message.startsWith('webgpu ') ? `webgpu ${this.#deviceId}: ` : ''
    return new BackendError(`${prefix}${message}`, 'webgpu', this.#deviceId)
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
    running.delete(this)
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
      `the WebGPU device process stopped answering for ${Math.round(silentMs)} ms (timeout ${this.#timeoutMs} ms plus ${SILENCE_GRACE_MS} ms grace); it was killed (SIGKILL) so the run can go on, and a fresh one starts for the next benchmark`,
    )
  }
}
