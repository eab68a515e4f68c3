/**
 * The float64 reference of the training step (workload.ts states the model and its conventions):
 * the loss, every parameter's gradient, and AdamW's update, written plainly, one loop nest per
 * kernel, so that it can be read against the maths. Its backward pass is checked against central
 * finite differences of its own forward (test/train-reference.test.ts); every backend is then
 * checked against it (verify.ts).
 *
 * `fault` flips the sign of one kernel's backward output, for the tests that show a wrong
 * gradient is caught; the native backends take the same names (TRAIN_FAULTS).
 *
 * Cost: the step's FLOPs (counts.ts) in JavaScript float64, about a second per GFLOP.
 */
import type { TrainWorkload } from './workload.ts'
import { parameterLayout } from './workload.ts'

/** Kernels whose backward a test can corrupt (a sign flip of its output), here and in native backends. */
export const TRAIN_FAULTS = [
  'cross-entropy',
  'head',
  'layernorm',
  'linear-input',
  'linear-weight',
  'bias',
  'attention',
  'softmax',
  'gelu',
  'embedding',
] as const
export type TrainFault = (typeof TRAIN_FAULTS)[number]

export const LAYER_NORM_EPSILON = 1e-5

export interface ReferenceOptions {
  /** Flips the sign of this kernel's backward output (tests only). */
  readonly fault?: TrainFault
}

export interface ReferenceStep {
  /** Mean cross-entropy over the batch's positions. */
  readonly loss: number
  /** d loss / d parameter, in the parameter layout. */
  readonly gradients: Float64Array
}

/** Offsets of a layer's tensors in the flat parameter buffer. */
interface LayerOffsets {
  ln1w: number
  ln1b: number
  qkvw: number
  qkvb: number
  projw: number
  projb: number
  ln2w: number
  ln2b: number
  fcw: number
  fcb: number
  fcprojw: number
  fcprojb: number
}

function offsets(w: TrainWorkload): { wte: number; wpe: number; layers: LayerOffsets[]; lnfw: number; lnfb: number } {
  const at = new Map(parameterLayout(w.model).map((t) => [t.name, t.offset]))
  const of = (name: string) => {
    const o = at.get(name)
    if (o === undefined) throw new Error(`no parameter named ${name}`)
    return o
  }
  const layers: LayerOffsets[] = []
  for (let l = 0; l < w.model.layers; l++) {
    const p = `layer${l}.`
    layers.push({
      ln1w: of(`${p}ln1.weight`),
      ln1b: of(`${p}ln1.bias`),
      qkvw: of(`${p}attn.qkv.weight`),
      qkvb: of(`${p}attn.qkv.bias`),
      projw: of(`${p}attn.proj.weight`),
      projb: of(`${p}attn.proj.bias`),
      ln2w: of(`${p}ln2.weight`),
      ln2b: of(`${p}ln2.bias`),
      fcw: of(`${p}mlp.fc.weight`),
      fcb: of(`${p}mlp.fc.bias`),
      fcprojw: of(`${p}mlp.proj.weight`),
      fcprojb: of(`${p}mlp.proj.bias`),
    })
  }
  return { wte: of('wte'), wpe: of('wpe'), layers, lnfw: of('lnf.weight'), lnfb: of('lnf.bias') }
}

// ---------------------------------------------------------------- kernels (forward, backward)

function layerNorm(
  out: Float64Array,
  mean: Float64Array,
  rstd: Float64Array,
  x: Float64Array,
  p: Float64Array,
  gOff: number,
  bOff: number,
  N: number,
  d: number,
): void {
  for (let n = 0; n < N; n++) {
    let mu = 0
    for (let i = 0; i < d; i++) mu += x[n * d + i]!
    mu /= d
    let variance = 0
    for (let i = 0; i < d; i++) variance += (x[n * d + i]! - mu) ** 2
    variance /= d
    const rs = 1 / Math.sqrt(variance + LAYER_NORM_EPSILON)
    mean[n] = mu
    rstd[n] = rs
    for (let i = 0; i < d; i++) out[n * d + i] = (x[n * d + i]! - mu) * rs * p[gOff + i]! + p[bOff + i]!
  }
}

