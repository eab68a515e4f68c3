/**
 * The CPU backend's training figures, for the notes the training issue asks for: per dtype of the
 * chosen preset, the median step with its forward/backward/optimizer split, samples/s, tokens/s,
 * FLOP/s and model FLOP/s, RSS and page faults per step, and the fraction of the CPU's GEMM rate
 * the step reaches (against the step's largest product alone, measured in the same process).
 *
 *   node_modules/.bin/node packages/native/scripts/training-figures.ts [--steps 100] [--preset quick]
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import {
  formatBytes,
  formatFlops,
  gemm,
  parameterCount,
  TRAIN_PRESETS,
  type TrainingRunnable,
  type TrainPresetName,
  train,
  trainFigures,
  trainMemoryEstimateOf,
  trainTarget,
} from '@gpubench/core'
import { cpuBackend } from '../src/index.ts'

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '100' }, preset: { type: 'string', default: 'quick' } },
})
const steps = Number(values.steps)
const presetName = values.preset as TrainPresetName
if (!(presetName in TRAIN_PRESETS)) throw new Error(`--preset must be quick or paper, got ${values.preset}`)
const { model, batches, seq } = TRAIN_PRESETS[presetName]
const probe = await cpuBackend.probe()
if (!probe.available) throw new Error(probe.reason)
console.log(`${probe.device.name}; gemm ${probe.device.details.gemm}; load ${loadavg()[0]?.toFixed(2)}`)

/** Median GEMM rate of the step's largest product (tokens x mlp x dModel), f32 or f16. */
async function gemmRate(dtype: 'f32' | 'f16', m: number, n: number, k: number): Promise<number> {
  const runnable = await cpuBackend.prepare(gemm({ m, n, k, dtype }))
  try {
    await runnable.cold()
    const ns = (await runnable.run(200)).sort((a, b) => a - b)
    return (2 * m * n * k * 1e9) / ns[ns.length >> 1]!
  } finally {
    await runnable.dispose()
  }
}

for (const batch of batches) {
  for (const dtype of ['f32', 'f16'] as const) {
    const w = train({ model, batch, seq, dtype })
    const why = cpuBackend.supports(trainTarget(w, 'cpu'))
    if (why !== true) {
      console.log(`${dtype} batch ${batch}: refused: ${why}`)
      continue
    }
    const runnable = (await cpuBackend.prepare(trainTarget(w, 'cpu'))) as TrainingRunnable
    const cold = await runnable.cold()
    await runnable.run(steps)
    const f = trainFigures(w, runnable.records.slice(1))
    const rss = runnable.records.at(-1)!.rssBytes
    await runnable.dispose()
    const tokens = batch * seq
    const rate = await gemmRate(dtype, tokens, model.mlp, model.dModel)
    const mem = trainMemoryEstimateOf(w)
    console.log(
      [
        `${dtype} batch ${batch} x seq ${seq}, ${parameterCount(model)} parameters, ${steps} steps (cold ${(cold / 1e6).toFixed(1)} ms)`,
        `  step ${(f.medianStepNs / 1e6).toFixed(2)} ms: forward ${(f.medianForwardNs / 1e6).toFixed(2)}, backward ${(f.medianBackwardNs / 1e6).toFixed(2)}, optimizer ${(f.medianOptimizerNs / 1e6).toFixed(2)} ms`,
        `  ${f.samplesPerSecond.toFixed(0)} samples/s, ${f.tokensPerSecond.toFixed(0)} tokens/s, ${formatFlops(f.flopPerSecond)} (model ${formatFlops(f.modelFlopPerSecond)})`,
        `  GEMM ${tokens}x${model.mlp}x${model.dModel} ${dtype}: ${formatFlops(rate)}; the step reaches ${((100 * f.flopPerSecond) / rate).toFixed(0)}% of it`,
        `  memory estimate ${formatBytes(mem.totalBytes)}; RSS ${formatBytes(rss)} after the last step; page faults per step ${f.minorFaultsPerStep.toFixed(2)} minor, ${f.majorFaultsPerStep.toFixed(2)} major`,
        `  loss ${f.firstLoss.toFixed(3)} -> ${f.lastLoss.toFixed(3)}${dtype === 'f16' ? `; loss scale ${f.lastLossScale}, ${f.skippedSteps} skipped` : ''}`,
      ].join('\n'),
    )
  }
}
