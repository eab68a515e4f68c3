/**
 * What one training step costs: floating-point operations, bytes moved, and the memory it needs,
 * all from the workload alone, so a configuration too large for a machine is refused with its
 * estimate before anything is allocated.
 *
 * FLOP counts are exact for the products (a multiply-add is 2) and, for element-wise kernels,
 * exact under the costs per element stated in ELEMENT_FLOP (a convention every backend shares: an
 * exp or a tanh counts as one operation). Attention is causal: the T(T+1)/2 pairs a row may see
 * are counted, the useful work (a backend may compute the full square and discard the rest, as the
 * CPU's per-head products do; that waste is not counted as work done). Backward of a product is two products (input and weight
 * gradients), so 2x the forward.
 *
 * Model FLOPs are the conventional figure for model FLOP utilisation (PaLM, appendix B): 6 per
 * parameter and token, position embeddings excluded, plus 12·layers·dModel·seq per token for
 * attention (both directions, counted over the full square).
 */
import { MEMORY_SAFETY_FRACTION } from '../memory.ts'
import { formatBytes } from '../units.ts'
import { parameterCount, type TrainWorkload } from './workload.ts'

/** FLOP per element of the element-wise kernels (see the module comment). */
export const ELEMENT_FLOP = Object.freeze({
  /** mean 1, variance 3, normalise, scale and shift 4 */
  layerNormForward: 8,
  /** x̂ 2, dx̂ 1, the two row means 4, dx 4, dγ 2, dβ 1 */
  layerNormBackward: 14,
  /** x³ 2, inner 3, tanh 1, outer 3 */
  geluForward: 9,
  /** tanh and its inner 6, derivative 8, times the incoming gradient 1 */
  geluBackward: 15,
  /** max 1, subtract 1, exp 1, sum 1, divide 1 (attention rows and the cross-entropy's softmax) */
  softmaxForward: 5,
  /** Σ p·dp 2, p·(dp − Σ) 2 */
  softmaxBackward: 4,
  /** (p − onehot)/N */
  crossEntropyBackward: 2,
  /** m 3, v 4, bias corrections 2, √ 1, + ε 1, divide 1, weight decay 2, step 2 */
  adamw: 16,
})

/** FLOP of one step by phase. */
export interface TrainFlops {
  readonly forward: number
  readonly backward: number
  readonly optimizer: number
  readonly total: number
  /** The conventional model FLOPs (see the module comment), for model FLOP utilisation. */
  readonly model: number
}

/** Causal (query, key) pairs of all heads of the batch. */
function attentionPairs(w: TrainWorkload): number {
  return w.batch * w.model.heads * ((w.seq * (w.seq + 1)) / 2)
}

/** Exact FLOP of one training step (see the module comment). Time: O(1). */
export function trainFlopsOf(w: TrainWorkload): TrainFlops {
  const { layers: L, dModel: d, heads: H, mlp, vocab: V } = w.model
  const N = w.batch * w.seq
  const hs = d / H
  const P = attentionPairs(w)
  const e = ELEMENT_FLOP
  // Per layer, forward: two LayerNorms, four products with their biases, attention, GELU, two residual adds.
  const products = 2 * N * (d * 3 * d + d * d + d * mlp + mlp * d)
  const biases = N * (3 * d + d + mlp + d)
  const attention = 2 * P * hs + P + e.softmaxForward * P + 2 * P * hs
  const layerForward =
    2 * e.layerNormForward * N * d + products + biases + attention + e.geluForward * N * mlp + 2 * N * d
  const forward =
    N * d + // token + position embedding
    L * layerForward +
    e.layerNormForward * N * d + // final LayerNorm
    2 * N * d * V + // tied head
    e.softmaxForward * N * V // cross-entropy's softmax
  // Backward: products twice over, bias column sums, attention's four products, softmax, scale.
  const attentionBackward = 4 * 2 * P * hs + e.softmaxBackward * P + P
  const layerBackward =
    2 * e.layerNormBackward * N * d + 2 * products + biases + attentionBackward + e.geluBackward * N * mlp + 2 * N * d // the residual stream's gradient summed at both branches
  const backward =
    e.crossEntropyBackward * N * V +
    4 * N * d * V + // head: input and (tied) embedding gradients
    e.layerNormBackward * N * d +
    L * layerBackward +
    2 * N * d // scatter-add into the token and position embeddings
  const params = parameterCount(w.model)
  const optimizer = e.adamw * params
  const model = 6 * N * (params - w.model.positions * d) + 12 * L * d * w.seq * N
  return { forward, backward, optimizer, total: forward + backward + optimizer, model }
}

