/**
 * The WebGPU training step against core's float64 reference (verifyTraining: every gradient
 * poisoned first, loss and every gradient tensor within f32's tolerance, AdamW alone, the loss
 * falling), on a small model with odd sizes (not multiples of the 16 x 16 GEMM tiles); a sign
 * flipped in one kernel's backward must fail it; and the same step through the backend, in the
 * device process by default.
 */
import {
  initParameters,
  TRAIN_FAULTS,
  type TrainFault,
  type TrainWorkload,
  train,
  trainData,
  trainTarget,
  verifyTraining,
} from '@gpubench/core'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createWebgpuBackend,
  type IsolatedWebgpuBackend,
  resolveOptions,
  shutdownWebgpu,
  webgpuBackend,
} from '../src/index.ts'
import { largestTrainBindingBytes, trainSupport } from '../src/train/support.ts'
import { WebgpuTrainingSession } from '../src/train/training-session.ts'
import { probe, unavailable } from './adapter.ts'

/** Small and odd: d 24 over 3 heads, MLP 40, vocabulary 37, 9 positions, batch 3 x 7. */
const TINY = train({
  model: { layers: 2, dModel: 24, heads: 3, mlp: 40, vocab: 37, positions: 9 },
  batch: 3,
  seq: 7,
  learningRate: 1e-2,
})

const deviceId = probe.available ? probe.device.id : 'none'

async function session(w: TrainWorkload, fault?: TrainFault): Promise<WebgpuTrainingSession> {
  return WebgpuTrainingSession.open(w, resolveOptions({ isolation: 'none' }), deviceId, fault ? { fault } : {})
}

afterAll(() => shutdownWebgpu())

describe('what the WebGPU backend trains (no adapter needed)', () => {
  const device = (limit: number) =>
    ({ details: { maxStorageBufferBindingSize: limit, maxBufferSize: 2 * limit } }) as unknown as Parameters<
      typeof trainSupport
    >[1]

  it('refuses a step whose largest binding exceeds the adapter limit, naming the buffer and the limit', () => {
    const largest = largestTrainBindingBytes(TINY)
    expect(trainSupport(TINY, device(largest.bytes))).toBe(true)
    expect(trainSupport(TINY, device(largest.bytes - 4))).toMatch(
      new RegExp(
        `buffer '${largest.name}' needs ${largest.bytes} bytes, over this adapter's maxStorageBufferBindingSize`,
      ),
    )
  })

  it("refuses the paper preset with the reference's time estimate, and f16 with its reason", () => {
    expect(trainSupport(train({ model: 'paper', batch: 8, seq: 512 }), undefined)).toMatch(/would take about .* h/)
    expect(trainSupport(train({ model: TINY.model, batch: 3, seq: 7, dtype: 'f16' }), undefined)).toMatch(/f32 only/)
  })
})

describe.skipIf(unavailable)('WebGPU training step', () => {
  it('matches the float64 reference: loss, every gradient, AdamW, and the loss falls', async () => {
    const s = await session(TINY)
    try {
      const report = await verifyTraining(s, { steps: 30 })
      expect(report.failure).toBeUndefined()
      expect(report.ok).toBe(true)
      expect(report.checked).toBeGreaterThan(0)
    } finally {
      await s.dispose()
    }
  }, 120_000)

  // Every kernel's backward: a sign flipped in any one of them must be caught.
  for (const fault of TRAIN_FAULTS) {
    it(`fails verification when ${fault}'s backward is wrong`, async () => {
      const s = await session(TINY, fault)
      try {
        const report = await verifyTraining(s, { steps: 2 })
        expect(report.ok).toBe(false)
        expect(report.failure).toMatch(/gradient of /)
      } finally {
        await s.dispose()
      }
    }, 60_000)
  }

  it('times each step by phase, the phases within the step', async () => {
    const s = await session(TINY)
    try {
      await s.setParameters(initParameters(TINY.model, TINY.initSeed))
      await s.setTokens(trainData(TINY))
      const records = await s.steps(3)
      expect(records).toHaveLength(3)
      for (const r of records) {
        expect(r.stepNs).toBeGreaterThan(0)
        expect(r.forwardNs).toBeGreaterThan(0)
        expect(r.backwardNs).toBeGreaterThan(0)
        expect(r.optimizerNs).toBeGreaterThan(0)
        expect(r.forwardNs + r.backwardNs + r.optimizerNs).toBeLessThanOrEqual(r.stepNs * 1.0001)
        expect(Number.isFinite(r.loss)).toBe(true)
      }
    } finally {
      await s.dispose()
    }
  }, 60_000)

  it('refuses f16 with its reason', () => {
    const w = train({ ...TINY, model: TINY.model, dtype: 'f16' })
    expect(webgpuBackend.supports(trainTarget(w, 'webgpu'))).toMatch(/f32 only/)
  })

  for (const isolation of ['process', 'none'] as const) {
    it(`runs and verifies through the backend (isolation '${isolation}')`, async () => {
      const backend = createWebgpuBackend({ isolation })
      await backend.probe()
      const target = trainTarget(TINY, 'webgpu')
      expect(backend.supports(target)).toBe(true)
      const runnable = await backend.prepare(target)
      try {
        expect(await runnable.cold()).toBeGreaterThan(0)
        const report = await runnable.verify()
        expect(report.failure).toBeUndefined()
        expect(report.ok).toBe(true)
        const samples = await runnable.run(4)
        expect(samples).toHaveLength(4)
        for (const ns of samples) expect(ns).toBeGreaterThan(0)
        expect(runnable.notes.join('\n')).toMatch(/forward .*backward .*optimizer/)
        // With isolation 'process' the step ran in the device process, not here.
        const child = (backend as Partial<IsolatedWebgpuBackend>).deviceProcess?.()
        if (isolation === 'process') expect(child?.pid).toBeGreaterThan(0)
        if (isolation === 'process') expect(child?.pid).not.toBe(process.pid)
        if (isolation === 'none') expect((runnable as unknown as { records: unknown[] }).records.length).toBe(5)
      } finally {
        await runnable.dispose()
        await backend.shutdown()
      }
    }, 120_000)
  }
})
