/**
 * Verification of a backend's training step against the float64 reference, before any figure
 * counts. Four checks, in order, each able to fail on its own:
 * 1. One step from the shared seed (initial parameters with jittered biases and LayerNorm
 *    parameters, so a backward that ignores them shows; data from trainData), every gradient
 *    poisoned with NaN first: the loss and every gradient tensor against referenceStep. A tensor's
 *    error is its largest |got − want| over its largest |want|; accepted up to trainTolerance
 *    (core's tolerance for the dtype at the step's deepest reduction, wider for the chains of f16
 *    products of mixed precision). Every element is scanned for
 *    NaN or infinity.
 * 2. AdamW on its own: known gradients written, two updates (so the bias correction's step count
 *    is exercised), parameters and both moments against referenceAdamW. A parameter's error is
 *    counted beyond the rounding of the parameter itself to f32 and in units of the learning rate.
 * 3. Training: `steps` steps from the workload's own initialisation; the last loss must be below
 *    `lossFraction` of the first, and every loss and every parameter afterwards finite.
 * 4. The first steps' losses are reported (`losses`) so backends can be compared with each other.
 *
 * A step too large for the reference (trainReferenceRefusal: GPT2-large would keep it busy for
 * hours) is verified by proxy where the backend offers one (`verifyByProxy`): the checks above on
 * the same backend's step at a small shape of the same kind (trainProxyOf), then the full shape's
 * own steps: finite losses starting near ln(vocabulary), as a fresh model's must, and falling.
 */
import type { VerifyReport } from '../reference.ts'
import { toleranceFor } from '../reference.ts'
import { initParameters, trainData } from './data.ts'
import { referenceAdamW, referenceStep } from './reference.ts'
import type { TrainingSession } from './session.ts'
import { describeTrain, parameterCount, parameterLayout, type TrainWorkload, trainProxyOf } from './workload.ts'

export interface TrainVerifyOptions {
  /** Steps of the training check (default 40). */
  readonly steps?: number
  /** The last loss must be below this fraction of the first (default 0.75). */
  readonly lossFraction?: number
  /**
   * The backend's session for another workload (its proxy, trainProxyOf): when given, a step too
   * large for the reference is verified by proxy (verifyByProxy) instead of refused.
   */
  readonly proxy?: (w: TrainWorkload) => Promise<TrainingSession>
}

export interface TrainVerifyReport extends VerifyReport {
  /** The backend's loss of the verification step and the reference's. */
  readonly loss: number
  readonly referenceLoss: number
  /** The tensor with the largest gradient error, and that error. */
  readonly worstTensor: string
  /** AdamW's largest error (parameters in units of the learning rate, moments relative). */
  readonly adamwError: number
  /** Losses of the training check, step by step. */
  readonly losses: readonly number[]
  readonly lossFraction: number
  /** Verified by proxy: the proxy's workload (describeTrain), and the full shape's own losses over its check. */
  readonly proxy?: string
  readonly fullShapeLosses?: readonly number[]
}

/** Steps of the full shape's own check when verifying by proxy. */
export const PROXY_FULL_SHAPE_STEPS = 8
/** A fresh model's first loss must lie within this fraction of ln(vocabulary). */
export const PROXY_FIRST_LOSS_FRACTION = 0.15

/**
 * Verifies a step too large for the reference (see the module comment): the proxy session gets
 * every check of verifyTraining; then `session` itself, from the workload's own initialisation,
 * must give finite losses, the first within PROXY_FIRST_LOSS_FRACTION of ln(vocabulary), the last
 * below the first, and finite parameters afterwards. The report's figures are the proxy's.
 */
