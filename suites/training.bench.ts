/**
 * Training (the paper's Table 4, Fig. 3 and Fig. 4; the blog's charts): one step of a GPT-2-shaped
 * model (forward, backward, AdamW) on the backend's own kernels, timed step by step.
 *
 * - `paper`: GPT2-large's shape (774,030,080 parameters) at the paper's batch sizes 8, 4 and 2
 *   (Table 4). The paper gives no sequence length: 512 is this project's choice. A backend whose
 *   memory cannot hold a configuration refuses it with its estimate, before allocating.
 * - `quick`: a 2-layer model of the same shape (d 64, 4 heads, vocabulary 256, sequence 64,
 *   batch 8) that trains in seconds on two CPU cores.
 *
 * Each benchmark is verified first (core's verifyTraining: one step's loss and every gradient
 * against the float64 reference, AdamW alone, the loss falling), then measured like every other
 * suite; its record's notes carry the forward/backward/optimizer split, samples/s, tokens/s,
 * FLOP/s and model FLOP/s, the parameter count and memory estimate, RSS and page faults, and
 * energy or why it is unavailable. A longer run then gives the per-step series of the paper's
 * Fig. 4 (step time, loss, RSS, page faults), attached to the test as JSON.
 *
 * Backends: the CPU, in f32 and in f16 as mixed precision (the paper's AMP rows: f16 operands of
 * every product, f32 master weights and AdamW state, a loss scale with overflow skip). A backend
 * without f16 reports it skipped with its reason. WebGPU, in f32 and in f16 as the CPU's mixed
 * precision (WGSL compute passes, phases timed with timestamp queries, in the backend's device
 * process); f16 needs the adapter's 'shader-f16' feature, and an adapter without it reports the f16
 * row skipped with that reason. CUDA (src/cuda/train.cu: cuBLAS or the own GEMM, CUDA events per
 * phase, device memory and NVML energy per step) and Metal (src/metal/train.mm: MPS and MSL,
 * command-buffer times per phase), each skipped with its probe's reason where the device is
 * missing. On the GPU backends the paper preset, too large for verification's float64 reference,
 * is verified by proxy (core's verifyByProxy: the same backend's step at a small shape against the
 * reference, then the full shape's own losses). The per-step series runs on the CPU, CUDA and Metal.
 */
import {
  type Backend,
  type BackendKind,
  DTYPES,
  describeTrain,
  initParameters,
  PROXY_FIRST_LOSS_FRACTION,
  referenceLoss,
  TRAIN_PRESETS,
  type TrainingRunnable,
  type TrainStepRecord,
  type TrainWorkload,
  toleranceFor,
  train,
  trainData,
  trainFigures,
  trainReferenceRefusal,
  trainTarget,
} from '@gpubench/core'
import { cpuBackend, cudaBackend, metalBackend } from '@gpubench/native'
import { expectThroughput } from '@gpubench/vitest-plugin'
import { describe, expect, type TestContext, test } from 'vitest'
import { benchName, preset, rule } from './preset.ts'

const { model, batches, seq } = TRAIN_PRESETS[preset]

/** The GPU backends that train, each in its own row beside the CPU's. */
const GPU_BACKENDS = ['webgpu', 'cuda', 'metal'] as const

/** Steps of the longer run that gives the per-step series (Fig. 4). */
const SERIES_STEPS = preset === 'quick' ? 60 : 20

/** The native backends whose runnables give a per-step series (WebGPU's does not). */
const SERIES_BACKENDS: Readonly<Record<string, Backend>> = { cpu: cpuBackend, cuda: cudaBackend, metal: metalBackend }

/**
 * The per-step series of a fresh run on a native backend (Fig. 4: step time, loss, memory, page
 * faults), annotated on the test as JSON. Its first loss is checked against the float64 reference
 * at the same start where the reference is within its budget, else against ln(vocabulary), as a
 * fresh model's; the loss must fall.
 */
async function series(context: TestContext, w: TrainWorkload, backend: string) {
  const target = trainTarget(w, backend as BackendKind)
  const runnable = (await SERIES_BACKENDS[backend]!.prepare(target)) as TrainingRunnable
  let records: TrainStepRecord[]
  try {
    await runnable.cold()
    records = [runnable.records[0]!, ...(await runnable.steps(SERIES_STEPS))]
  } finally {
    await runnable.dispose()
  }
  const first = records[0]!.loss
  if (trainReferenceRefusal(w) === null) {
    const reference = referenceLoss(w, Float64Array.from(initParameters(w.model, w.initSeed)), trainData(w))
    expect(Math.abs(first - reference) / reference).toBeLessThan(toleranceFor(w.dtype, w.batch * w.seq))
  } else {
    expect(Math.abs(first - Math.log(w.model.vocab))).toBeLessThan(PROXY_FIRST_LOSS_FRACTION * Math.log(w.model.vocab))
  }
  const losses = records.map((r) => r.loss)
  expect(losses.every(Number.isFinite)).toBe(true)
  expect(losses.at(-1)!).toBeLessThan(losses[0]!)
  const f = trainFigures(w, records.slice(1))
  const memory =
    f.lastDeviceBytes === null
      ? `RSS ${(f.lastRssBytes / 2 ** 20).toFixed(1)} MiB`
      : `device memory ${(f.lastDeviceBytes / 2 ** 30).toFixed(2)} GiB, RSS ${(f.lastRssBytes / 2 ** 20).toFixed(1)} MiB`
  await context.annotate(
    `series of ${records.length} steps on ${backend}: loss ${losses[0]!.toFixed(3)} → ${losses.at(-1)!.toFixed(3)}; median step ${(f.medianStepNs / 1e6).toFixed(2)} ms, ${f.tokensPerSecond.toFixed(0)} tokens/s; ${memory}; page faults per step ${f.minorFaultsPerStep.toFixed(1)} minor, ${f.majorFaultsPerStep.toFixed(1)} major`,
    'gpubench-training-series',
    { contentType: 'application/json', body: JSON.stringify({ workload: w, backend, steps: records }) },
  )
}

describe('training', () => {
  for (const batch of batches) {
    for (const dtype of DTYPES) {
      const w = train({ model, batch, seq, dtype })
      for (const backend of GPU_BACKENDS) {
        test(`${describeTrain(w)} [${backend}]`, async (context) => {
          // Skipped with its reason where the device is missing, or for f16 where WebGPU's adapter lacks 'shader-f16'.
          const result = await context.bench
            .gpu(benchName('training', describeTrain(w)), trainTarget(w, backend), {
              backend,
              stoppingRule: rule,
              required: false,
            })
            .run()
          expectThroughput(result).toMatchBaseline()
          expect(result.notes.join('\n')).toMatch(/forward .*backward .*optimizer/)
          if (backend in SERIES_BACKENDS) await series(context, w, backend)
        })
      }
      test(describeTrain(w), async (context) => {
        const result = await context.bench
          .gpu(benchName('training', describeTrain(w)), trainTarget(w, 'cpu'), {
            backend: 'cpu',
            stoppingRule: rule,
            // A backend without mixed precision skips f16 with its reason instead of failing, and on
            // the paper preset a backend that refuses the step (memory, or a verification that
            // would take hours) is listed as skipped with its estimate.
            required: preset === 'quick' && dtype === 'f32',
          })
          .run()
        expectThroughput(result).toMatchBaseline()
        expect(result.notes.join('\n')).toMatch(/forward .*backward .*optimizer/)

        await series(context, w, 'cpu')
      })
    }
  }
})
