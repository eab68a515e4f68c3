/**
 * The runnable of a plan on its own session (device): allocation and upload at creation, WGSL
 * checked at creation (compile errors surface with Dawn's messages before anything is timed),
 * pipelines built in the cold run, then timed runs, timed as timer.ts says ('webgpu-timestamps'
 * where the device has timestamp queries, else 'host-submit-wait'); the host clock beside the
 * device's is kept in `hostDurationsNs`.
 *
 * Every device operation runs inside error scopes and bounded waits (see session.ts): a
 * validation error, an out-of-memory, a lost device or a hung wait ends in a BackendError with
 * Dawn's message, never a hang or a silent zero.
 */
import type { DeviceDescription, DurationNs, Target, TimingMethod, VerifyReport } from '@gpubench/core'
import { align4, BufferUsage, MapMode, ShaderStage } from './constants.ts'
import type { Plan, PlanBuffer } from './plan.ts'
import type { Session } from './session.ts'
import { nowNs, type PassTimer, RUNS_PER_SUBMISSION, timerFor } from './timer.ts'
import type { Verifier, WebgpuRunnable } from './webgpu-runnable.ts'

/** What a plan's runnable is made of; `timingNote` says why timestamps are not used, where they are not. */
export interface PlanRunnableParts {
  readonly session: Session
  readonly plan: Plan
  readonly target: Target
  readonly device: DeviceDescription
  readonly verifier: Verifier
  readonly timingNote: string
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
  readonly #timer: PassTimer
  #started = false
  /** Host time per run (all `repeat` repetitions) in the latest submission, for sizing submissions. */
  #recentRunNs: number | undefined
  #disposed = false

  private constructor(parts: PlanRunnableParts) {
    this.#session = parts.session
    this.plan = parts.plan
    this.target = parts.target
    this.device = parts.device
    this.#verifier = parts.verifier
    this.#timer = timerFor(parts.session, parts.plan.label, parts.timingNote)
    this.timing = this.#timer.method
  }

  /**
   * Allocates and uploads the plan's buffers and checks its WGSL. Owns `session` from here on:
   * on failure the session is destroyed and a BackendError with Dawn's messages is thrown.
   */
  static async create(parts: PlanRunnableParts): Promise<PlanRunnable> {
    const runnable = new PlanRunnable(parts)
    try {
      await runnable.#allocate()
      await runnable.#checkShaders()
      await runnable.#describeTiming()
    } catch (error) {
      parts.session.destroy()
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

  async #describeTiming(): Promise<void> {
    this.notes.push(...(this.plan.notes ?? []))
    this.notes.push(await this.#timer.describe())
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
      const repeat = this.plan.repeat
      const timed = await this.#timer.time(count, repeat, (pass) => this.#record(pass, repeat))
      device.push(...timed.device)
      host.push(...timed.host)
      this.#observe((timed.host.at(-1) ?? 0) * repeat)
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