export async function verifyByProxy(
  session: TrainingSession,
  proxy: (w: TrainWorkload) => Promise<TrainingSession>,
  options: TrainVerifyOptions = {},
): Promise<TrainVerifyReport> {
  const w = session.workload
  const pw = trainProxyOf(w)
  const name = describeTrain(pw)
  const small = await proxy(pw)
  let report: TrainVerifyReport
  try {
    report = await verifyTraining(small, options)
  } finally {
    await small.dispose()
  }
  if (!report.ok) return { ...report, proxy: name, failure: `on the proxy ${name}: ${report.failure}` }
  await session.setParameters(initParameters(w.model, w.initSeed))
  await session.setTokens(trainData(w))
  const losses = (await session.steps(PROXY_FULL_SHAPE_STEPS)).map((r) => r.loss)
  const done = { ...report, proxy: name, fullShapeLosses: losses }
  const fail = (failure: string): TrainVerifyReport => ({ ...done, ok: false, failure: `full shape: ${failure}` })
  const bad = losses.findIndex((l) => !Number.isFinite(l))
  if (bad >= 0) return fail(`the loss of step ${bad + 1} is ${losses[bad]}`)
  const expected = Math.log(w.model.vocab)
  const first = losses[0]!
  if (!(Math.abs(first - expected) <= PROXY_FIRST_LOSS_FRACTION * expected)) {
    return fail(
      `the first loss ${first.toFixed(4)} is not within ${PROXY_FIRST_LOSS_FRACTION * 100}% of ln(${w.model.vocab}) = ${expected.toFixed(4)}, as a fresh model's is`,
    )
  }
  const last = losses[losses.length - 1]!
  if (!(last < first)) return fail(`the loss went from ${first.toFixed(4)} to ${last.toFixed(4)}, not down`)
  const count = parameterCount(w.model)
  const trained = new Float32Array(count).fill(Number.NaN)
  await session.readParameters(trained)
  const badParam = nonFinite(trained)
  if (badParam >= 0) return fail(`after ${losses.length} steps parameter ${badParam} is ${trained[badParam]}`)
  return { ...done, scanned: done.scanned + count }
}

/**
 * The accepted error of a step's loss and gradients (each relative to its tensor's largest
 * value): core's tolerance for the dtype at the step's deepest reduction; with f16 (mixed
 * precision) that tolerance grows with the square root of trainProductChain, since every product
 * rounds its operands and result to f16 and a gradient is the end of a chain of such products,
 * whose rounding errors add up like a random walk. Measured (the CPU step, 150 fresh seeds of a
 * 2-layer model): the largest error was 2.6e-3 against 8.8e-3 accepted; a sign flip in any
 * kernel's backward gives an error near 2.
 */
export function trainTolerance(w: TrainWorkload): number {
  const single = toleranceFor(w.dtype, trainReductionDepth(w))
  return w.dtype === 'f16' ? single * Math.sqrt(trainProductChain(w)) : single
}

/** The most f16-rounded products on any gradient's path: 4 per block and the head, forward and backward. */
export function trainProductChain(w: TrainWorkload): number {
  return 2 * (4 * w.model.layers + 1)
}

/** The deepest reduction of a step: the longest dot product or sum any gradient is made of. */
export function trainReductionDepth(w: TrainWorkload): number {
  const { dModel, mlp, vocab } = w.model
  return Math.max(w.batch * w.seq, dModel, mlp, vocab, w.seq)
}

const F32_HALF_ULP = 2 ** -24

function nonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i
  return -1
}

