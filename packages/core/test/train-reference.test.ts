import { describe, expect, test } from 'vitest'
import {
  initParameters,
  parameterCount,
  parameterLayout,
  referenceAdamW,
  referenceLoss,
  referenceStep,
  TRAIN_FAULTS,
  type TrainWorkload,
  train,
  trainData,
} from '../src/train/index.ts'

/** A model small enough to difference every parameter: 2 layers, d 8, 2 heads, vocabulary 11, 5 positions. */
const tiny = train({
  model: { layers: 2, dModel: 8, heads: 2, mlp: 12, vocab: 11, positions: 6 },
  batch: 2,
  seq: 5,
})

function float64(a: Float32Array): Float64Array {
  return Float64Array.from(a)
}

/** Central finite differences of the reference loss, every parameter. */
function numericGradient(w: TrainWorkload, p: Float64Array, tokens: Int32Array, h = 1e-5): Float64Array {
  const out = new Float64Array(p.length)
  for (let i = 0; i < p.length; i++) {
    const keep = p[i]!
    p[i] = keep + h
    const up = referenceLoss(w, p, tokens)
    p[i] = keep - h
    const down = referenceLoss(w, p, tokens)
    p[i] = keep
    out[i] = (up - down) / (2 * h)
  }
  return out
}

/** The worst tensor: largest |analytic − numeric| over the tensor's largest |numeric|, with its name. */
function worstTensor(w: TrainWorkload, analytic: Float64Array, numeric: Float64Array): { name: string; error: number } {
  let worst = { name: '', error: 0 }
  for (const t of parameterLayout(w.model)) {
    let diff = 0
    let scale = 0
    for (let i = t.offset; i < t.offset + t.size; i++) {
      diff = Math.max(diff, Math.abs(analytic[i]! - numeric[i]!))
      scale = Math.max(scale, Math.abs(numeric[i]!))
    }
    const error = diff / Math.max(scale, 1e-12)
    if (!(error <= worst.error)) worst = { name: t.name, error }
  }
  return worst
}

const params = float64(initParameters(tiny.model, 7, { jitter: true }))
// Larger weights than GPT-2's 0.02 so every path (attention included) carries a gradient well above rounding.
for (let i = 0; i < params.length; i++) params[i] = params[i]! * 10
for (const t of parameterLayout(tiny.model)) {
  if (/ln\d?\.|lnf/.test(t.name)) for (let i = t.offset; i < t.offset + t.size; i++) params[i] = params[i]! / 10
}
const tokens = trainData(tiny)
const numeric = numericGradient(tiny, params, tokens)

describe('the float64 reference of the training step', () => {
  test("GPT2-large's shape has 774,030,080 parameters, and the layout covers them all once", () => {
    expect(parameterCount({ layers: 36, dModel: 1280, heads: 20, mlp: 5120, vocab: 50257, positions: 1024 })).toBe(
      774_030_080,
    )
    const layout = parameterLayout(tiny.model)
    const last = layout[layout.length - 1]!
    expect(last.offset + last.size).toBe(parameterCount(tiny.model))
    expect(params.length).toBe(parameterCount(tiny.model))
  })

  test('its backward matches central finite differences for every parameter tensor', () => {
    const { gradients } = referenceStep(tiny, params, tokens)
    const worst = worstTensor(tiny, gradients, numeric)
    expect(worst.error, `worst tensor ${worst.name}`).toBeLessThan(1e-6)
    // Every tensor has a gradient to check (none identically zero).
    for (const t of parameterLayout(tiny.model)) {
      const norm = numeric.subarray(t.offset, t.offset + t.size).reduce((s, x) => s + Math.abs(x), 0)
      expect(norm, t.name).toBeGreaterThan(1e-6)
    }
  })

  test.each(TRAIN_FAULTS)('a sign flipped in the backward of %s is caught', (fault) => {
    const { gradients } = referenceStep(tiny, params, tokens, { fault })
    expect(worstTensor(tiny, gradients, numeric).error).toBeGreaterThan(0.1)
  })

  test('AdamW: one step from zero moments moves each parameter by lr·(sign(g) + wd·p)', () => {
    const w = train({ model: tiny.model, batch: 1, seq: 2, learningRate: 0.01, weightDecay: 0.1 })
    const p = new Float64Array([1, -2, 0.5])
    const g = new Float64Array([3, -0.25, 0])
    const m = new Float64Array(3)
    const v = new Float64Array(3)
    referenceAdamW(w, p, g, m, v, 1)
    // m̂ = g, v̂ = g², so m̂/(√v̂ + ε) = sign(g) (0 for g = 0).
    expect(p[0]).toBeCloseTo(1 - 0.01 * (1 + 0.1 * 1), 6)
    expect(p[1]).toBeCloseTo(-2 - 0.01 * (-1 + 0.1 * -2), 6)
    expect(p[2]).toBeCloseTo(0.5 - 0.01 * 0.1 * 0.5, 12)
    expect(m[0]).toBeCloseTo(0.3, 12)
    expect(v[0]).toBeCloseTo(0.009, 12)
  })
})
