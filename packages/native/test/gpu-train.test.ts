/**
 * The training step on the native GPU backends (CUDA: src/cuda/train.cu; Metal: src/metal/train.mm)
 * against core's float64 reference, as the CPU's step is checked (cpu-train.test.ts): the quick
 * preset in f32 and f16 through the backend as a benchmark prepares it, every kernel's backward
 * shown to be checked, the overflow skip, device memory and energy in the records. These run where
 * the device is (a GPU host; the macOS workflow for Metal) and are skipped with the probe's reason
 * elsewhere. What runs everywhere: the refusals decided before a device is touched, and the native
 * layer's refusal, with the runtime's reason, where CUDA was built but no device answers.
 */
import {
  type Backend,
  parameterCount,
  type TrainingRunnable,
  toleranceFor,
  train,
  trainReductionDepth,
  trainTarget,
} from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import type { NativeTrainBackend } from '../src/addon-types.ts'
import { cudaBackend, loadAddon, metalBackend } from '../src/index.ts'
import { gpuTrainRefusal, nativeTrainingSession } from '../src/native-train.ts'
import { disposedAfterAll, small, trainingContractTests } from './train-contract.ts'

const load = await loadAddon()
const prepared = disposedAfterAll()

test('a GPU refuses, before allocating, a step over its memory, naming the estimate (not one over the reference’s budget: that one is verified by proxy)', () => {
  expect(gpuTrainRefusal(train({ model: 'quick', batch: 8, seq: 64 }), 80e9)).toBeNull()
  expect(gpuTrainRefusal(train({ model: 'quick', batch: 8, seq: 64 }), 1e6)).toMatch(
    /^needs [\d.]+ MB for \d+ parameters \(weights .*\), more than \d+% of the 1 MB of memory available/,
  )
  expect(gpuTrainRefusal(train({ model: 'paper', batch: 8, seq: 512 }), 80e9)).toBeNull()
  expect(gpuTrainRefusal(train({ model: 'paper', batch: 8, seq: 512 }), 24e9)).toMatch(
    /^needs [\d.]+ GB for 774030080 parameters/,
  )
})

const cudaProbe = await cudaBackend.probe()
const cudaBuiltWithoutDevice = !cudaProbe.available && load.ok && load.addon.build.cuda
test.skipIf(!cudaBuiltWithoutDevice)(
  'CUDA built but no device: the native training step refuses with the runtime’s reason (no stub, no zeros)',
  async () => {
    if (cudaProbe.available) throw new Error('a GPU is available')
    await expect(nativeTrainingSession('cuda', small)).rejects.toThrow(/^CUDA unavailable: /)
    const error = await cudaBackend.prepare(trainTarget(small, 'cuda')).catch((e: unknown) => e)
    expect(String((error as Error).message)).toContain(cudaProbe.reason)
  },
)

for (const [name, backend] of [
  ['cuda', cudaBackend],
  ['metal', metalBackend],
] as [NativeTrainBackend, Backend][]) {
  const probe = await backend.probe()
  describe.skipIf(!probe.available)(
    `${name} training (${probe.available ? probe.device.name : `skipped: ${probe.available ? '' : probe.reason}`})`,
    () => {
      test('the quick preset in f32: one step matches the float64 reference, AdamW too, and the loss falls', async () => {
        const w = train({ model: 'quick', batch: 8, seq: 64 })
        const target = trainTarget(w, name)
        expect(backend.supports(target)).toBe(true)
        const runnable = (await backend.prepare(target)) as TrainingRunnable
        prepared.push(runnable)
        const report = await runnable.verify()
        expect(report.failure).toBeUndefined()
        expect(report.ok).toBe(true)
        expect(report.checked).toBeGreaterThanOrEqual(4 * parameterCount(w.model))
        expect(report.losses.at(-1)!).toBeLessThan(0.75 * report.losses[0]!)
        await runnable.cold()
        await runnable.run(5)
        expect(runnable.records[0]!.loss).toBeCloseTo(Math.log(256), 1)
        for (const r of runnable.records) {
          expect(r.stepNs).toBeGreaterThan(0)
          expect(r.forwardNs + r.backwardNs + r.optimizerNs).toBeLessThanOrEqual(r.stepNs * 1.001 + 1)
          expect(r.deviceBytes).toBeGreaterThan(0)
        }
        const notes = runnable.notes.join('\n')
        expect(notes).toMatch(/training step \(median of 5\): .*forward .*backward .*optimizer/)
        expect(notes).toMatch(/device memory: .* in use after the last step, peak /)
        expect(notes).toMatch(/^energy: /m)
      }, 120_000)

      test('f16 (mixed precision) within the f16 tolerance, not as close as f32', async () => {
        const w = train({ model: 'quick', batch: 8, seq: 64, dtype: 'f16' })
        const runnable = (await backend.prepare(trainTarget(w, name))) as TrainingRunnable
        prepared.push(runnable)
        const report = await runnable.verify()
        expect(report.failure).toBeUndefined()
        expect(report.maxScaledError).toBeGreaterThan(toleranceFor('f32', trainReductionDepth(w)))
        await runnable.run(3)
        expect(runnable.records.every((r) => r.lossScale === 4096 && !r.skipped)).toBe(true)
        expect(runnable.notes.join('\n')).toMatch(/mixed precision: f16 operands/)
      }, 120_000)

      trainingContractTests((w, fault) => nativeTrainingSession(name, w, {}, fault ? { fault } : {}))
    },
  )
}