/** Adds the input's gradient to dx and the scale's and shift's to g. */
function layerNormBackward(
  dx: Float64Array,
  g: Float64Array,
  gOff: number,
  bOff: number,
  dout: Float64Array,
  x: Float64Array,
  mean: Float64Array,
  rstd: Float64Array,
  p: Float64Array,
  N: number,
  d: number,
  sign: number,
): void {
  for (let n = 0; n < N; n++) {
    const mu = mean[n]!
    const rs = rstd[n]!
    let meanDxhat = 0
    let meanDxhatXhat = 0
    for (let i = 0; i < d; i++) {
      const xhat = (x[n * d + i]! - mu) * rs
      const dxhat = dout[n * d + i]! * p[gOff + i]!
      meanDxhat += dxhat
      meanDxhatXhat += dxhat * xhat
      g[gOff + i] = g[gOff + i]! + dout[n * d + i]! * xhat
      g[bOff + i] = g[bOff + i]! + dout[n * d + i]!
    }
    meanDxhat /= d
    meanDxhatXhat /= d
    for (let i = 0; i < d; i++) {
      const xhat = (x[n * d + i]! - mu) * rs
      const dxhat = dout[n * d + i]! * p[gOff + i]!
      dx[n * d + i] = dx[n * d + i]! + sign * rs * (dxhat - meanDxhat - xhat * meanDxhatXhat)
    }
  }
}

/** A linear layer's weight W (I x O, at wOff in the parameters), bias (at bOff; none when bOff < 0), and its N rows of input. */
interface LinearLayer {
  readonly wOff: number
  readonly bOff: number
  readonly N: number
  readonly I: number
  readonly O: number
}

/** out (N x O) = x (N x I) · W + b. */
function linear(out: Float64Array, x: Float64Array, p: Float64Array, layer: LinearLayer): void {
  const { wOff, bOff, N, I, O } = layer
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = bOff >= 0 ? p[bOff + o]! : 0
      for (let i = 0; i < I; i++) s += x[n * I + i]! * p[wOff + i * O + o]!
      out[n * O + o] = s
    }
  }
}

/** Sets dx = dout · Wᵀ and adds Xᵀ·dout to W's gradient and the column sums of dout to b's. */
function linearBackward(
  dx: Float64Array,
  g: Float64Array,
  dout: Float64Array,
  x: Float64Array,
  p: Float64Array,
  layer: LinearLayer,
  fault: TrainFault | undefined,
): void {
  const { wOff, bOff, N, I, O } = layer
  const sx = fault === 'linear-input' ? -1 : 1
  const sw = fault === 'linear-weight' ? -1 : 1
  const sb = fault === 'bias' ? -1 : 1
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0
      for (let o = 0; o < O; o++) s += dout[n * O + o]! * p[wOff + i * O + o]!
      dx[n * I + i] = sx * s
    }
  }
  for (let i = 0; i < I; i++) {
    for (let o = 0; o < O; o++) {
      let s = 0
      for (let n = 0; n < N; n++) s += x[n * I + i]! * dout[n * O + o]!
      g[wOff + i * O + o] = g[wOff + i * O + o]! + sw * s
    }
  }
  if (bOff >= 0) {
    for (let o = 0; o < O; o++) {
      let s = 0
      for (let n = 0; n < N; n++) s += dout[n * O + o]!
      g[bOff + o] = g[bOff + o]! + sb * s
    }
  }
}

interface Shape {
  B: number
  T: number
  d: number
  H: number
}

/** Causal multi-head attention over qkv (N x 3d: q, k, v, head h at columns h·hs): out (N x d), probabilities att (B·H·T·T). */
function attention(out: Float64Array, att: Float64Array, qkv: Float64Array, s: Shape): void {
  const { B, T, d, H } = s
  const hs = d / H
  const scale = 1 / Math.sqrt(hs)
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * 3 * d + h * hs
        const row = ((b * H + h) * T + t) * T
        let max = Number.NEGATIVE_INFINITY
        for (let u = 0; u <= t; u++) {
          const k = (b * T + u) * 3 * d + d + h * hs
          let dot = 0
          for (let i = 0; i < hs; i++) dot += qkv[q + i]! * qkv[k + i]!
          att[row + u] = dot * scale
          if (dot * scale > max) max = dot * scale
        }
        let sum = 0
        for (let u = 0; u <= t; u++) {
          const e = Math.exp(att[row + u]! - max)
          att[row + u] = e
          sum += e
        }
        for (let u = 0; u < T; u++) att[row + u] = u <= t ? att[row + u]! / sum : 0
        for (let i = 0; i < hs; i++) {
          let y = 0
          for (let u = 0; u <= t; u++) y += att[row + u]! * qkv[(b * T + u) * 3 * d + 2 * d + h * hs + i]!
          out[(b * T + t) * d + h * hs + i] = y
        }
      }
    }
  }
}