/** f32 elements of the activations a step keeps for its backward pass, and of its backward scratch. */
export interface ActivationElements {
  /** Kept from forward to backward: per layer and the model's ends. */
  readonly saved: number
  /** Gradients of activations, alive during backward only (one layer's worth, reused). */
  readonly scratch: number
}

/**
 * Activation elements of the reference layout (what the CPU backend allocates; other backends
 * may keep less and report their own). Per layer: ln1 and ln2 outputs with their means and
 * reciprocal deviations, qkv, the attention probabilities (batch·heads·seq²), the attention
 * output, the residual stream after each branch, the MLP's pre- and post-GELU activations. Ends:
 * the embedding sum, the final LayerNorm, the logits (probabilities in place), the per-token losses.
 */
export function activationElementsOf(w: TrainWorkload): ActivationElements {
  const { layers: L, dModel: d, heads: H, mlp, vocab: V } = w.model
  const N = w.batch * w.seq
  const att = w.batch * H * w.seq * w.seq
  const perLayer = N * (8 * d + 2 * mlp + 4) + att
  const saved = L * perLayer + N * d + (N * d + 2 * N) + N * V + N
  // dResidual, dLn, dAttY (N·d each), dQkv (N·3d), dFc and dGelu (N·mlp each), one layer's attention
  // gradient (batch·heads·seq²); the logits' gradient replaces the probabilities.
  const scratch = N * (6 * d + 2 * mlp) + att
  return { saved, scratch }
}

/** Bytes of memory a step needs, by part. */
export interface TrainMemoryEstimate {
  readonly parameters: number
  readonly weightsBytes: number
  readonly gradientsBytes: number
  /** AdamW's two moments. */
  readonly optimizerBytes: number
  /** Saved activations and backward scratch. */
  readonly activationsBytes: number
  /** The token batch (int32). */
  readonly dataBytes: number
  /** Mixed precision's f16 copy of the weights (0 for f32). */
  readonly halfWeightsBytes: number
  /** The sum of the above: what the backend allocates. */
  readonly totalBytes: number
  /** What verification adds on the host: the float64 reference's parameters, gradients and activations, and f32 copies read back. */
  readonly verificationBytes: number
}

/** The memory of one training step (weights, gradients and AdamW's moments: 16 bytes per parameter, as the paper's Table 2). Time: O(1). */
export function trainMemoryEstimateOf(w: TrainWorkload): TrainMemoryEstimate {
  const parameters = parameterCount(w.model)
  const acts = activationElementsOf(w)
  const weightsBytes = 4 * parameters
  const gradientsBytes = 4 * parameters
  const optimizerBytes = 8 * parameters
  const activationsBytes = 4 * (acts.saved + acts.scratch)
  const dataBytes = 4 * w.batch * (w.seq + 1)
  const halfWeightsBytes = w.dtype === 'f16' ? 2 * parameters : 0
  const totalBytes = weightsBytes + gradientsBytes + optimizerBytes + activationsBytes + dataBytes + halfWeightsBytes
  // float64 parameters, gradients and both moments (the AdamW check), float64 activations, and f32 read-backs of parameters and gradients.
  const verificationBytes = 8 * 4 * parameters + 8 * (acts.saved + acts.scratch) + 8 * parameters
  return {
    parameters,
    weightsBytes,
    gradientsBytes,
    optimizerBytes,
    activationsBytes,
    dataBytes,
    halfWeightsBytes,
    totalBytes,
    verificationBytes,
  }
}

