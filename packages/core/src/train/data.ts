/**
 * Training data without loading anything: token sequences drawn from a seeded sparse Markov
 * chain, so every backend trains on the same batch and the loss has somewhere to fall. Each token
 * has SUCCESSORS distinct successors with fixed probabilities, so after the first position the
 * best achievable loss is the chain's entropy rate (`entropyNats`, about 1.1 nats) against
 * ln(vocab) for a model that has learnt nothing. The initial parameters are seeded here too.
 */
import { rng } from '../measure/random.ts'
import { parameterLayout, type TrainModel, type TrainWorkload } from './workload.ts'

/** Successors per token and their probabilities. */
export const SUCCESSOR_PROBABILITIES: readonly number[] = Object.freeze([0.55, 0.25, 0.12, 0.08])

export interface MarkovChain {
  readonly vocab: number
  /** successors[token * K + j]: the j-th successor of token, K = probabilities.length. */
  readonly successors: Int32Array
  readonly probabilities: readonly number[]
  /** Entropy of the next token given the current one, in nats: the loss floor after the first position. */
  readonly entropyNats: number
}

/** The chain for a vocabulary (a vocabulary smaller than the successor count uses all tokens). Time: O(vocab). */
export function markovChain(vocab: number, seed: number): MarkovChain {
  const raw = SUCCESSOR_PROBABILITIES.slice(0, Math.min(vocab, SUCCESSOR_PROBABILITIES.length))
  const sum = raw.reduce((a, b) => a + b, 0)
  const probabilities = raw.map((p) => p / sum)
  const K = probabilities.length
  const next = rng(seed ^ 0x5bd1e995)
  const successors = new Int32Array(vocab * K)
  for (let t = 0; t < vocab; t++) {
    const chosen = new Set<number>()
    for (let j = 0; j < K; j++) {
      let s = Math.floor(next() * vocab)
      while (chosen.has(s)) s = (s + 1) % vocab
      chosen.add(s)
      successors[t * K + j] = s
    }
  }
  const entropyNats = -probabilities.reduce((h, p) => h + p * Math.log(p), 0)
  return { vocab, successors, probabilities, entropyNats }
}

/** `batch` rows of `seq + 1` tokens from the workload's chain and data seed. Time: O(batch·seq). */
export function trainData(w: TrainWorkload): Int32Array {
  const chain = markovChain(w.model.vocab, w.dataSeed)
  const next = rng(w.dataSeed)
  const K = chain.probabilities.length
  const rows = w.seq + 1
  const out = new Int32Array(w.batch * rows)
  for (let b = 0; b < w.batch; b++) {
    let token = Math.floor(next() * w.model.vocab)
    out[b * rows] = token
    for (let t = 1; t < rows; t++) {
      let u = next()
      let j = 0
      while (j < K - 1 && u >= (chain.probabilities[j] ?? 1)) {
        u -= chain.probabilities[j] ?? 0
        j++
      }
      token = chain.successors[token * K + j] ?? 0
      out[b * rows + t] = token
    }
  }
  return out
}

/** A standard normal draw from two uniforms (Box-Muller). */
function gaussian(next: () => number): number {
  const u = 1 - next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next())
}

export interface InitOptions {
  /**
   * Draw biases, LayerNorm scales and shifts at random around their usual values (±0.1) instead of
   * 0 and 1. Verification uses it: with γ = 1 and β = 0 a backward that ignores γ would pass.
   */
  readonly jitter?: boolean
}

/**
 * GPT-2's initialisation, seeded, rounded to f32 (the master weights every backend uploads):
 * weights and embeddings N(0, 0.02), the two projections into the residual stream N(0, 0.02/√(2·layers)),
 * biases 0, LayerNorm scales 1 and shifts 0. Time: O(parameters).
 */
export function initParameters(model: TrainModel, seed: number, options: InitOptions = {}): Float32Array {
  const layout = parameterLayout(model)
  const last = layout[layout.length - 1]
  const out = new Float32Array(last ? last.offset + last.size : 0)
  const next = rng(seed)
  const projection = 0.02 / Math.sqrt(2 * model.layers)
  for (const t of layout) {
    const isNorm = /\.ln\d\.|^lnf\./.test(t.name)
    const isBias = t.name.endsWith('.bias')
    for (let i = 0; i < t.size; i++) {
      let value: number
      if (isNorm && t.name.endsWith('.weight')) value = 1 + (options.jitter ? 0.2 * next() - 0.1 : 0)
      else if (isBias) value = options.jitter ? 0.2 * next() - 0.1 : 0
      else if (/\.proj\.weight$/.test(t.name)) value = projection * gaussian(next)
      else value = 0.02 * gaussian(next)
      out[t.offset + i] = value
    }
  }
  return out
}
