import { describe, expect, test } from 'vitest'
import {
  activationElementsOf,
  GPT2_LARGE,
  initParameters,
  markovChain,
  parameterCount,
  parameterLayout,
  TRAIN_PRESETS,
  train,
  trainBytesOf,
  trainData,
  trainFlopsOf,
  trainMemoryEstimateOf,
  trainMemoryRefusal,
  trainReferenceRefusal,
  trainTarget,
  trainWorkloadOf,
} from '../src/train/index.ts'
import { WorkloadError } from '../src/workloads.ts'

describe('train()', () => {
  test('presets: the paper shape with batches 8, 4, 2 and seq 512 (its own choice, said so); quick is small', () => {
    expect(TRAIN_PRESETS.paper.model).toBe(GPT2_LARGE)
    expect(TRAIN_PRESETS.paper.batches).toEqual([8, 4, 2])
    expect(TRAIN_PRESETS.paper.seq).toBe(512)
    expect(TRAIN_PRESETS.paper.source).toMatch(/gives no sequence length/)
    expect(parameterCount(TRAIN_PRESETS.paper.model)).toBe(774_030_080)
    expect(parameterCount(TRAIN_PRESETS.quick.model)).toBeLessThan(200_000)
    const w = train({ model: 'paper', batch: 8, seq: 512 })
    expect(w.model).toEqual(GPT2_LARGE)
    expect(w).toMatchObject({ dtype: 'f32', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 })
    expect(Object.isFrozen(w)).toBe(true)
  })

  test('bad fields are refused, naming them', () => {
    expect(() => train({ model: 'quick', batch: 0, seq: 8 })).toThrow(/'batch'/)
    expect(() => train({ model: 'quick', batch: 1, seq: 65 })).toThrow(/'seq' \(65\) exceeds the model's 64 positions/)
    expect(() => train({ model: { ...GPT2_LARGE, heads: 7 }, batch: 1, seq: 8 })).toThrow(/multiple of model.heads/)
    expect(() => train({ model: 'gpt5' as 'quick', batch: 1, seq: 8 })).toThrow(WorkloadError)
    expect(() => train({ model: 'quick', batch: 1, seq: 8, dtype: 'f64' as 'f32' })).toThrow(/'dtype'/)
    expect(() => train({ model: 'quick', batch: 1, seq: 8, beta2: 1 })).toThrow(/'beta2' must be in \[0, 1\)/)
    expect(() => train({ model: { ...GPT2_LARGE }, batch: 4096, seq: 1024 })).toThrow(/'logits'.*over 2\^31 - 1/)
  })

  test('a train target carries the workload and its counts, and is validated again on the way out', () => {
    const w = train({ model: 'quick', batch: 8, seq: 64 })
    const t = trainTarget(w, 'cpu')
    expect(t).toMatchObject({ kind: 'custom', backend: 'cpu', flops: trainFlopsOf(w).total, bytes: trainBytesOf(w) })
    expect(trainWorkloadOf(t)).toEqual(w)
    expect(trainWorkloadOf({ kind: 'custom', spec: { kind: 'gemm' } })).toBeNull()
    expect(() => trainWorkloadOf({ ...t, spec: { ...w, batch: -1 } })).toThrow(/'batch'/)
  })
})

describe('counts', () => {
  const base = { layers: 2, dModel: 16, heads: 2, mlp: 64, vocab: 50, positions: 32 }

  test('the head adds 2·N·d FLOP per vocabulary entry forward (plus the softmax) and 4·N·d + 2·N backward', () => {
    const a = trainFlopsOf(train({ model: base, batch: 2, seq: 8 }))
    const b = trainFlopsOf(train({ model: { ...base, vocab: 51 }, batch: 2, seq: 8 }))
    const N = 16
    expect(b.forward - a.forward).toBe(2 * N * 16 + 5 * N)
    expect(b.backward - a.backward).toBe(4 * N * 16 + 2 * N)
    expect(b.optimizer - a.optimizer).toBe(16 * 16) // one more wte row of 16 parameters, 16 FLOP each
  })

  test('a layer adds four products forward, twice that backward, and causal attention over T(T+1)/2 pairs', () => {
    const a = trainFlopsOf(train({ model: base, batch: 2, seq: 8 }))
    const b = trainFlopsOf(train({ model: { ...base, layers: 3 }, batch: 2, seq: 8 }))
    const N = 16
    const d = 16
    const products = 2 * N * (3 * d * d + d * d + 2 * d * 64)
    const pairs = 2 * 2 * ((8 * 9) / 2)
    const attentionProducts = 2 * 2 * pairs * 8
    const dForward = b.forward - a.forward
    expect(dForward - products - attentionProducts).toBeGreaterThan(0)
    // Element-wise work is small beside the products in this shape.
    expect(dForward - products - attentionProducts).toBeLessThan(0.5 * products)
    expect(b.backward - a.backward).toBeGreaterThan(2 * (products + attentionProducts))
  })

  test('model FLOPs: 6 per parameter (without position embeddings) and token, plus 12·L·d·T per token', () => {
    const w = train({ model: 'paper', batch: 8, seq: 512 })
    const N = 8 * 512
    expect(trainFlopsOf(w).model).toBe(6 * N * (774_030_080 - 1024 * 1280) + 12 * 36 * 1280 * 512 * N)
    // The executed step is within a few percent of it (attention is causal, element-wise work adds).
    const ratio = trainFlopsOf(w).total / trainFlopsOf(w).model
    expect(ratio).toBeGreaterThan(0.9)
    expect(ratio).toBeLessThan(1.1)
  })

  test("memory: 16 bytes per parameter for weights, gradients and AdamW's moments (the paper's Table 2), plus activations", () => {
    const w = train({ model: 'paper', batch: 8, seq: 512 })
    const m = trainMemoryEstimateOf(w)
    expect(m.weightsBytes + m.gradientsBytes + m.optimizerBytes).toBe(16 * 774_030_080)
    // Table 2 prints 12.094 for GPT2-large: 16 bytes x 774 M divided by 1.024e9.
    expect(((m.weightsBytes + m.gradientsBytes + m.optimizerBytes) / 1.024e9).toFixed(3)).toBe('12.094')
    const acts = activationElementsOf(w)
    expect(m.activationsBytes).toBe(4 * (acts.saved + acts.scratch))
    expect(m.totalBytes).toBe(
      m.weightsBytes + m.gradientsBytes + m.optimizerBytes + m.activationsBytes + m.dataBytes + m.halfWeightsBytes,
    )
    expect(
      trainMemoryEstimateOf(train({ model: 'quick', batch: 8, seq: 64, dtype: 'f16' })).halfWeightsBytes,
    ).toBeGreaterThan(0)
  })

  test('a configuration that does not fit is refused with its estimate; the quick one fits', () => {
    const paper = train({ model: 'paper', batch: 8, seq: 512 })
    const why = trainMemoryRefusal(paper, { verify: false, availableBytes: 24e9 })
    expect(why).toMatch(
      /^needs [\d.]+ GB for 774030080 parameters \(weights 3\.1 GB, gradients 3\.1 GB, AdamW state 6\.19 GB, activations/,
    )
    expect(why).toMatch(/refused before allocating anything/)
    expect(
      trainMemoryRefusal(train({ model: 'quick', batch: 8, seq: 64 }), { verify: true, availableBytes: 1e9 }),
    ).toBeNull()
  })

  test('verification is refused when its float64 reference would take hours; the quick preset is checked in seconds', () => {
    expect(trainReferenceRefusal(train({ model: 'paper', batch: 2, seq: 512 }))).toMatch(
      /would take about [\d.]+ h \(\d+ GFLOP at about 0\.5 GFLOP\/s in JavaScript\)/,
    )
    expect(trainReferenceRefusal(train({ model: 'quick', batch: 8, seq: 64 }))).toBeNull()
  })

  test('bytes: 40 per parameter, saved activations written and read, the tokens', () => {
    const w = train({ model: 'quick', batch: 8, seq: 64 })
    expect(trainBytesOf(w)).toBe(40 * parameterCount(w.model) + 8 * activationElementsOf(w).saved + 4 * 8 * 65)
  })
})

describe('data and initialisation', () => {
  test('tokens follow the seeded sparse Markov chain, and the seed decides them', () => {
    const w = train({ model: 'quick', batch: 8, seq: 64 })
    const tokens = trainData(w)
    expect(tokens.length).toBe(8 * 65)
    expect(trainData(w)).toEqual(tokens)
    expect(trainData(train({ model: 'quick', batch: 8, seq: 64, dataSeed: 1 }))).not.toEqual(tokens)
    const chain = markovChain(256, w.dataSeed)
    expect(chain.entropyNats).toBeGreaterThan(1)
    expect(chain.entropyNats).toBeLessThan(Math.log(256) / 3)
    for (let b = 0; b < 8; b++) {
      for (let t = 0; t < 64; t++) {
        const from = tokens[b * 65 + t]!
        const to = tokens[b * 65 + t + 1]!
        expect(Array.from(chain.successors.subarray(from * 4, from * 4 + 4))).toContain(to)
      }
    }
  })

  test("initialisation is GPT-2's, seeded; jitter moves biases and LayerNorm parameters off 0 and 1", () => {
    const model = TRAIN_PRESETS.quick.model
    const p = initParameters(model, 1)
    expect(initParameters(model, 1)).toEqual(p)
    const layout = parameterLayout(model)
    const tensor = (a: Float32Array, name: string) => {
      const t = layout.find((x) => x.name === name)!
      return a.subarray(t.offset, t.offset + t.size)
    }
    expect(tensor(p, 'layer0.ln1.weight').every((x) => x === 1)).toBe(true)
    expect(tensor(p, 'layer1.mlp.fc.bias').every((x) => x === 0)).toBe(true)
    const wte = tensor(p, 'wte')
    const sd = Math.sqrt(wte.reduce((s, x) => s + x * x, 0) / wte.length)
    expect(sd).toBeGreaterThan(0.018)
    expect(sd).toBeLessThan(0.022)
    const j = initParameters(model, 1, { jitter: true })
    expect(tensor(j, 'layer0.ln1.weight').some((x) => x !== 1)).toBe(true)
    expect(tensor(j, 'lnf.bias').some((x) => x !== 0)).toBe(true)
  })
})