/**
 * Minimum bytes a step moves to and from memory: parameters read by forward and by backward,
 * gradients written, AdamW reading parameters, gradients and both moments and writing three of
 * them back (40 bytes per parameter in all), the saved activations written once and read once,
 * and the tokens read. Time: O(1).
 */
export function trainBytesOf(w: TrainWorkload): number {
  const params = parameterCount(w.model)
  return 40 * params + 2 * 4 * activationElementsOf(w).saved + 4 * w.batch * (w.seq + 1)
}

/**
 * Null when the step (and its verification, when `verify`) fits in MEMORY_SAFETY_FRACTION of
 * `availableBytes`, else the reason with the estimate by part.
 */
export function trainMemoryRefusal(
  w: TrainWorkload,
  options: { readonly verify: boolean; readonly availableBytes: number },
): string | null {
  const m = trainMemoryEstimateOf(w)
  const need = m.totalBytes + (options.verify ? m.verificationBytes : 0)
  const budget = options.availableBytes * MEMORY_SAFETY_FRACTION
  if (need <= budget) return null
  const parts = [
    `weights ${formatBytes(m.weightsBytes)}`,
    `gradients ${formatBytes(m.gradientsBytes)}`,
    `AdamW state ${formatBytes(m.optimizerBytes)}`,
    `activations ${formatBytes(m.activationsBytes)}`,
    ...(m.halfWeightsBytes > 0 ? [`f16 weights ${formatBytes(m.halfWeightsBytes)}`] : []),
    ...(options.verify ? [`verification ${formatBytes(m.verificationBytes)}`] : []),
  ]
  const percent = Math.round(MEMORY_SAFETY_FRACTION * 100)
  return `needs ${formatBytes(need)} for ${m.parameters} parameters (${parts.join(', ')}), more than ${percent}% of the ${formatBytes(options.availableBytes)} of memory available (${formatBytes(budget)}); refused before allocating anything: use a smaller model, batch or sequence`
}

/**
 * The float64 reference's speed in JavaScript, as measured on the quick preset (0.4-0.5 GFLOP/s
 * on one core of an AMD EPYC, 2026-12-03): the basis of `trainReferenceRefusal`'s estimate.
 */
export const REFERENCE_FLOP_PER_SECOND = 5e8

/** The longest a verification's float64 reference may take before a step is refused (2 minutes). */
export const REFERENCE_BUDGET_NS = 120e9

/**
 * Null when verifying `w` against the float64 reference (verify.ts: one forward and backward,
 * then the AdamW check) fits in REFERENCE_BUDGET_NS, else the reason with the estimate. A backend
 * refuses such a step before allocating, as for memory: without the check no figure counts, and
 * the paper's GPT2-large would keep the reference busy for hours.
 */
export function trainReferenceRefusal(w: TrainWorkload): string | null {
  const flops = trainFlopsOf(w)
  const referenceFlops = flops.forward + flops.backward + 2 * flops.optimizer
  const ns = (referenceFlops / REFERENCE_FLOP_PER_SECOND) * 1e9
  if (ns <= REFERENCE_BUDGET_NS) return null
  const hours = ns / 3.6e12
  const time = hours >= 1 ? `${hours.toFixed(1)} h` : `${(ns / 60e9).toFixed(0)} min`
  return `verification's float64 reference of this step would take about ${time} (${(referenceFlops / 1e9).toFixed(0)} GFLOP at about ${REFERENCE_FLOP_PER_SECOND / 1e9} GFLOP/s in JavaScript), over the budget of ${REFERENCE_BUDGET_NS / 60e9} min; refused before allocating anything: use the quick preset or a smaller model`
}