/** Sets dqkv from dout (N x d) through the attention whose probabilities are att. */
function attentionBackward(
  dqkv: Float64Array,
  dout: Float64Array,
  qkv: Float64Array,
  att: Float64Array,
  s: Shape,
  fault: TrainFault | undefined,
): void {
  const { B, T, d, H } = s
  const hs = d / H
  const scale = 1 / Math.sqrt(hs)
  const sa = fault === 'attention' ? -1 : 1
  const ss = fault === 'softmax' ? -1 : 1
  dqkv.fill(0)
  const dp = new Float64Array(T)
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * H + h) * T + t) * T
        const dy = (b * T + t) * d + h * hs
        // y_t = Σ_u p_u v_u: dp_u = dy·v_u, dv_u += p_u·dy
        for (let u = 0; u <= t; u++) {
          const v = (b * T + u) * 3 * d + 2 * d + h * hs
          let dot = 0
          for (let i = 0; i < hs; i++) {
            dot += dout[dy + i]! * qkv[v + i]!
            dqkv[v + i] = dqkv[v + i]! + sa * att[row + u]! * dout[dy + i]!
          }
          dp[u] = sa * dot
        }
        // softmax: ds_u = p_u (dp_u − Σ_j p_j dp_j)
        let inner = 0
        for (let u = 0; u <= t; u++) inner += att[row + u]! * dp[u]!
        const q = (b * T + t) * 3 * d + h * hs
        for (let u = 0; u <= t; u++) {
          const ds = ss * att[row + u]! * (dp[u]! - inner) * scale
          const k = (b * T + u) * 3 * d + d + h * hs
          for (let i = 0; i < hs; i++) {
            dqkv[q + i] = dqkv[q + i]! + ds * qkv[k + i]!
            dqkv[k + i] = dqkv[k + i]! + ds * qkv[q + i]!
          }
        }
      }
    }
  }
}

const GELU_C = Math.sqrt(2 / Math.PI)

function gelu(out: Float64Array, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)))
  }
}

function geluBackward(dx: Float64Array, dout: Float64Array, x: Float64Array, sign: number): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    const th = Math.tanh(GELU_C * (v + 0.044715 * v * v * v))
    const grad = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * GELU_C * (1 + 3 * 0.044715 * v * v)
    dx[i] = sign * grad * dout[i]!
  }
}

// ---------------------------------------------------------------- the model

interface Activations {
  x0: Float64Array
  layers: Array<{
    input: Float64Array
    ln1: Float64Array
    ln1Mean: Float64Array
    ln1Rstd: Float64Array
    qkv: Float64Array
    att: Float64Array
    attY: Float64Array
    res2: Float64Array
    ln2: Float64Array
    ln2Mean: Float64Array
    ln2Rstd: Float64Array
    fc: Float64Array
    gelu: Float64Array
  }>
  xL: Float64Array
  lnf: Float64Array
  lnfMean: Float64Array
  lnfRstd: Float64Array
  probs: Float64Array
}

