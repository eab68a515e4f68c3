/**
 * The training workload: one step of a decoder-only transformer of GPT-2's shape (token and
 * position embeddings, pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, a final
 * LayerNorm, the head tied to the token embedding, mean cross-entropy over every position), then
 * an AdamW update. A plain, frozen description like core's other workloads; it is not one of
 * `WORKLOAD_KINDS` because a backend runs it as a whole model, not as one kernel over named
 * buffers: benchmarks carry it in a backend target (`trainTarget`, target.ts).
 *
 * Conventions shared by every backend and by the float64 reference (reference.ts):
 * - Parameters live in one flat f32 buffer in the order of `parameterLayout` (per layer: ln1,
 *   attention qkv and projection, ln2, MLP fc and projection); gradients and AdamW's two moments
 *   have the same layout.
 * - A linear layer is y = x·W + b with W stored in x out, row-major; the head is logits = x·wteᵀ.
 * - GELU is GPT-2's tanh approximation; LayerNorm's epsilon is 1e-5; attention scores are scaled
 *   by 1/√(head size) and masked causally.
 * - Tokens: `batch` rows of `seq + 1` token ids; inputs are the first `seq`, targets the last `seq`.
 * - AdamW as PyTorch's: decoupled weight decay on every parameter, bias-corrected moments:
 *   m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr·(m̂/(√v̂ + ε) + wd·p),
 *   m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), t counting steps from 1.
 */
import { DTYPES, type Dtype, WorkloadError } from '../workloads.ts'

export interface TrainModel {
  readonly layers: number
  /** Width of the residual stream (GPT-2's n_embd). */
  readonly dModel: number
  readonly heads: number
  /** Hidden width of the MLP (4·dModel in GPT-2). */
  readonly mlp: number
  readonly vocab: number
  /** Position embeddings (the longest sequence the model takes). */
  readonly positions: number
}

export interface TrainWorkload {
  readonly kind: 'train'
  readonly model: TrainModel
  readonly batch: number
  readonly seq: number
  /** 'f32': everything f32. 'f16': mixed precision (f16 operands, f32 accumulation, master weights and optimizer state, loss scale). */
  readonly dtype: Dtype
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number
  /** Mixed precision's initial loss scale (PyTorch GradScaler's init_scale is 2^16; 4096 here); unused with f32. */
  readonly initialLossScale: number
  /** Seed of the initial parameters (shared by every backend and the reference). */
  readonly initSeed: number
  /** Seed of the token data (trainData in data.ts). */
  readonly dataSeed: number
}

/** GPT2-large's shape (the paper's Table 2: 774 M parameters). */
export const GPT2_LARGE: TrainModel = Object.freeze({
  layers: 36,
  dModel: 1280,
  heads: 20,
  mlp: 5120,
  vocab: 50257,
  positions: 1024,
})

/** A model that trains in seconds on two CPU cores or a software adapter. */
export const QUICK_MODEL: TrainModel = Object.freeze({
  layers: 2,
  dModel: 64,
  heads: 4,
  mlp: 256,
  vocab: 256,
  positions: 64,
})

export const TRAIN_PRESET_NAMES = ['quick', 'paper'] as const
export type TrainPresetName = (typeof TRAIN_PRESET_NAMES)[number]

export interface TrainPreset {
  readonly model: TrainModel
  /** Batch sizes to run (the paper's Table 4: 8 on M2 Ultra and A6000, 4 on M2 Max, 2 on M2 Pro). */
  readonly batches: readonly number[]
  readonly seq: number
  /** Where the shape comes from, and what is this project's own choice. */
  readonly source: string
}

export const TRAIN_PRESETS: Readonly<Record<TrainPresetName, TrainPreset>> = Object.freeze({
  paper: Object.freeze({
    model: GPT2_LARGE,
    batches: Object.freeze([8, 4, 2]),
    seq: 512,
    source:
      "GPT2-large's shape and the paper's batch sizes (Table 4); the paper gives no sequence length: 512 is this project's choice",
  }),
  quick: Object.freeze({
    model: QUICK_MODEL,
    batches: Object.freeze([8]),
    seq: 64,
    source: "this project's own small model of GPT-2's shape, sized to train in seconds on two CPU cores",
  }),
})

