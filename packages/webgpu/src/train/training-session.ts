/**
 * The WebGPU backend's training step: core's TrainingSession as WGSL compute passes (kernels.ts),
 * in f32 or in f16 mixed precision. One device per session (session.ts), requested with the
 * adapter's own buffer limits, and with 'shader-f16' for f16 (an adapter without it is refused).
 *
 * Memory: parameters, gradients and AdamW's two moments each live in one buffer, every tensor at
 * an offset aligned for a storage binding (minStorageBufferOffsetAlignment), so a kernel binds a
 * tensor as its own range and AdamW runs over the whole buffer in one dispatch; every activation
 * and backward scratch tensor is a buffer of its own. Core's flat layout is packed and unpacked
 * on the host when parameters, gradients or moments cross.
 *
 * A step is three compute passes, forward, backward and optimizer, in one command buffer with
 * the other steps of a submission. With 'timestamp-query' each pass has timestamps at its start
 * and end, so a step's phases are device times; without, each phase is submitted on its own and
 * timed on the host from submit to onSubmittedWorkDone. The tokens are uploaded once
 * (setTokens); the loss of each step is copied out after its forward pass and read once per
 * submission.
 *
 * Mixed precision (dtype f16) follows the CPU backend (native/src/cpu/train.cpp): the forward
 * pass starts by casting the f32 master weights to an f16 copy, and the kernel that computes an
 * activation a product reads writes an f16 copy of it as well; products read those f16
 * operands, accumulate in f32 and round their result to f16; the backward pass scales
 * the loss by the dynamic loss scale and ends by unscaling the gradients and flagging an overflow;
 * the optimizer pass skips AdamW on overflow and then updates the scale (halved on overflow, not
 * below 1; doubled after 2000 good steps). The scale, the flag and each step's record live in a
 * device buffer, read back once per submission with the losses; a skipped step does not advance
 * AdamW's step count. Master weights, gradients and AdamW state stay f32.
 */
import {
  BackendError,
  type DurationNs,
  parameterLayout,
  type TrainFault,
  type TrainingSession,
  type TrainStepRecord,
  type TrainWorkload,
} from '@gpubench/core'
import { BufferUsage, MapMode } from '../constants.ts'
import type { ResolvedOptions } from '../options.ts'
import { Session } from '../session.ts'
import * as K from './kernels.ts'

/** A tensor's place: a range of a buffer. */
interface Ref {
  readonly buffer: GPUBuffer
  readonly offset: number
  readonly size: number
}

interface Dispatch {
  readonly pipeline: GPUComputePipeline
  readonly bindGroup: GPUBindGroup
  readonly workgroups: readonly [number, number, number]
}

/** Steps per submission at most: 6 timestamps each within one query set of 4096. */
const MAX_STEPS_PER_SUBMISSION = 256

export interface WebgpuTrainOptions {
  /** Tests only: flips the sign of one kernel's backward (core's TRAIN_FAULTS). */
  readonly fault?: TrainFault
}

function nowNs(): number {
  return Number(process.hrtime.bigint())
}