function forward(
  w: TrainWorkload,
  p: Float64Array,
  tokens: Int32Array,
): { loss: number; acts: Activations; targets: Int32Array } {
  const { dModel: d, heads: H, mlp, vocab: V } = w.model
  const B = w.batch
  const T = w.seq
  const N = B * T
  const o = offsets(w)
  if (tokens.length !== B * (T + 1)) {
    throw new Error(`tokens: expected ${B * (T + 1)} (batch x (seq + 1)), got ${tokens.length}`)
  }
  const inputs = new Int32Array(N)
  const targets = new Int32Array(N)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = tokens[b * (T + 1) + t]!
      targets[b * T + t] = tokens[b * (T + 1) + t + 1]!
    }
  }
  const x0 = new Float64Array(N * d)
  for (let n = 0; n < N; n++) {
    const tok = inputs[n]!
    const pos = n % T
    for (let i = 0; i < d; i++) x0[n * d + i] = p[o.wte + tok * d + i]! + p[o.wpe + pos * d + i]!
  }
  const shape = { B, T, d, H }
  const layers: Activations['layers'] = []
  let x = x0
  for (const L of o.layers) {
    const ln1 = new Float64Array(N * d)
    const ln1Mean = new Float64Array(N)
    const ln1Rstd = new Float64Array(N)
    layerNorm(ln1, ln1Mean, ln1Rstd, x, p, L.ln1w, L.ln1b, N, d)
    const qkv = new Float64Array(N * 3 * d)
    linear(qkv, ln1, p, { wOff: L.qkvw, bOff: L.qkvb, N, I: d, O: 3 * d })
    const att = new Float64Array(B * H * T * T)
    const attY = new Float64Array(N * d)
    attention(attY, att, qkv, shape)
    const res2 = new Float64Array(N * d)
    linear(res2, attY, p, { wOff: L.projw, bOff: L.projb, N, I: d, O: d })
    for (let i = 0; i < N * d; i++) res2[i] = res2[i]! + x[i]!
    const ln2 = new Float64Array(N * d)
    const ln2Mean = new Float64Array(N)
    const ln2Rstd = new Float64Array(N)
    layerNorm(ln2, ln2Mean, ln2Rstd, res2, p, L.ln2w, L.ln2b, N, d)
    const fc = new Float64Array(N * mlp)
    linear(fc, ln2, p, { wOff: L.fcw, bOff: L.fcb, N, I: d, O: mlp })
    const g = new Float64Array(N * mlp)
    gelu(g, fc)
    const out = new Float64Array(N * d)
    linear(out, g, p, { wOff: L.fcprojw, bOff: L.fcprojb, N, I: mlp, O: d })
    for (let i = 0; i < N * d; i++) out[i] = out[i]! + res2[i]!
    layers.push({ input: x, ln1, ln1Mean, ln1Rstd, qkv, att, attY, res2, ln2, ln2Mean, ln2Rstd, fc, gelu: g })
    x = out
  }
  const lnf = new Float64Array(N * d)
  const lnfMean = new Float64Array(N)
  const lnfRstd = new Float64Array(N)
  layerNorm(lnf, lnfMean, lnfRstd, x, p, o.lnfw, o.lnfb, N, d)
  // Tied head: logits = lnf · wteᵀ, then softmax and cross-entropy per position.
  const probs = new Float64Array(N * V)
  let loss = 0
  for (let n = 0; n < N; n++) {
    let max = Number.NEGATIVE_INFINITY
    for (let v = 0; v < V; v++) {
      let s = 0
      for (let i = 0; i < d; i++) s += lnf[n * d + i]! * p[o.wte + v * d + i]!
      probs[n * V + v] = s
      if (s > max) max = s
    }
    let sum = 0
    for (let v = 0; v < V; v++) {
      const e = Math.exp(probs[n * V + v]! - max)
      probs[n * V + v] = e
      sum += e
    }
    for (let v = 0; v < V; v++) probs[n * V + v] = probs[n * V + v]! / sum
    loss -= Math.log(probs[n * V + targets[n]!]!)
  }
  return { loss: loss / N, acts: { x0, layers, xL: x, lnf, lnfMean, lnfRstd, probs }, targets }
}

/** The mean cross-entropy of the model with parameters p on the batch `tokens` (forward only). */
export function referenceLoss(w: TrainWorkload, p: Float64Array, tokens: Int32Array): number {
  return forward(w, p, tokens).loss
}

