/**
 * The runnable of a plan on its own session (device): allocation and upload at creation, WGSL
 * checked at creation (compile errors surface with Dawn's messages before anything is timed),
 * pipelines built in the cold run, then timed runs.
 *
 * Timing, 'webgpu-timestamps': each run is one compute pass with timestamp writes at its start
 * and end; up to 2048 runs go back to back into one command buffer and one submission, resolved
 * and read back together. The host clock is read beside it (submit to readback, per run), kept in
 * `hostDurationsNs`. 'host-submit-wait' (no timestamp-query): each run is its own submission,
 * timed on the host from submit to completion, so it includes the submit-and-wait cost; that cost
 * for an empty submission is measured at creation and stated in the notes.
 *
 * Every device operation runs inside error scopes and bounded waits (see session.ts): a
 * validation error, an out-of-memory, a lost device or a hung wait ends in a BackendError with
 * Dawn's message, never a hang or a silent zero.
 */
import {
  type DeviceDescription,
  type DurationNs,
  medianOf,
  type Target,
  type TimingMethod,
  type VerifyReport,
} from '@gpubench/core'
import { align4, BufferUsage, MAX_QUERIES_PER_SET, MapMode, ShaderStage } from './constants.ts'
import type { Plan, PlanBuffer } from './plan.ts'
import type { Session } from './session.ts'
import type { Verifier, WebgpuRunnable } from './webgpu-runnable.ts'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs per submission when timing with timestamps: two queries each fill one query set. */
export const RUNS_PER_SUBMISSION = MAX_QUERIES_PER_SET / 2

/**
 * While a WebGPU promise is pending, Dawn's Node binding polls the device from the main thread
 * without pause: on a software adapter that is one core taken from the rasteriser's own threads
 * (measured on 2 cores: 850 ms of main-thread CPU in a 1.2 s GEMM submission, samples spread
 * 44-88 ms). So after a timed submission the host sleeps through most of the device time the
 * previous submission took, and only then asks for the result. Device timestamps are unaffected
 * by how the host waits; only submissions expected to last longer than SLEEP_MIN_NS sleep, for
 * SLEEP_FRACTION of the expected time.
 */
export const SLEEP_MIN_NS = 2e6
export const SLEEP_FRACTION = 0.85

const EMPTY_SUBMISSIONS_MEASURED = 7

function nowNs(): bigint {
  return process.hrtime.bigint()
}

export class PlanRunnable implements WebgpuRunnable {
  readonly target: Target
  readonly device: DeviceDescription
  readonly timing: TimingMethod
  readonly notes: string[] = []
  /** Host-clock duration per run of the last `run(n)` (submission to readback, divided evenly), beside the device's. */
  hostDurationsNs: DurationNs[] = []
  readonly plan: Plan
  readonly #session: Session
  readonly #verifier: Verifier
  readonly #buffers = new Map<string, GPUBuffer>()
  #modules: GPUShaderModule[] = []
  #layouts: GPUBindGroupLayout[] = []
  #pipelines: GPUComputePipeline[] | undefined
  #bindGroups: GPUBindGroup[] = []
  #querySet: GPUQuerySet | undefined
  #resolveBuffer: GPUBuffer | undefined
  #timestampReadback: GPUBuffer | undefined
  #started = false
  /** Host time per run (all `repeat` repetitions) in the latest submission, for sizing submissions. */
  #recentRunNs: number | undefined
  /** Device time of one run (all its repetitions) in the latest timed submission, from its timestamps. */
  #recentDeviceRunNs: number | undefined
  #disposed = false

  private constructor(session: Session, plan: Plan, target: Target, device: DeviceDescription, verifier: Verifier) {
    this.#session = session
    this.plan = plan
    this.target = target
    this.device = device
    this.#verifier = verifier
    this.timing = session.timestamps ? 'webgpu-timestamps' : 'host-submit-wait'
  }