function mebibytes(bytes: number): string {
  return bytes / 2 ** 20 < 1 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

/** Elements of a tensor rounded up to the storage-offset alignment. */
function padded(elements: number, alignElements: number): number {
  return Math.ceil(elements / alignElements) * alignElements
}

export class WebgpuTrainingSession implements TrainingSession {
  readonly workload: TrainWorkload
  readonly energy = 'unavailable: WebGPU exposes no energy counter'
  /** Whether phases are timed with device timestamps (else host submit-to-done). */
  readonly timestamps: boolean
  #gpu: Session | null
  readonly #layout = [] as Array<{ name: string; offset: number; size: number; device: number }>
  /** Elements of the parameter, gradient and moment buffers (padded). */
  readonly #deviceCount: number
  readonly #count: number
  readonly #buffers: GPUBuffer[] = []
  readonly #p: GPUBuffer
  readonly #g: GPUBuffer
  readonly #m: GPUBuffer
  readonly #v: GPUBuffer
  readonly #tokens: GPUBuffer
  readonly #rowStart: GPUBuffer
  readonly #rowIndex: GPUBuffer
  readonly #loss: GPUBuffer
  readonly #corrections: GPUBuffer
  readonly #schedule: GPUBuffer
  /** Mixed precision: the f16 copy of the weights, and the loss scale's state (kernels.ts SCALER); null in f32. */
  readonly #p16: GPUBuffer | null = null
  readonly #scaler: GPUBuffer | null = null
  /** Mixed precision: AdamW alone (optimizerStep), without the loss scale's update that follows it in a step. */
  readonly #adamOnly: Dispatch[] = []
  readonly #baseNotes: readonly string[]
  /** The loss scale and the steps skipped for overflow, as of the latest readback (mixed precision). */
  #lossScale = 1
  #skippedSteps = 0
  readonly #forward: Dispatch[] = []
  readonly #backward: Dispatch[] = []
  readonly #optimizer: Dispatch[] = []
  readonly #querySet: GPUQuerySet | undefined
  readonly #resolve: GPUBuffer | undefined
  #step = 1
  #tokensSet = false
  #recentStepNs: number | undefined
  #peakRss = 0

  private constructor(workload: TrainWorkload, gpu: Session, fault: TrainFault | undefined) {
    this.workload = workload
    this.#gpu = gpu
    const device = gpu.device
    this.timestamps = gpu.timestamps
    const d = K.dimsOf(workload)
    const mixed = workload.dtype === 'f16'
    // In f16 every tensor's offset is aligned in the f16 copy as well (half the bytes of the f32 one).
    const align = device.limits.minStorageBufferOffsetAlignment / (mixed ? 2 : 4)
    let at = 0
    for (const t of parameterLayout(workload.model)) {
      this.#layout.push({ name: t.name, offset: t.offset, size: t.size, device: at })
      at += padded(t.size, align)
    }
    this.#deviceCount = at
    this.#count = parameterLayout(workload.model).reduce((s, t) => s + t.size, 0)
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC
    const buffer = (label: string, elements: number, usage: number = storage): GPUBuffer => {
      const b = device.createBuffer({ label, size: Math.max(16, 4 * elements), usage })
      this.#buffers.push(b)
      return b
    }
    this.#p = buffer('parameters', at)
    this.#g = buffer('gradients', at)
    this.#m = buffer('adamw m', at)
    this.#v = buffer('adamw v', at)
    this.#tokens = buffer('tokens', d.B * (d.T + 1))
    this.#rowStart = buffer('token rows', d.V + 1)
    this.#rowIndex = buffer('token row index', d.N)
    this.#loss = buffer('loss', 1)
    this.#corrections = buffer('adamw corrections', 4, BufferUsage.STORAGE | BufferUsage.COPY_DST)
    this.#schedule = buffer('adamw schedule', 4 * MAX_STEPS_PER_SUBMISSION, storage)
    if (mixed) {
      // Two f16 per element of the f32-sized helper: 2·at bytes, rounded up to whole words.
      this.#p16 = buffer('parameters (f16)', Math.ceil(at / 2))
      this.#scaler = buffer('loss scale', K.SCALER.records + 2 * MAX_STEPS_PER_SUBMISSION)
    }
    const whole = (b: GPUBuffer): Ref => ({ buffer: b, offset: 0, size: b.size })
    const act = (label: string, elements: number): Ref => whole(buffer(label, elements))
    const byName = new Map(this.#layout.map((t) => [t.name, t]))
    const param = (base: GPUBuffer, name: string): Ref => {
      const t = byName.get(name)
      if (!t) throw new Error(`no parameter ${name}`)
      return { buffer: base, offset: 4 * t.device, size: 4 * t.size }
    }
    const P = (name: string) => param(this.#p, name)
    const G = (name: string) => param(this.#g, name)
    /** A weight's f16 copy (bound rounded up to whole words: the padding leaves room). */
    const half = (ref: Ref): Ref => ({
      buffer: this.#p16!,
      offset: ref.offset / 2,
      size: 4 * Math.ceil(ref.size / 8),
    })

    const pipelines = new Map<string, GPUComputePipeline>()
    const add = (list: Dispatch[], kernel: K.Kernel, given: Ref[]) => {
      // A kernel that writes an activation's f16 copy as well (K.withHalfCopy) binds the copy last.
      const at = kernel.halfCopy === undefined ? -1 : kernel.bindings.findIndex((b) => b.name === kernel.halfCopy)
      const made = at >= 0 ? copyOf(given[at]!) : undefined
      const refs = made ? [...given, made.ref] : given
      if (refs.length !== kernel.bindings.length) {
        throw new Error(`${kernel.label}: ${refs.length} buffers for ${kernel.bindings.length} bindings`)
      }
      let pipeline = pipelines.get(kernel.wgsl)
      if (!pipeline) {
        pipeline = device.createComputePipeline({
          label: kernel.label,
          layout: 'auto',
          compute: {
            module: device.createShaderModule({ label: kernel.label, code: kernel.wgsl }),
            entryPoint: 'main',
          },
        })
        pipelines.set(kernel.wgsl, pipeline)
      }
      const shape = K.shapeUniform(d, kernel.shape)
      const uniform = device.createBuffer({
        label: `${kernel.label} shape`,
        size: shape.byteLength,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      })
      this.#buffers.push(uniform)
      device.queue.writeBuffer(uniform, 0, shape)
      const bindGroup = device.createBindGroup({
        label: kernel.label,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          ...refs.map((ref, i) => ({ binding: i + 1, resource: { ...ref } })),
        ],
      })
      list.push({ pipeline, bindGroup, workgroups: kernel.workgroups })
      // A kernel that writes an activation makes its f16 copy stale, unless it writes the copy too.
      refs.forEach((ref, i) => {
        const copy = copies.get(ref.buffer)
        if (copy && kernel.bindings[i]!.access === 'read_write') copy.current = false
      })
      if (made) made.current = true
    }
    /**
     * Mixed precision: each activation's f16 copy, and whether it holds the activation's latest
     * contents. Dispatches are added in the order they run (forward, then backward), so a copy
     * made after an activation is written serves every product that reads it before the next write.
     */
    const copies = new Map<GPUBuffer, { ref: Ref; current: boolean }>()
    const copyOf = (ref: Ref) => {
      let copy = copies.get(ref.buffer)
      if (!copy) {
        copy = { ref: whole(buffer(`${ref.buffer.label} (f16)`, Math.ceil(ref.buffer.size / 8))), current: false }
        copies.set(ref.buffer, copy)
      }
      return copy
    }
    /**
     * A product operand in f16: a weight's slice of the f16 weights, or an activation's f16 copy,
     * cast by a dispatch of its own when its producer did not write it (K.withHalfCopy).
     */
    const halfOf = (list: Dispatch[], ref: Ref): Ref => {
      if (ref.buffer === this.#p) return half(ref)
      const copy = copyOf(ref)
      if (!copy.current) {
        add(list, K.castHalf(ref.buffer.size / 4, `${ref.buffer.label} to f16`), [whole(ref.buffer), copy.ref])
        copy.current = true
      }
      return copy.ref
    }
    /** A product (K.gemm); in f16 both operands are read from f16 copies (the CPU backend's conversions before each product). */
    const mm = (list: Dispatch[], spec: K.GemmSpec, refs: Ref[]) => {
      if (!mixed) return add(list, K.gemm(spec), refs)
      const [a, b, ...rest] = refs
      add(list, K.gemm({ ...spec, f16: true }), [halfOf(list, a!), halfOf(list, b!), ...rest])
    }

    /** In f16, `kernel` writing its output `output` as an f16 copy as well (for the products that read it). */
    const h = (kernel: K.Kernel, output: string) => (mixed ? K.withHalfCopy(kernel, output) : kernel)
    const { N, D, MLP, V } = d
    const fwd = this.#forward
    const bwd = this.#backward
    if (mixed) add(fwd, K.castHalf(at, 'weights to f16'), [whole(this.#p), whole(this.#p16!)])
    const x0 = act('x0', N * D)
    add(fwd, K.embedForward(d), [whole(this.#tokens), P('wte'), P('wpe'), x0])
    interface LayerActs {
      input: Ref
      ln1: Ref
      ln1Mean: Ref
      ln1Rstd: Ref
      qkv: Ref
      att: Ref
      attY: Ref
      res2: Ref
      ln2: Ref
      ln2Mean: Ref
      ln2Rstd: Ref
      fc: Ref
      gelu: Ref
      out: Ref
    }
    const layers: LayerActs[] = []
    let x = x0
    for (let l = 0; l < workload.model.layers; l++) {
      const p = `layer${l}.`
      const a: LayerActs = {
        input: x,
        ln1: act(`${p}ln1`, N * D),
        ln1Mean: act(`${p}ln1 mean`, N),
        ln1Rstd: act(`${p}ln1 rstd`, N),
        qkv: act(`${p}qkv`, N * 3 * D),
        att: act(`${p}att`, d.B * d.H * d.T * d.T),
        attY: act(`${p}att y`, N * D),
        res2: act(`${p}res2`, N * D),
        ln2: act(`${p}ln2`, N * D),
        ln2Mean: act(`${p}ln2 mean`, N),
        ln2Rstd: act(`${p}ln2 rstd`, N),
        fc: act(`${p}fc`, N * MLP),
        gelu: act(`${p}gelu`, N * MLP),
        out: act(`${p}out`, N * D),
      }
      add(fwd, h(K.layerNormForward(d, 'ln1'), 'out'), [
        x,
        P(`${p}ln1.weight`),
        P(`${p}ln1.bias`),
        a.ln1,
        a.ln1Mean,
        a.ln1Rstd,
      ])
      mm(fwd, { label: 'qkv', M: N, N: 3 * D, K: D, a: { row: D, col: 1 }, b: { row: 3 * D, col: 1 }, bias: true }, [
        a.ln1,
        P(`${p}attn.qkv.weight`),
        P(`${p}attn.qkv.bias`),
        a.qkv,
      ])
      add(fwd, h(K.attentionForward(d), 'y'), [a.qkv, a.att, a.attY])
      mm(
        fwd,
        {
          label: 'attn proj',
          M: N,
          N: D,
          K: D,
          a: { row: D, col: 1 },
          b: { row: D, col: 1 },
          bias: true,
          residual: true,
        },
        [a.attY, P(`${p}attn.proj.weight`), P(`${p}attn.proj.bias`), x, a.res2],
      )
      add(fwd, h(K.layerNormForward(d, 'ln2'), 'out'), [
        a.res2,
        P(`${p}ln2.weight`),
        P(`${p}ln2.bias`),
        a.ln2,
        a.ln2Mean,
        a.ln2Rstd,
      ])
      mm(fwd, { label: 'mlp fc', M: N, N: MLP, K: D, a: { row: D, col: 1 }, b: { row: MLP, col: 1 }, bias: true }, [
        a.ln2,
        P(`${p}mlp.fc.weight`),
        P(`${p}mlp.fc.bias`),
        a.fc,
      ])
      add(fwd, h(K.geluForward(d), 'y'), [a.fc, a.gelu])
      mm(
        fwd,
        {
          label: 'mlp proj',
          M: N,
          N: D,
          K: MLP,
          a: { row: MLP, col: 1 },
          b: { row: D, col: 1 },
          bias: true,
          residual: true,
        },
        [a.gelu, P(`${p}mlp.proj.weight`), P(`${p}mlp.proj.bias`), a.res2, a.out],
      )
      layers.push(a)
      x = a.out
    }
    const lnf = act('lnf', N * D)
    const lnfMean = act('lnf mean', N)
    const lnfRstd = act('lnf rstd', N)
    const logits = act('logits', N * V)
    const losses = act('losses', N)
    add(fwd, h(K.layerNormForward(d, 'lnf'), 'out'), [x, P('lnf.weight'), P('lnf.bias'), lnf, lnfMean, lnfRstd])
    mm(fwd, { label: 'head', M: N, N: V, K: D, a: { row: D, col: 1 }, b: { row: 1, col: D } }, [lnf, P('wte'), logits])
    add(fwd, K.crossEntropyForward(d), [whole(this.#tokens), logits, losses])
    add(fwd, K.lossMean(), [losses, whole(this.#loss)])

    // Backward. Signs of the products come from the fault (tests only).
    const sx = fault === 'linear-input' ? -1 : 1
    const sw = fault === 'linear-weight' ? -1 : 1
    const sh = fault === 'head' ? -1 : 1
    /** The backward of a linear layer out = x·W + b (x: N x I, W: I x O): dx = dout·Wᵀ, dW = xᵀ·dout, db = column sums. */
    const linearBackward = (name: string, I: number, O: number, dout: Ref, x: Ref, dx: Ref, tensor: string) => {
      const input = { label: `${name} backward (input)`, M: N, N: I, K: O, alpha: sx }
      mm(bwd, { ...input, a: { row: O, col: 1 }, b: { row: 1, col: O } }, [dout, P(`${tensor}.weight`), dx])
      const weight = { label: `${name} backward (weight)`, M: I, N: O, K: N, alpha: sw }
      mm(bwd, { ...weight, a: { row: 1, col: I }, b: { row: O, col: 1 } }, [x, dout, G(`${tensor}.weight`)])
      add(bwd, K.columnSums(`${name} backward (bias)`, N, O, fault), [dout, G(`${tensor}.bias`)])
    }
    add(
      bwd,
      h(K.crossEntropyBackward(d, fault, mixed), 'logits'),
      mixed ? [whole(this.#tokens), logits, whole(this.#scaler!)] : [whole(this.#tokens), logits],
    )
    const dlnf = act('d lnf', N * D)
    mm(
      bwd,
      {
        label: 'head backward (input)',
        M: N,
        N: D,
        K: V,
        a: { row: V, col: 1 },
        b: { row: D, col: 1 },
        alpha: sh,
      },
      [logits, P('wte'), dlnf],
    )
    mm(
      bwd,
      {
        label: 'head backward (wte)',
        M: V,
        N: D,
        K: N,
        a: { row: 1, col: V },
        b: { row: D, col: 1 },
        alpha: sh,
      },
      [logits, lnf, G('wte')],
    )
    const dxA = act('d x (a)', N * D)
    const dxB = act('d x (b)', N * D)
    /**
     * The backward of a LayerNorm of x (its mean and rstd kept by the forward) from dout: dx (plus
     * `residual`, the gradient arriving through the skip connection, where given), and the scale's
     * and shift's gradients.
     */
    const layerNormBackward = (
      name: string,
      dout: Ref,
      x: Ref,
      stats: [Ref, Ref],
      tensor: string,
      dx: Ref,
      residual?: Ref,
    ) => {
      const rows = K.layerNormBackwardRows(d, `${name} backward`, residual !== undefined, fault)
      add(bwd, h(rows, 'dx'), [dout, x, ...stats, P(`${tensor}.weight`), ...(residual ? [residual] : []), dx])
      add(bwd, K.layerNormBackwardParams(d, `${name} backward (parameters)`), [
        dout,
        x,
        ...stats,
        G(`${tensor}.weight`),
        G(`${tensor}.bias`),
      ])
    }
    layerNormBackward('lnf', dlnf, x, [lnfMean, lnfRstd], 'lnf', dxA)
    const dgelu = act('d gelu', N * MLP)
    const dfc = act('d fc', N * MLP)
    const dln = act('d ln', N * D)
    const dres2 = act('d res2', N * D)
    const dattY = act('d att y', N * D)
    const dqkv = act('d qkv', N * 3 * D)
    const ds = act('d scores', d.B * d.H * d.T * d.T)
    let dOut = dxA
    let dIn = dxB
    for (let l = workload.model.layers - 1; l >= 0; l--) {
      const p = `layer${l}.`
      const a = layers[l]!
      // MLP: out = res2 + proj(gelu(fc(ln2(res2)))).
      linearBackward('mlp proj', MLP, D, dOut, a.gelu, dgelu, `${p}mlp.proj`)
      add(bwd, h(K.geluBackward(d, fault), 'dx'), [a.fc, dgelu, dfc])
      linearBackward('mlp fc', D, MLP, dfc, a.ln2, dln, `${p}mlp.fc`)
      layerNormBackward('ln2', dln, a.res2, [a.ln2Mean, a.ln2Rstd], `${p}ln2`, dres2, dOut)
      // Attention: res2 = input + proj(attention(qkv(ln1(input)))).
      linearBackward('attn proj', D, D, dres2, a.attY, dattY, `${p}attn.proj`)
      add(bwd, K.attentionBackwardScores(d, fault), [dattY, a.qkv, a.att, ds])
      add(bwd, h(K.attentionBackwardQkv(d, fault), 'dqkv'), [ds, a.att, a.qkv, dattY, dqkv])
      linearBackward('qkv', D, 3 * D, dqkv, a.ln1, dln, `${p}attn.qkv`)
      layerNormBackward('ln1', dln, a.input, [a.ln1Mean, a.ln1Rstd], `${p}ln1`, dIn, dres2)
      ;[dOut, dIn] = [dIn, dOut]
    }
    add(bwd, K.embedBackwardTokens(d, fault), [dOut, whole(this.#rowStart), whole(this.#rowIndex), G('wte')])
    add(bwd, K.embedBackwardPositions(d, fault), [dOut, G('wpe')])
    const state = [whole(this.#p), whole(this.#g), whole(this.#m), whole(this.#v)]
    if (mixed) {
      const scaler = whole(this.#scaler!)
      add(bwd, K.unscale(at), [whole(this.#g), scaler])
      add(this.#adamOnly, K.adamW(workload, at, true), [whole(this.#schedule), scaler, ...state])
      this.#optimizer.push(...this.#adamOnly)
      add(this.#optimizer, K.lossScaleUpdate(), [scaler])
    } else {
      add(this.#optimizer, K.adamW(workload, at), [whole(this.#corrections), ...state])
    }

    if (this.timestamps) {
      this.#querySet = device.createQuerySet({
        label: 'training phases',
        type: 'timestamp',
        count: 6 * MAX_STEPS_PER_SUBMISSION,
      })
      this.#resolve = buffer(
        'timestamps',
        12 * MAX_STEPS_PER_SUBMISSION,
        BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
      )
    }
    this.#baseNotes = [
      `WebGPU training (WGSL, ${mixed ? 'f16 mixed precision' : 'f32'}): ${this.#forward.length} forward, ${this.#backward.length} backward and ${this.#optimizer.length} optimizer dispatches per step, ${pipelines.size} pipelines; GEMMs register-blocked (4 x 4 per invocation, 32 x 32 per workgroup, no workgroup memory); every gradient written by the one thread that owns it (no float atomics${mixed ? '; the overflow flag is a u32 atomicOr' : ''})`,
      this.timestamps
        ? 'phases timed with timestamp queries at the start and end of each phase pass'
        : "phases timed on the host, submit to onSubmittedWorkDone (the adapter lacks 'timestamp-query' or timestamps are disabled)",
      `device buffers: parameters, gradients and AdamW moments${mixed ? ', and the weights in f16' : ''} ${mebibytes((mixed ? 18 : 16) * at)} in all${mixed ? `; f16 copies of ${copies.size} activations` : ''}; process memory figures are those of the process running the device work`,
    ]
  }

  /** What ran; in f16 also the loss scale now and the steps skipped so far (as the CPU backend's notes). */
  get notes(): readonly string[] {
    if (this.workload.dtype !== 'f16') return this.#baseNotes
    return [
      ...this.#baseNotes,
      `mixed precision: f16 operands and results of every product (weights cast from the f32 masters at the start of each step, each activation written in f16 as well by the kernel that computes it, f32 accumulation), f32 master weights, AdamW state, element-wise kernels and attention; loss scale now ${this.#lossScale}, ${this.#skippedSteps} steps skipped for overflow so far`,
    ]
  }

  /** A fresh device for `workload`, its pipelines and buffers created; rejects with Dawn's message if any of it fails. */
  static async open(
    workload: TrainWorkload,
    settings: ResolvedOptions,
    deviceId: string,
    options: WebgpuTrainOptions = {},
  ): Promise<WebgpuTrainingSession> {
    const label = `train ${workload.batch}x${workload.seq}${workload.dtype === 'f16' ? ' f16' : ''}`
    // f16 needs 'shader-f16': without it Session.open refuses, naming the feature (never an f32 run called f16).
    const gpu = await Session.open(settings, deviceId, { f16: workload.dtype === 'f16', timestamps: true }, label)
    try {
      return await gpu.scoped(
        `${label}: creating the training step`,
        () => new WebgpuTrainingSession(workload, gpu, options.fault),
      )
    } catch (error) {
      gpu.destroy()
      throw error
    }
  }

  #live(): Session {
    if (!this.#gpu) throw new BackendError('webgpu: the training session was disposed', 'webgpu')
    return this.#gpu
  }

  /** Core's flat layout into the device's padded one. */
  #pack(flat: Float32Array, fill = 0): Float32Array {
    if (flat.length !== this.#count) throw new Error(`expected ${this.#count} values, got ${flat.length}`)
    const out = new Float32Array(this.#deviceCount).fill(fill)
    for (const t of this.#layout) out.set(flat.subarray(t.offset, t.offset + t.size), t.device)
    return out
  }

  #unpack(device: Float32Array, out: Float32Array): void {
    if (out.length !== this.#count) throw new Error(`expected room for ${this.#count} values, got ${out.length}`)
    for (const t of this.#layout) out.set(device.subarray(t.device, t.device + t.size), t.offset)
  }

  async #write(buffer: GPUBuffer, data: Float32Array | Int32Array | Uint32Array, what: string): Promise<void> {
    const gpu = this.#live()
    await gpu.scoped(what, () => gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength))
  }

  async #read(buffer: GPUBuffer, bytes: number, what: string): Promise<ArrayBuffer> {
    const gpu = this.#live()
    const device = gpu.device
    const staging = device.createBuffer({
      label: `${what} staging`,
      size: bytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    })
    try {
      await gpu.scoped(what, async () => {
        const encoder = device.createCommandEncoder()
        encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes)
        device.queue.submit([encoder.finish()])
        await gpu.wait(staging.mapAsync(MapMode.READ), what)
      })
      const out = staging.getMappedRange().slice(0)
      staging.unmap()
      return out
    } finally {
      staging.destroy()
    }
  }

  async setParameters(parameters: Float32Array): Promise<void> {
    await this.#write(this.#p, this.#pack(parameters), 'uploading parameters')
    const zeros = new Float32Array(this.#deviceCount)
    await this.#write(this.#m, zeros, 'zeroing AdamW m')
    await this.#write(this.#v, zeros, 'zeroing AdamW v')
    this.#step = 1
    if (this.#scaler) {
      // The loss scale starts again, as the CPU backend's does.
      const state = new Uint32Array(K.SCALER.records)
      state[K.SCALER.scale] = new Uint32Array(Float32Array.of(this.workload.initialLossScale).buffer)[0]!
      await this.#write(this.#scaler, state, 'resetting the loss scale')
      this.#lossScale = new Float32Array(state.buffer, 0, 1)[0]!
      this.#skippedSteps = 0
    }
  }

  /**
   * Mixed precision, before a submission of `count` steps: the corrections table for the updates
   * t .. t + count − 1, and the scaler's overflow flag and per-submission counters cleared.
   */
  async #beginMixed(count: number): Promise<void> {
    await this.#write(this.#schedule, this.#correctionsFor(this.#step, count), 'AdamW corrections')
    await this.#writeAt(this.#scaler!, 4 * K.SCALER.overflow, new Uint32Array(3), 'clearing the overflow flag')
  }

  /**
   * After a submission of `count` steps: each step's loss scale and whether it was skipped, and
   * AdamW's step count advanced by the updates made. `state` is the scaler read back (mixed
   * precision); null in f32, where every step updates at scale 1.
   */
  #endSteps(state: Uint32Array | null, count: number): Array<{ lossScale: number; skipped: boolean }> {
    if (!state) {
      this.#step += count
      return Array.from({ length: count }, () => ({ lossScale: 1, skipped: false }))
    }
    const scales = new Float32Array(state.buffer, state.byteOffset, state.length)
    const out = Array.from({ length: count }, (_, i) => ({
      lossScale: scales[K.SCALER.records + 2 * i]!,
      skipped: state[K.SCALER.records + 2 * i + 1] !== 0,
    }))
    this.#step += state[K.SCALER.updates]!
    this.#lossScale = scales[K.SCALER.scale]!
    this.#skippedSteps = state[K.SCALER.skipped]!
    return out
  }

  async #writeAt(buffer: GPUBuffer, offset: number, data: Uint32Array, what: string): Promise<void> {
    const gpu = this.#live()
    await gpu.scoped(what, () =>
      gpu.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength),
    )
  }

  async setTokens(tokens: Int32Array): Promise<void> {
    const d = K.dimsOf(this.workload)
    if (tokens.length !== d.B * (d.T + 1)) {
      throw new Error(`tokens: expected ${d.B * (d.T + 1)} (batch x (seq + 1)), got ${tokens.length}`)
    }
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!
      if (!(t >= 0 && t < d.V)) throw new Error(`tokens[${i}] = ${t} is outside the vocabulary of ${d.V}`)
    }
    // The embedding backward's index: for each vocabulary row, the positions holding that token, in order.
    const rowStart = new Uint32Array(d.V + 1)
    const input = (n: number) => tokens[Math.floor(n / d.T) * (d.T + 1) + (n % d.T)]!
    for (let n = 0; n < d.N; n++) rowStart[input(n) + 1]! += 1
    for (let v = 0; v < d.V; v++) rowStart[v + 1]! += rowStart[v]!
    const fill = rowStart.slice(0, d.V)
    const rowIndex = new Uint32Array(d.N)
    for (let n = 0; n < d.N; n++) rowIndex[fill[input(n)]!++] = n
    await this.#write(this.#tokens, tokens, 'uploading tokens')
    await this.#write(this.#rowStart, rowStart, 'uploading the token index')
    await this.#write(this.#rowIndex, rowIndex, 'uploading the token index')
    this.#tokensSet = true
  }

  /**
   * The padding between tensors of the gradient buffer: NaN in f32 (never read); 0 in f16, where
   * the unscale's overflow test reads the whole buffer.
   */
  get #gradientPadding(): number {
    return this.#scaler ? 0 : Number.NaN
  }

  async poisonGradients(): Promise<void> {
    const poison = this.#pack(new Float32Array(this.#count).fill(Number.NaN), this.#gradientPadding)
    await this.#write(this.#g, poison, 'poisoning gradients')
  }

  #pass(encoder: GPUCommandEncoder, list: readonly Dispatch[], label: string, stamps?: number): void {
    const pass = encoder.beginComputePass({
      label,
      ...(stamps !== undefined &&
        this.#querySet && {
          timestampWrites: {
            querySet: this.#querySet,
            beginningOfPassWriteIndex: stamps,
            endOfPassWriteIndex: stamps + 1,
          },
        }),
    })
    for (const d of list) {
      pass.setPipeline(d.pipeline)
      pass.setBindGroup(0, d.bindGroup)
      pass.dispatchWorkgroups(...d.workgroups)
    }
    pass.end()
  }

  async #readLoss(): Promise<number> {
    return new Float32Array(await this.#read(this.#loss, 4, 'reading the loss'))[0]!
  }

  async forwardBackward(): Promise<number> {
    const gpu = this.#live()
    if (!this.#tokensSet) throw new Error('forwardBackward: no tokens uploaded (setTokens)')
    await gpu.scoped('forward and backward', async () => {
      const encoder = gpu.device.createCommandEncoder()
      this.#pass(encoder, this.#forward, 'forward')
      this.#pass(encoder, this.#backward, 'backward')
      gpu.device.queue.submit([encoder.finish()])
      await gpu.wait(gpu.device.queue.onSubmittedWorkDone(), 'forward and backward')
    })
    return this.#readLoss()
  }

  async readGradients(out: Float32Array): Promise<void> {
    this.#unpack(new Float32Array(await this.#read(this.#g, 4 * this.#deviceCount, 'reading gradients')), out)
  }

  async writeGradients(gradients: Float32Array): Promise<void> {
    await this.#write(this.#g, this.#pack(gradients, this.#gradientPadding), 'writing gradients')
  }

  /** AdamW's bias corrections 1 − β1^t and 1 − β2^t for steps t .. t + n − 1, in float64 then f32. */
  #correctionsFor(first: number, n: number): Float32Array {
    const out = new Float32Array(4 * n)
    for (let i = 0; i < n; i++) {
      out[4 * i] = 1 - this.workload.beta1 ** (first + i)
      out[4 * i + 1] = 1 - this.workload.beta2 ** (first + i)
    }
    return out
  }

  /** AdamW over the current gradients, unconditionally (as the CPU backend's): in f16 without the overflow test or the loss scale's update. */
  async optimizerStep(): Promise<void> {
    const gpu = this.#live()
    if (this.#scaler) await this.#beginMixed(1)
    else await this.#write(this.#corrections, this.#correctionsFor(this.#step, 1), 'AdamW corrections')
    await gpu.scoped('AdamW', async () => {
      const encoder = gpu.device.createCommandEncoder()
      this.#pass(encoder, this.#scaler ? this.#adamOnly : this.#optimizer, 'optimizer')
      gpu.device.queue.submit([encoder.finish()])
      await gpu.wait(gpu.device.queue.onSubmittedWorkDone(), 'AdamW')
    })
    this.#step += 1
  }

  async readParameters(out: Float32Array): Promise<void> {
    this.#unpack(new Float32Array(await this.#read(this.#p, 4 * this.#deviceCount, 'reading parameters')), out)
  }

  async readMoments(m: Float32Array, v: Float32Array): Promise<void> {
    this.#unpack(new Float32Array(await this.#read(this.#m, 4 * this.#deviceCount, 'reading AdamW m')), m)
    this.#unpack(new Float32Array(await this.#read(this.#v, 4 * this.#deviceCount, 'reading AdamW v')), v)
  }

  /**
   * Steps per submission: at most MAX_STEPS_PER_SUBMISSION, and few enough that a submission
   * takes about a quarter of the wait timeout (judged from the latest steps), so a slow step is
   * never taken for a hung device; one step when nothing is known yet.
   */
  #stepsPerSubmission(): number {
    if (this.#recentStepNs === undefined) return 1
    const budgetNs = (this.#live().timeoutMs * 1e6) / 4
    return Math.max(1, Math.min(MAX_STEPS_PER_SUBMISSION, Math.floor(budgetNs / Math.max(this.#recentStepNs, 1))))
  }

  async steps(n: number): Promise<TrainStepRecord[]> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`steps(n): n must be a positive integer, got ${n}`)
    if (!this.#tokensSet) throw new Error('steps: no tokens uploaded (setTokens)')
    const out: TrainStepRecord[] = []
    while (out.length < n) {
      const count = Math.min(n - out.length, this.#stepsPerSubmission())
      out.push(...(this.timestamps ? await this.#timedSteps(count) : await this.#hostTimedSteps(count)))
    }
    return out
  }

  #usage(): { rss: number; minor: number; major: number } {
    const u = process.resourceUsage()
    this.#peakRss = Math.max(this.#peakRss, u.maxRSS * 1024)
    return { rss: process.memoryUsage.rss(), minor: u.minorPageFault, major: u.majorPageFault }
  }

  async #timedSteps(count: number): Promise<TrainStepRecord[]> {
    const gpu = this.#live()
    const device = gpu.device
    const querySet = this.#querySet!
    const resolve = this.#resolve!
    const stampBytes = 48 * count
    const stampsOut = device.createBuffer({
      label: 'timestamps readback',
      size: stampBytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    })
    const lossOut = device.createBuffer({
      label: 'losses readback',
      size: 4 * count,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    })
    const scaler = this.#scaler
    const scalerBytes = 4 * (K.SCALER.records + 2 * count)
    const scalerOut = scaler
      ? device.createBuffer({
          label: 'loss scale readback',
          size: scalerBytes,
          usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
        })
      : null
    try {
      if (scaler) await this.#beginMixed(count)
      else await this.#write(this.#schedule, this.#correctionsFor(this.#step, count), 'AdamW corrections')
      const before = this.#usage()
      const t0 = nowNs()
      await gpu.scoped(`${count} training steps`, async () => {
        const encoder = device.createCommandEncoder({ label: 'training steps' })
        for (let i = 0; i < count; i++) {
          this.#pass(encoder, this.#forward, 'forward', 6 * i)
          encoder.copyBufferToBuffer(this.#loss, 0, lossOut, 4 * i, 4)
          this.#pass(encoder, this.#backward, 'backward', 6 * i + 2)
          // In f16 AdamW reads its row of the schedule itself (a skipped step uses none).
          if (!scaler) encoder.copyBufferToBuffer(this.#schedule, 16 * i, this.#corrections, 0, 16)
          this.#pass(encoder, this.#optimizer, 'optimizer', 6 * i + 4)
        }
        encoder.resolveQuerySet(querySet, 0, 6 * count, resolve, 0)
        encoder.copyBufferToBuffer(resolve, 0, stampsOut, 0, stampBytes)
        if (scaler && scalerOut) encoder.copyBufferToBuffer(scaler, 0, scalerOut, 0, scalerBytes)
        device.queue.submit([encoder.finish()])
        await gpu.wait(stampsOut.mapAsync(MapMode.READ), 'training steps: timestamps readback')
        await gpu.wait(lossOut.mapAsync(MapMode.READ), 'training steps: losses readback')
        if (scalerOut) await gpu.wait(scalerOut.mapAsync(MapMode.READ), 'training steps: loss scale readback')
      })
      const hostPerStep = (nowNs() - t0) / count
      const after = this.#usage()
      const scaled = this.#endSteps(scalerOut && new Uint32Array(scalerOut.getMappedRange().slice(0)), count)
      const stamps = new BigUint64Array(stampsOut.getMappedRange().slice(0))
      const losses = new Float32Array(lossOut.getMappedRange().slice(0))
      const records: TrainStepRecord[] = []
      const span = (i: number, a: number, b: number): DurationNs => {
        const begin = stamps[6 * i + a]!
        const end = stamps[6 * i + b]!
        if (end < begin)
          throw gpu.error(
            `training: timestamps went backwards (begin ${begin}, end ${end}); this device's timer cannot be trusted`,
          )
        return Number(end - begin)
      }
      let total = 0
      for (let i = 0; i < count; i++) {
        const stepNs = span(i, 0, 5)
        total += stepNs
        records.push({
          stepNs,
          forwardNs: span(i, 0, 1),
          backwardNs: span(i, 2, 3),
          optimizerNs: span(i, 4, 5),
          loss: losses[i]!,
          rssBytes: after.rss,
          minorFaults: (after.minor - before.minor) / count,
          majorFaults: (after.major - before.major) / count,
          ...scaled[i]!,
          energyJoules: null,
        })
      }
      this.#recentStepNs = Math.max(hostPerStep, total / count)
      this.hostStepNs = Array.from({ length: count }, () => hostPerStep)
      return records
    } finally {
      stampsOut.destroy()
      lossOut.destroy()
      scalerOut?.destroy()
    }
  }

  async #hostTimedSteps(count: number): Promise<TrainStepRecord[]> {
    const gpu = this.#live()
    const device = gpu.device
    const records: TrainStepRecord[] = []
    const host: number[] = []
    for (let i = 0; i < count; i++) {
      if (this.#scaler) await this.#beginMixed(1)
      else await this.#write(this.#corrections, this.#correctionsFor(this.#step, 1), 'AdamW corrections')
      const before = this.#usage()
      const phase = async (list: readonly Dispatch[], label: string): Promise<number> => {
        const t0 = nowNs()
        await gpu.scoped(label, async () => {
          const encoder = device.createCommandEncoder({ label })
          this.#pass(encoder, list, label)
          device.queue.submit([encoder.finish()])
          await gpu.wait(device.queue.onSubmittedWorkDone(), label)
        })
        return nowNs() - t0
      }
      const forwardNs = await phase(this.#forward, 'forward')
      const loss = await this.#readLoss()
      const backwardNs = await phase(this.#backward, 'backward')
      const optimizerNs = await phase(this.#optimizer, 'optimizer')
      const after = this.#usage()
      // The step's loss scale and skip, read after its phases were timed.
      const scaler = this.#scaler
      const state = scaler && (await this.#read(scaler, 4 * (K.SCALER.records + 2), 'reading the loss scale'))
      const [scaled] = this.#endSteps(state && new Uint32Array(state), 1)
      const stepNs = forwardNs + backwardNs + optimizerNs
      host.push(stepNs)
      records.push({
        stepNs,
        forwardNs,
        backwardNs,
        optimizerNs,
        loss,
        rssBytes: after.rss,
        minorFaults: after.minor - before.minor,
        majorFaults: after.major - before.major,
        ...scaled!,
        energyJoules: null,
      })
      this.#recentStepNs = stepNs
    }
    this.hostStepNs = host
    return records
  }

  /** Host-clock time per step of the latest `steps(n)` (submission to readback, divided evenly). */
  hostStepNs: readonly DurationNs[] = []

  peakRssBytes(): number {
    this.#usage()
    return this.#peakRss
  }

  async dispose(): Promise<void> {
    const gpu = this.#gpu
    if (!gpu) return
    this.#gpu = null
    for (const b of this.#buffers) b.destroy()
    this.#querySet?.destroy()
    gpu.destroy()
  }
}
