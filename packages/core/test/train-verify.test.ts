/**
 * verifyTraining against sessions built on the float64 reference itself (a test fixture, not a
 * backend): a faithful one passes; each kind of mistake a backend can make fails, named.
 */
import { describe, expect, test } from 'vitest'
import {
  parameterLayout,
  referenceAdamW,
  referenceStep,
  type TrainFault,
  type TrainingSession,
  type TrainStepRecord,
  type TrainWorkload,
  train,
  verifyTraining,
} from '../src/train/index.ts'

interface Mistakes {
  /** Flip the sign of one tensor's gradient. */
  flipTensor?: string
  /** A kernel's backward flipped (the reference's fault). */
  fault?: TrainFault
  /** Leave a tensor's gradient unwritten (the poison stays). */
  skipTensor?: string
  /** AdamW without the bias correction. */
  noBiasCorrection?: boolean
  /** Timed steps that do not update the parameters (the optimizer alone still does). */
  frozen?: boolean
}

function referenceSession(w: TrainWorkload, mistakes: Mistakes = {}): TrainingSession {
  const layout = parameterLayout(w.model)
  const count = layout.reduce((s, t) => s + t.size, 0)
  let p = new Float64Array(count)
  let g = new Float64Array(count)
  let m = new Float64Array(count)
  let v = new Float64Array(count)
  let t = 0
  let tokens = new Int32Array(0)
  const round = (a: Float64Array) => Float64Array.from(Float32Array.from(a))
  const backward = () => {
    const r = referenceStep(w, p, tokens, mistakes.fault ? { fault: mistakes.fault } : {})
    const skipped = new Float64Array(g)
    g = round(r.gradients)
    for (const tensor of layout) {
      if (tensor.name === mistakes.flipTensor)
        for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) g[i] = -g[i]!
      if (tensor.name === mistakes.skipTensor)
        g.set(skipped.subarray(tensor.offset, tensor.offset + tensor.size), tensor.offset)
    }
    return r.loss
  }
  const update = () => {
    t += 1
    if (mistakes.noBiasCorrection) {
      // Bias correction off: as if the step count were very large.
      referenceAdamW(w, p, g, m, v, 1e9)
    } else referenceAdamW(w, p, g, m, v, t)
    p = round(p)
  }
  return {
    workload: w,
    energy: 'unavailable: a test fixture',
    notes: [],
    async setParameters(x) {
      p = Float64Array.from(x)
      m = new Float64Array(count)
      v = new Float64Array(count)
      t = 0
    },
    async setTokens(x) {
      tokens = Int32Array.from(x)
    },
    async poisonGradients() {
      g.fill(Number.NaN)
    },
    async forwardBackward() {
      return backward()
    },
    async readGradients(out) {
      out.set(g)
    },
    async writeGradients(x) {
      g = Float64Array.from(x)
    },
    async optimizerStep() {
      update()
    },
    async readParameters(out) {
      out.set(p)
    },
    async readMoments(mo, vo) {
      mo.set(m)
      vo.set(v)
    },
    async steps(n) {
      const out: TrainStepRecord[] = []
      for (let i = 0; i < n; i++) {
        const loss = backward()
        if (!mistakes.frozen) update()
        out.push({
          stepNs: 1,
          forwardNs: 0,
          backwardNs: 0,
          optimizerNs: 0,
          loss,
          rssBytes: 0,
          minorFaults: 0,
          majorFaults: 0,
          lossScale: 1,
          skipped: false,
          energyJoules: null,
        })
      }
      return out
    },
    peakRssBytes: () => Number.NaN,
    async dispose() {},
  }
}

const w = train({
  model: { layers: 2, dModel: 16, heads: 2, mlp: 32, vocab: 24, positions: 12 },
  batch: 2,
  seq: 12,
  learningRate: 1e-2,
})

describe('verifyTraining', () => {
  test('a faithful session passes every check: gradients, AdamW, a falling loss', async () => {
    const r = await verifyTraining(referenceSession(w), { steps: 30 })
    expect(r.failure).toBeUndefined()
    expect(r.ok).toBe(true)
    expect(r.maxScaledError).toBeLessThan(1e-6)
    expect(r.losses.length).toBe(30)
    expect(r.losses.at(-1)!).toBeLessThan(0.75 * r.losses[0]!)
  })

  test('one tensor with its gradient sign-flipped fails, named', async () => {
    const r = await verifyTraining(referenceSession(w, { flipTensor: 'layer1.mlp.fc.bias' }))
    expect(r.ok).toBe(false)
    expect(r.failure).toMatch(/^gradient of layer1\.mlp\.fc\.bias\[/)
  })

  test.each(['layernorm', 'softmax', 'embedding'] as const)(
    'a sign flipped in the backward of %s fails',
    async (fault) => {
      const r = await verifyTraining(referenceSession(w, { fault }))
      expect(r.ok).toBe(false)
      expect(r.failure).toMatch(/^gradient of /)
    },
  )

  test('a gradient left unwritten shows as the poison', async () => {
    const r = await verifyTraining(referenceSession(w, { skipTensor: 'wpe' }))
    expect(r.failure).toMatch(/^gradient of wpe\[0\] is NaN/)
  })

  test('AdamW without bias correction fails the AdamW check', async () => {
    const r = await verifyTraining(referenceSession(w, { noBiasCorrection: true }))
    expect(r.failure).toMatch(/^AdamW: /)
  })

  test('a session whose steps do not learn fails the training check', async () => {
    const r = await verifyTraining(referenceSession(w, { frozen: true }), { steps: 5 })
    expect(r.failure).toMatch(/^training: the loss went from/)
  })
})