export interface TrainSpec {
  /** A model shape, or a preset's name. */
  model: TrainModel | TrainPresetName
  batch: number
  seq: number
  dtype?: Dtype
  learningRate?: number
  beta1?: number
  beta2?: number
  epsilon?: number
  weightDecay?: number
  initialLossScale?: number
  initSeed?: number
  dataSeed?: number
}

export const TRAIN_DEFAULTS = Object.freeze({
  learningRate: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  initialLossScale: 4096,
  initSeed: 1234,
  dataSeed: 5678,
})

/** Largest element count of any one buffer (see workloads.ts MAX_ELEMENTS); larger models are refused. */
const MAX_BUFFER_ELEMENTS = 2 ** 31 - 1

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_BUFFER_ELEMENTS) {
    throw new WorkloadError(
      `train: field '${field}' must be a positive integer below 2^31, got ${JSON.stringify(value) ?? String(value)}`,
    )
  }
  return value
}

function real(field: string, value: unknown, fallback: number, ok: (x: number) => boolean, rule: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new WorkloadError(`train: field '${field}' must be ${rule}, got ${JSON.stringify(value) ?? String(value)}`)
  }
  return value
}

function seed(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new WorkloadError(`train: field '${field}' must be an integer in [0, 2^32), got ${JSON.stringify(value)}`)
  }
  return value
}

function modelFrom(value: unknown): TrainModel {
  if (typeof value === 'string') {
    if ((TRAIN_PRESET_NAMES as readonly string[]).includes(value)) return TRAIN_PRESETS[value as TrainPresetName].model
    throw new WorkloadError(
      `train: field 'model' must be a model shape or one of ${TRAIN_PRESET_NAMES.join(', ')}, got ${JSON.stringify(value)}`,
    )
  }
  if (typeof value !== 'object' || value === null) {
    throw new WorkloadError(`train: field 'model' must be a model shape or a preset's name, got ${String(value)}`)
  }
  const m = value as Record<string, unknown>
  const model: TrainModel = {
    layers: positiveInteger('model.layers', m.layers),
    dModel: positiveInteger('model.dModel', m.dModel),
    heads: positiveInteger('model.heads', m.heads),
    mlp: positiveInteger('model.mlp', m.mlp),
    vocab: positiveInteger('model.vocab', m.vocab),
    positions: positiveInteger('model.positions', m.positions),
  }
  if (model.dModel % model.heads !== 0) {
    throw new WorkloadError(`train: model.dModel (${model.dModel}) must be a multiple of model.heads (${model.heads})`)
  }
  return Object.freeze(model)
}

