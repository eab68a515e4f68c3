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
 * reference, then the full shape's own losses). The per-step series below runs on the CPU.
 */
import {
  DTYPES,
  describeTrain,
  initParameters,
  referenceLoss,
  TRAIN_PRESETS,
  type TrainingRunnable,
  type TrainWorkload,
  toleranceFor,
  train,
  trainData,
  trainFigures,
  trainTarget,
} from '@gpubench/core'
import { cpuBackend } from '@gpubench/native'
import { expectThroughput } from '@gpubench/vitest-plugin'
import { describe, expect, test } from 'vitest'
import { benchName, preset, rule } from './preset.ts'

const { model, batches, seq } = TRAIN_PRESETS[preset]

/** The GPU backends that train, each in its own row beside the CPU's. */
const GPU_BACKENDS = ['webgpu', 'cuda', 'metal'] as const

/** Steps of the longer run that gives the per-step series (Fig. 4). */
const SERIES_STEPS = preset === 'quick' ? 60 : 20

/** The per-step series of a fresh run on the CPU, and its first loss checked against the float64 reference at the same start. */
async function series(w: TrainWorkload) {
  const runnable = (await cpuBackend.prepare(trainTarget(w, 'cpu'))) as TrainingRunnable
  try {
    await runnable.cold()
    const records = [runnable.records[0]!, ...(await runnable.steps(SERIES_STEPS))]
    const reference = referenceLoss(w, Float64Array.from(initParameters(w.model, w.initSeed)), trainData(w))
    return { records, reference, figures: trainFigures(w, records.slice(1)) }
  } finally {
    await runnable.dispose()
  }
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

        const run = await series(w)
        // The backend's first loss is the reference's at the same parameters and data.
        const first = run.records[0]!.loss
        expect(Math.abs(first - run.reference) / run.reference).toBeLessThan(toleranceFor(dtype, w.batch * w.seq))
        const losses = run.records.map((r) => r.loss)
        expect(losses.every(Number.isFinite)).toBe(true)
        expect(losses.at(-1)!).toBeLessThan(losses[0]!)
        const f = run.figures
        await context.annotate(
          `series of ${run.records.length} steps: loss ${losses[0]!.toFixed(3)} → ${losses.at(-1)!.toFixed(3)}; median step ${(f.medianStepNs / 1e6).toFixed(2)} ms, ${f.tokensPerSecond.toFixed(0)} tokens/s; RSS ${(f.lastRssBytes / 2 ** 20).toFixed(1)} MiB; page faults per step ${f.minorFaultsPerStep.toFixed(1)} minor, ${f.majorFaultsPerStep.toFixed(1)} major`,
          'gpubench-training-series',
          { contentType: 'application/json', body: JSON.stringify({ workload: w, steps: run.records }) },
        )
      })
    }
  }
})