  /**
   * Allocates and uploads the plan's buffers and checks its WGSL. Owns `session` from here on:
   * on failure the session is destroyed and a BackendError with Dawn's messages is thrown.
   */
  static async create(
    session: Session,
    plan: Plan,
    target: Target,
    device: DeviceDescription,
    verifier: Verifier,
    timingNote: string,
  ): Promise<PlanRunnable> {
    const runnable = new PlanRunnable(session, plan, target, device, verifier)
    try {
      await runnable.#allocate()
      await runnable.#checkShaders()
      await runnable.#describeTiming(timingNote)
    } catch (error) {
      session.destroy()
      throw error
    }
    return runnable
  }

  async #allocate(): Promise<void> {
    const { device } = this.#session
    await this.#session.scoped(`${this.plan.label}: allocating buffers`, () => {
      for (const b of this.plan.buffers) {
        const usage =
          (b.kind === 'uniform' ? BufferUsage.UNIFORM : BufferUsage.STORAGE) |
          BufferUsage.COPY_DST |
          BufferUsage.COPY_SRC
        const buffer = device.createBuffer({ label: b.name, size: align4(Math.max(b.sizeBytes, 4)), usage })
        this.#buffers.set(b.name, buffer)
      }
    })
    await this.#session.scoped(`${this.plan.label}: uploading inputs`, () => {
      for (const b of this.plan.buffers) if (b.init) this.#write(b, b.init)
    })
  }

  #write(b: PlanBuffer, bytes: Uint8Array): void {
    const buffer = this.#buffer(b.name)
    const padded = align4(bytes.byteLength)
    const data = padded === bytes.byteLength ? bytes : new Uint8Array(padded)
    if (data !== bytes) data.set(bytes)
    this.#session.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength)
  }

  #buffer(name: string): GPUBuffer {
    const buffer = this.#buffers.get(name)
    if (!buffer) throw this.#session.error(`${this.plan.label}: no buffer named '${name}'`)
    return buffer
  }

  #spec(name: string): PlanBuffer {
    const spec = this.plan.buffers.find((b) => b.name === name)
    if (!spec) throw this.#session.error(`${this.plan.label}: no buffer named '${name}'`)
    return spec
  }

  /** Parses and validates every program's WGSL; compile errors carry line and column. */
  async #checkShaders(): Promise<void> {
    const { device } = this.#session
    for (const program of this.plan.programs) {
      const module = await this.#session.scoped(`${program.label}: compiling WGSL`, async () => {
        const module = device.createShaderModule({ label: program.label, code: program.wgsl })
        const info = await this.#session.wait(module.getCompilationInfo(), `compilation info of ${program.label}`)
        const errors = info.messages.filter((m) => m.type === 'error')
        if (errors.length > 0) {
          const lines = errors.map((m) => `${program.label}:${m.lineNum}:${m.linePos}: ${m.message}`)
          throw this.#session.error(`WGSL compilation failed:\n${lines.join('\n')}`)
        }
        return module
      })
      this.#modules.push(module)
      const layout = await this.#session.scoped(`${program.label}: bind group layout`, () =>
        device.createBindGroupLayout({
          label: program.label,
          entries: program.bindings.map((name, binding) => ({
            binding,
            visibility: ShaderStage.COMPUTE,
            buffer: { type: this.#spec(name).kind },
          })),
        }),
      )
      this.#layouts.push(layout)
    }
  }

  async #describeTiming(timingNote: string): Promise<void> {
    this.notes.push(...(this.plan.notes ?? []))
    if (this.timing === 'webgpu-timestamps') {
      this.notes.push(
        `webgpu-timestamps: timestamp queries at the start and end of each compute pass (Dawn's quantization disabled); up to ${RUNS_PER_SUBMISSION} runs back to back per submission`,
      )
    } else {
      const costNs = await this.#emptySubmissionNs()
      this.notes.push(
        `host-submit-wait (${timingNote}): each duration includes submitting and waiting for completion; an empty submission costs about ${(costNs / 1e3).toFixed(1)} µs here (median of ${EMPTY_SUBMISSIONS_MEASURED})`,
      )
    }
    if (this.plan.repeat > 1) {
      this.notes.push(
        `each duration is one compute pass of ${this.plan.repeat} dispatches divided by ${this.plan.repeat}`,
      )
    }
    if (this.device.software) {
      this.notes.push(`software adapter (${this.device.name}): kernels run on the CPU; timings say little about a GPU`)
    }
    if (/\bmesa\b/i.test(`${this.device.vendor ?? ''} ${this.device.driver ?? ''}`)) {
      this.notes.push(
        'Mesa keeps compiled shaders in a disk cache: a cold run after the first on this machine skips the JIT unless MESA_SHADER_CACHE_DISABLE=true',
      )
    }
  }

  async #emptySubmissionNs(): Promise<number> {
    const { device } = this.#session
    const costs: number[] = []
    for (let i = 0; i < EMPTY_SUBMISSIONS_MEASURED; i++) {
      const t0 = nowNs()
      device.queue.submit([device.createCommandEncoder().finish()])
      await this.#session.wait(device.queue.onSubmittedWorkDone(), 'an empty submission')
      costs.push(Number(nowNs() - t0))
    }
    return medianOf(costs) ?? 0
  }

  /** Builds pipelines and bind groups (the compile part of the cold run). */
  async #compile(): Promise<void> {
    if (this.#pipelines) return
    const { device } = this.#session
    const pipelines: GPUComputePipeline[] = []
    for (const [i, program] of this.plan.programs.entries()) {
      const module = this.#modules[i]
      const layout = this.#layouts[i]
      if (!module || !layout) throw this.#session.error(`${program.label}: shader module missing`)
      const pipeline = await this.#session.scoped(`${program.label}: creating the compute pipeline`, () =>
        this.#session.wait(
          device.createComputePipelineAsync({
            label: program.label,
            layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
            compute: {
              module,
              entryPoint: program.entryPoint,
              ...(program.constants && { constants: program.constants }),
            },
          }),
          `the compute pipeline of ${program.label}`,
        ),
      )
      pipelines.push(pipeline)
      const bindGroup = await this.#session.scoped(`${program.label}: bind group`, () =>
        device.createBindGroup({
          label: program.label,
          layout,
          entries: program.bindings.map((name, binding) => ({ binding, resource: { buffer: this.#buffer(name) } })),
        }),
      )
      this.#bindGroups.push(bindGroup)
    }
    this.#pipelines = pipelines
  }

  #record(pass: GPUComputePassEncoder, repeat: number): void {
    const pipelines = this.#pipelines
    if (!pipelines) throw this.#session.error(`${this.plan.label}: pipelines not built`)
    for (let r = 0; r < repeat; r++) {
      for (const d of this.plan.dispatches) {
        const pipeline = pipelines[d.program]
        const bindGroup = this.#bindGroups[d.program]
        if (!pipeline || !bindGroup) throw this.#session.error(`${this.plan.label}: no program ${d.program}`)
        pass.setPipeline(pipeline)
        pass.setBindGroup(0, bindGroup)
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2])
      }
    }
  }

  #live(what: string): void {
    if (this.#disposed) throw this.#session.error(`${this.plan.label}: ${what} after dispose()`)
    this.#session.check()
  }

  /** Pipeline creation plus the first submission of one repetition, waited for, on the host clock. */
  async cold(): Promise<DurationNs> {
    this.#live('cold()')
    if (this.#started) throw this.#session.error(`${this.plan.label}: cold() runs once, before run()`)
    this.#started = true
    if (this.#pipelines) {
      this.notes.push('cold() ran after verify(): pipeline creation and the first dispatch had already happened')
    }
    const t0 = nowNs()
    await this.#compile()
    await this.#submitOnce(1, 'the cold run')
    const coldNs = Number(nowNs() - t0)
    this.#observe(coldNs * this.plan.repeat) // the cold run did one repetition; a run does `repeat`
    return coldNs
  }

  async run(n: number): Promise<DurationNs[]> {
    this.#live('run()')
    if (!Number.isInteger(n) || n < 1) throw this.#session.error(`run(n): n must be a positive integer, got ${n}`)
    this.#started = true
    await this.#compile()
    const device: DurationNs[] = []
    const host: DurationNs[] = []
    for (let done = 0; done < n; ) {
      const count = Math.min(this.#runsPerSubmission(), n - done)
      if (this.timing === 'webgpu-timestamps') await this.#timestampRuns(count, device, host)
      else await this.#hostRuns(count, device, host)
      done += count
    }
    this.hostDurationsNs = host
    return device
  }

  /**
   * How many runs one submission may hold: at most RUNS_PER_SUBMISSION, and few enough that the
   * submission should take at most a quarter of the wait timeout (judged from the latest runs,
   * or from the cold run before any), so a slow kernel is never mistaken for a hung device. One
   * run alone when nothing is known yet.
   */
  #runsPerSubmission(): number {
    const perRunNs = this.#recentRunNs
    if (perRunNs === undefined) return 1
    const budgetNs = (this.#session.timeoutMs * 1e6) / 4
    return Math.max(1, Math.min(RUNS_PER_SUBMISSION, Math.floor(budgetNs / Math.max(perRunNs, 1))))
  }

  #observe(perRunNs: number): void {
    this.#recentRunNs = perRunNs
  }

  async #timestampRuns(count: number, device: DurationNs[], host: DurationNs[]): Promise<void> {
    const gpu = this.#session.device
    const label = this.plan.label
    const bytes = 16 * count
    const readback = await this.#session.scoped(`${label}: timed runs`, () => {
      this.#querySet ??= gpu.createQuerySet({ label: 'timestamps', type: 'timestamp', count: MAX_QUERIES_PER_SET })
      this.#resolveBuffer ??= gpu.createBuffer({
        label: 'timestamps resolved',
        size: 8 * MAX_QUERIES_PER_SET,
        usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
      })
      this.#timestampReadback ??= gpu.createBuffer({
        label: 'timestamps readback',
        size: 8 * MAX_QUERIES_PER_SET,
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      })
      const querySet = this.#querySet
      const encoder = gpu.createCommandEncoder({ label })
      for (let i = 0; i < count; i++) {
        const pass = encoder.beginComputePass({
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        })
        this.#record(pass, this.plan.repeat)
        pass.end()
      }
      encoder.resolveQuerySet(querySet, 0, 2 * count, this.#resolveBuffer, 0)
      encoder.copyBufferToBuffer(this.#resolveBuffer, 0, this.#timestampReadback, 0, bytes)
      return { commands: encoder.finish(), buffer: this.#timestampReadback }
    })
    const t0 = nowNs()
    const expectedNs = (this.#recentDeviceRunNs ?? 0) * count
    await this.#session.scoped(`${label}: submitting timed runs`, async () => {
      gpu.queue.submit([readback.commands])
      if (expectedNs > SLEEP_MIN_NS) await sleep((SLEEP_FRACTION * expectedNs) / 1e6)
      await this.#session.wait(readback.buffer.mapAsync(MapMode.READ, 0, bytes), `${label}: timestamps readback`)
    })
    const hostPerRun = Number(nowNs() - t0) / count / this.plan.repeat
    this.#observe(hostPerRun * this.plan.repeat)
    const stamps = new BigUint64Array(readback.buffer.getMappedRange(0, bytes).slice(0))
    readback.buffer.unmap()
    let deviceTotalNs = 0
    for (let i = 0; i < count; i++) {
      const begin = stamps[2 * i] ?? 0n
      const end = stamps[2 * i + 1] ?? 0n
      if (end < begin) {
        throw this.#session.error(
          `${label}: timestamps went backwards (begin ${begin}, end ${end}); this device's timer cannot be trusted`,
        )
      }
      deviceTotalNs += Number(end - begin)
      device.push(Number(end - begin) / this.plan.repeat)
      host.push(hostPerRun)
    }
    this.#recentDeviceRunNs = deviceTotalNs / count
  }

  async #hostRuns(count: number, device: DurationNs[], host: DurationNs[]): Promise<void> {
    const gpu = this.#session.device
    const label = this.plan.label
    await this.#session.scoped(`${label}: timed runs`, async () => {
      for (let i = 0; i < count; i++) {
        const encoder = gpu.createCommandEncoder({ label })
        const pass = encoder.beginComputePass()
        this.#record(pass, this.plan.repeat)
        pass.end()
        const commands = encoder.finish()
        const t0 = nowNs()
        gpu.queue.submit([commands])
        await this.#session.wait(gpu.queue.onSubmittedWorkDone(), `${label}: completion`)
        const perRun = Number(nowNs() - t0) / this.plan.repeat
        this.#observe(perRun * this.plan.repeat)
        device.push(perRun)
        host.push(perRun)
      }
    })
  }

  async #submitOnce(repeat: number, what: string): Promise<void> {
    const gpu = this.#session.device
    await this.#session.scoped(`${this.plan.label}: ${what}`, async () => {
      const encoder = gpu.createCommandEncoder({ label: this.plan.label })
      const pass = encoder.beginComputePass()
      this.#record(pass, repeat)
      pass.end()
      gpu.queue.submit([encoder.finish()])
      await this.#session.wait(gpu.queue.onSubmittedWorkDone(), `${this.plan.label}: ${what}`)
    })
  }

  /** Runs the plan once (one repetition), waited for; used by verifiers. */
  async runOnce(): Promise<void> {
    this.#live('a verification run')
    await this.#compile()
    await this.#submitOnce(1, 'a verification run')
  }

  /** Overwrites a buffer's contents (at most its size); used by verifiers to load inputs and poison outputs. */
  async upload(name: string, data: ArrayBufferView): Promise<void> {
    this.#live('upload()')
    const spec = this.#spec(name)
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (bytes.byteLength > spec.sizeBytes) {
      throw this.#session.error(
        `${this.plan.label}: ${bytes.byteLength} bytes do not fit buffer '${name}' of ${spec.sizeBytes} bytes`,
      )
    }
    await this.#session.scoped(`${this.plan.label}: uploading '${name}'`, () => this.#write(spec, bytes))
  }

  /** Copies a buffer back to the host (exactly its sizeBytes). */
  async readback(name: string): Promise<ArrayBuffer> {
    this.#live('readback()')
    const spec = this.#spec(name)
    const source = this.#buffer(name)
    const gpu = this.#session.device
    const size = align4(Math.max(spec.sizeBytes, 4))
    return this.#session.scoped(`${this.plan.label}: reading back '${name}'`, async () => {
      const staging = gpu.createBuffer({
        label: `${name} readback`,
        size,
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      })
      try {
        const encoder = gpu.createCommandEncoder()
        encoder.copyBufferToBuffer(source, 0, staging, 0, size)
        gpu.queue.submit([encoder.finish()])
        await this.#session.wait(staging.mapAsync(MapMode.READ), `${this.plan.label}: readback of '${name}'`)
        const bytes = staging.getMappedRange().slice(0, spec.sizeBytes)
        staging.unmap()
        return bytes
      } finally {
        staging.destroy()
      }
    })
  }

  verify(): Promise<VerifyReport> {
    this.#live('verify()')
    return this.#verifier(this)
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    this.#session.destroy()
  }
}