/** One training step of a GPT-2-shaped model (see the module comment); validated before anything is allocated. */
export function train(spec: TrainSpec): TrainWorkload {
  if (typeof spec !== 'object' || spec === null) throw new WorkloadError('train: expected an options object')
  const s = spec as unknown as Record<string, unknown>
  const model = modelFrom(s.model)
  const batch = positiveInteger('batch', s.batch)
  const seq = positiveInteger('seq', s.seq)
  if (seq > model.positions) {
    throw new WorkloadError(`train: field 'seq' (${seq}) exceeds the model's ${model.positions} positions`)
  }
  if (s.dtype !== undefined && !(DTYPES as readonly unknown[]).includes(s.dtype)) {
    throw new WorkloadError(`train: field 'dtype' must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(s.dtype)}`)
  }
  const d = TRAIN_DEFAULTS
  const w: TrainWorkload = {
    kind: 'train',
    model,
    batch,
    seq,
    dtype: (s.dtype as Dtype | undefined) ?? 'f32',
    learningRate: real('learningRate', s.learningRate, d.learningRate, (x) => x > 0, 'a positive number'),
    beta1: real('beta1', s.beta1, d.beta1, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    beta2: real('beta2', s.beta2, d.beta2, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    epsilon: real('epsilon', s.epsilon, d.epsilon, (x) => x > 0, 'a positive number'),
    weightDecay: real('weightDecay', s.weightDecay, d.weightDecay, (x) => x >= 0, 'zero or positive'),
    initialLossScale: real('initialLossScale', s.initialLossScale, d.initialLossScale, (x) => x >= 1, 'at least 1'),
    initSeed: seed('initSeed', s.initSeed, d.initSeed),
    dataSeed: seed('dataSeed', s.dataSeed, d.dataSeed),
  }
  const tokens = batch * seq
  for (const [name, elements] of [
    ['wte', model.vocab * model.dModel],
    ['logits', tokens * model.vocab],
    ['attention', batch * model.heads * seq * seq],
    ['mlp activations', tokens * model.mlp],
  ] as const) {
    if (elements > MAX_BUFFER_ELEMENTS) {
      throw new WorkloadError(`train: buffer '${name}' would have ${elements} elements, over 2^31 - 1`)
    }
  }
  return Object.freeze(w)
}

/** `train quick-shape L2 d64 h4 mlp256 V256 P64, batch 8 x seq 64 f32` */
export function describeTrain(w: TrainWorkload): string {
  const m = w.model
  return `train L${m.layers} d${m.dModel} h${m.heads} mlp${m.mlp} V${m.vocab} P${m.positions} ${w.batch}x${w.seq} ${w.dtype}`
}

// ---------------------------------------------------------------- parameters

export interface ParameterTensor {
  readonly name: string
  readonly shape: readonly number[]
  /** Offset in elements into the flat parameter (and gradient, and moment) buffer. */
  readonly offset: number
  readonly size: number
}

/** The flat parameter buffer's tensors, in order (see the module comment). Time: O(layers). */
export function parameterLayout(model: TrainModel): ParameterTensor[] {
  const { dModel: d, mlp, vocab, positions } = model
  const out: ParameterTensor[] = []
  let offset = 0
  const add = (name: string, ...shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1)
    out.push({ name, shape, offset, size })
    offset += size
  }
  add('wte', vocab, d)
  add('wpe', positions, d)
  for (let l = 0; l < model.layers; l++) {
    add(`layer${l}.ln1.weight`, d)
    add(`layer${l}.ln1.bias`, d)
    add(`layer${l}.attn.qkv.weight`, d, 3 * d)
    add(`layer${l}.attn.qkv.bias`, 3 * d)
    add(`layer${l}.attn.proj.weight`, d, d)
    add(`layer${l}.attn.proj.bias`, d)
    add(`layer${l}.ln2.weight`, d)
    add(`layer${l}.ln2.bias`, d)
    add(`layer${l}.mlp.fc.weight`, d, mlp)
    add(`layer${l}.mlp.fc.bias`, mlp)
    add(`layer${l}.mlp.proj.weight`, mlp, d)
    add(`layer${l}.mlp.proj.bias`, d)
  }
  add('lnf.weight', d)
  add('lnf.bias', d)
  return out
}

/** Parameters of the model: GPT2-large's shape gives 774,030,080. Time: O(1). */
export function parameterCount(model: TrainModel): number {
  const { dModel: d, mlp, vocab, positions, layers } = model
  const perLayer = 4 * d * d + 2 * d * mlp + 9 * d + mlp
  return vocab * d + positions * d + layers * perLayer + 2 * d
}

/**
 * A small workload of the same kind as `w` for verification by proxy (verify.ts): two layers (so
 * a fault between blocks shows), at most 4 heads of at most 16 dimensions, the MLP as many times
 * dModel as in `w`, at most 512 tokens of vocabulary and 64 positions, batch at most 2; the same
 * dtype, optimizer settings and seeds. Its float64 reference takes seconds.
 */
export function trainProxyOf(w: TrainWorkload): TrainWorkload {
  const m = w.model
  const heads = Math.min(m.heads, 4)
  const dModel = heads * Math.min(m.dModel / m.heads, 16)
  const positions = Math.min(m.positions, 64)
  return train({
    ...w,
    model: {
      layers: Math.min(m.layers, 2),
      dModel,
      heads,
      mlp: Math.max(1, Math.round((m.mlp / m.dModel) * dModel)),
      vocab: Math.min(m.vocab, 512),
      positions,
    },
    batch: Math.min(w.batch, 2),
    seq: Math.min(w.seq, positions),
  })
}