/** Loss and gradients of one step (forward and backward), in float64. */
export function referenceStep(
  w: TrainWorkload,
  p: Float64Array,
  tokens: Int32Array,
  options: ReferenceOptions = {},
): ReferenceStep {
  const { dModel: d, heads: H, mlp, vocab: V } = w.model
  const B = w.batch
  const T = w.seq
  const N = B * T
  const o = offsets(w)
  const fault = options.fault
  const { loss, acts, targets } = forward(w, p, tokens)
  const g = new Float64Array(p.length)
  // Cross-entropy: dlogits = (probs − onehot) / N.
  const sce = fault === 'cross-entropy' ? -1 : 1
  const dlogits = new Float64Array(N * V)
  for (let n = 0; n < N; n++) {
    for (let v = 0; v < V; v++) {
      dlogits[n * V + v] = (sce * (acts.probs[n * V + v]! - (v === targets[n] ? 1 : 0))) / N
    }
  }
  // Head: dlnf = dlogits · wte; dwte += dlogitsᵀ · lnf.
  const sh = fault === 'head' ? -1 : 1
  const dlnf = new Float64Array(N * d)
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < d; i++) {
      let s = 0
      for (let v = 0; v < V; v++) s += dlogits[n * V + v]! * p[o.wte + v * d + i]!
      dlnf[n * d + i] = sh * s
    }
  }
  for (let v = 0; v < V; v++) {
    for (let i = 0; i < d; i++) {
      let s = 0
      for (let n = 0; n < N; n++) s += dlogits[n * V + v]! * acts.lnf[n * d + i]!
      g[o.wte + v * d + i] = g[o.wte + v * d + i]! + sh * s
    }
  }
  const sln = fault === 'layernorm' ? -1 : 1
  let dx = new Float64Array(N * d)
  layerNormBackward(dx, g, o.lnfw, o.lnfb, dlnf, acts.xL, acts.lnfMean, acts.lnfRstd, p, N, d, sln)
  const shape = { B, T, d, H }
  for (let l = o.layers.length - 1; l >= 0; l--) {
    const L = o.layers[l]!
    const a = acts.layers[l]!
    // out = res2 + fcproj(gelu(fc(ln2(res2)))): dres2 = dx + the MLP branch's input gradient.
    const dgelu = new Float64Array(N * mlp)
    linearBackward(dgelu, g, dx, a.gelu, p, { wOff: L.fcprojw, bOff: L.fcprojb, N, I: mlp, O: d }, fault)
    const dfc = new Float64Array(N * mlp)
    geluBackward(dfc, dgelu, a.fc, fault === 'gelu' ? -1 : 1)
    const dln2 = new Float64Array(N * d)
    linearBackward(dln2, g, dfc, a.ln2, p, { wOff: L.fcw, bOff: L.fcb, N, I: d, O: mlp }, fault)
    const dres2 = Float64Array.from(dx)
    layerNormBackward(dres2, g, L.ln2w, L.ln2b, dln2, a.res2, a.ln2Mean, a.ln2Rstd, p, N, d, sln)
    // res2 = input + proj(attention(qkv(ln1(input)))).
    const dattY = new Float64Array(N * d)
    linearBackward(dattY, g, dres2, a.attY, p, { wOff: L.projw, bOff: L.projb, N, I: d, O: d }, fault)
    const dqkv = new Float64Array(N * 3 * d)
    attentionBackward(dqkv, dattY, a.qkv, a.att, shape, fault)
    const dln1 = new Float64Array(N * d)
    linearBackward(dln1, g, dqkv, a.ln1, p, { wOff: L.qkvw, bOff: L.qkvb, N, I: d, O: 3 * d }, fault)
    const dinput = Float64Array.from(dres2)
    layerNormBackward(dinput, g, L.ln1w, L.ln1b, dln1, a.input, a.ln1Mean, a.ln1Rstd, p, N, d, sln)
    dx = dinput
  }
  // Embeddings: scatter-add into the token's row of wte and the position's row of wpe.
  const se = fault === 'embedding' ? -1 : 1
  const inputs = (n: number) => tokens[Math.floor(n / T) * (T + 1) + (n % T)]!
  for (let n = 0; n < N; n++) {
    const tok = inputs(n)
    const pos = n % T
    for (let i = 0; i < d; i++) {
      g[o.wte + tok * d + i] = g[o.wte + tok * d + i]! + se * dx[n * d + i]!
      g[o.wpe + pos * d + i] = g[o.wpe + pos * d + i]! + se * dx[n * d + i]!
    }
  }
  return { loss, gradients: g }
}

/**
 * AdamW on every parameter, in place: `step` counts from 1 (see workload.ts for the update).
 * Time: O(parameters).
 */
export function referenceAdamW(
  w: TrainWorkload,
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  step: number,
): void {
  const { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr, weightDecay: wd } = w
  const c1 = 1 - b1 ** step
  const c2 = 1 - b2 ** step
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!
    const mi = b1 * m[i]! + (1 - b1) * gi
    const vi = b2 * v[i]! + (1 - b2) * gi * gi
    m[i] = mi
    v[i] = vi
    p[i] = p[i]! - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * p[i]!)
  }
}