/** Runs the checks of the module comment on a backend's session; leaves the session with the workload's parameters uploaded and trained. */
export async function verifyTraining(
  session: TrainingSession,
  options: TrainVerifyOptions = {},
): Promise<TrainVerifyReport> {
  const w = session.workload
  const steps = options.steps ?? 40
  const lossFraction = options.lossFraction ?? 0.75
  const tolerance = trainTolerance(w)
  const layout = parameterLayout(w.model)
  const count = layout.reduce((s, t) => s + t.size, 0)
  const base = { seed: w.initSeed, tolerance, lossFraction }
  let checked = 0
  let scanned = 0
  let maxScaledError = 0
  let worstTensor = ''
  const fail = (failure: string, extra: Partial<TrainVerifyReport> = {}): TrainVerifyReport => ({
    ok: false,
    checked,
    scanned,
    maxScaledError: Math.max(maxScaledError, extra.maxScaledError ?? 0),
    loss: Number.NaN,
    referenceLoss: Number.NaN,
    worstTensor,
    adamwError: Number.NaN,
    losses: [],
    ...base,
    ...extra,
    failure,
  })

  // 1. One step against the reference.
  const params = initParameters(w.model, w.initSeed, { jitter: true })
  const tokens = trainData(w)
  await session.setParameters(params)
  await session.setTokens(tokens)
  await session.poisonGradients()
  const loss = await session.forwardBackward()
  const grads = new Float32Array(count).fill(Number.NaN)
  await session.readGradients(grads)
  const ref = referenceStep(w, Float64Array.from(params), tokens)
  const lossError = Math.abs(loss - ref.loss) / Math.abs(ref.loss)
  if (!(lossError <= tolerance)) {
    return fail(
      `loss ${loss}, expected ${ref.loss} (relative error ${lossError.toExponential(2)} > ${tolerance.toExponential(2)})`,
      {
        loss,
        referenceLoss: ref.loss,
      },
    )
  }
  for (const t of layout) {
    const got = grads.subarray(t.offset, t.offset + t.size)
    const bad = nonFinite(got)
    if (bad >= 0) {
      return fail(`gradient of ${t.name}[${bad}] is ${got[bad]} (unwritten or overflowed)`, {
        loss,
        referenceLoss: ref.loss,
      })
    }
    scanned += t.size
    let diff = 0
    let at = 0
    let scale = 0
    for (let i = 0; i < t.size; i++) {
      const want = ref.gradients[t.offset + i]!
      const e = Math.abs(got[i]! - want)
      if (e > diff) {
        diff = e
        at = i
      }
      scale = Math.max(scale, Math.abs(want))
    }
    checked += t.size
    const error = diff / Math.max(scale, Number.MIN_VALUE)
    if (error > maxScaledError) {
      maxScaledError = error
      worstTensor = t.name
    }
    if (!(error <= tolerance)) {
      return fail(
        `gradient of ${t.name}[${at}] = ${got[at]}, expected ${ref.gradients[t.offset + at]} (error ${error.toExponential(2)} of the tensor's largest gradient ${scale.toExponential(2)}, accepted ${tolerance.toExponential(2)})`,
        { loss, referenceLoss: ref.loss },
      )
    }
  }

  // 2. AdamW on its own: the reference's gradients (rounded to f32) applied twice.
  const g32 = Float32Array.from(ref.gradients)
  await session.setParameters(params)
  await session.writeGradients(g32)
  await session.optimizerStep()
  await session.writeGradients(g32)
  await session.optimizerStep()
  const p64 = Float64Array.from(params)
  const g64 = Float64Array.from(g32)
  const m64 = new Float64Array(count)
  const v64 = new Float64Array(count)
  referenceAdamW(w, p64, g64, m64, v64, 1)
  referenceAdamW(w, p64, g64, m64, v64, 2)
  const pGot = new Float32Array(count).fill(Number.NaN)
  const mGot = new Float32Array(count).fill(Number.NaN)
  const vGot = new Float32Array(count).fill(Number.NaN)
  await session.readParameters(pGot)
  await session.readMoments(mGot, vGot)
  const adamTolerance = toleranceFor('f32', 1)
  let adamwError = 0
  for (let i = 0; i < count; i++) {
    const pe = Math.max(0, Math.abs(pGot[i]! - p64[i]!) - F32_HALF_ULP * 2 * Math.abs(p64[i]!)) / w.learningRate
    const me = Math.abs(mGot[i]! - m64[i]!) / Math.max(Math.abs(m64[i]!), 1e-30)
    const ve = Math.abs(vGot[i]! - v64[i]!) / Math.max(Math.abs(v64[i]!), 1e-30)
    const e = Math.max(pe, me, ve)
    if (!(e <= adamTolerance)) {
      const t = layout.find((x) => i >= x.offset && i < x.offset + x.size)
      return fail(
        `AdamW: ${t?.name ?? '?'}[${i - (t?.offset ?? 0)}]: parameter ${pGot[i]} (expected ${p64[i]}), m ${mGot[i]} (${m64[i]}), v ${vGot[i]} (${v64[i]}); error ${e.toExponential(2)} > ${adamTolerance.toExponential(2)}`,
        { loss, referenceLoss: ref.loss, adamwError: e },
      )
    }
    adamwError = Math.max(adamwError, e)
  }
  checked += 3 * count
  scanned += 3 * count

  // 3. The loss falls, and nothing becomes non-finite.
  await session.setParameters(initParameters(w.model, w.initSeed))
  await session.setTokens(tokens)
  const records = await session.steps(steps)
  const losses = records.map((r) => r.loss)
  const done = { loss, referenceLoss: ref.loss, adamwError, losses }
  const badLoss = losses.findIndex((l) => !Number.isFinite(l))
  if (badLoss >= 0) return fail(`training: the loss of step ${badLoss + 1} is ${losses[badLoss]}`, done)
  const trained = new Float32Array(count).fill(Number.NaN)
  await session.readParameters(trained)
  const badParam = nonFinite(trained)
  if (badParam >= 0) {
    const t = layout.find((x) => badParam >= x.offset && badParam < x.offset + x.size)
    return fail(
      `training: after ${steps} steps ${t?.name}[${badParam - (t?.offset ?? 0)}] is ${trained[badParam]}`,
      done,
    )
  }
  const first = losses[0] ?? Number.NaN
  const last = losses[losses.length - 1] ?? Number.NaN
  if (!(last < lossFraction * first)) {
    return fail(
      `training: the loss went from ${first.toFixed(4)} to ${last.toFixed(4)} in ${steps} steps, not below ${lossFraction} of the start`,
      done,
    )
  }
  return { ok: true, checked, scanned, maxScaledError, worstTensor, ...base, ...done }
}
