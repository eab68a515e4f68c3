/**
 * What every native training step must do, as tests shared by cpu-train.test.ts and
 * gpu-train.test.ts: a sign flipped in any kernel's backward fails verification, an f16 step whose
 * scaled gradients overflow is skipped (parameters untouched, the scale halves, then recovery), and
 * bad inputs are refused naming them. `open` gives the backend's session for a workload.
 */
import {
  initParameters,
  TRAIN_FAULTS,
  type TrainingRunnable,
  type TrainingSession,
  type TrainWorkload,
  train,
  trainData,
  verifyTraining,
} from '@gpubench/core'
import { afterAll, expect, test } from 'vitest'

/** Small enough that the float64 reference takes milliseconds; two layers, so a fault between them shows. */
export const small = train({
  model: { layers: 2, dModel: 32, heads: 2, mlp: 64, vocab: 48, positions: 16 },
  batch: 2,
  seq: 16,
  learningRate: 3e-3,
})

/** Runnables prepared by a file's tests, disposed after them. */
export function disposedAfterAll(): TrainingRunnable[] {
  const prepared: TrainingRunnable[] = []
  afterAll(async () => {
    for (const r of prepared) await r.dispose()
  })
  return prepared
}

export type OpenSession = (w: TrainWorkload, fault?: string) => Promise<TrainingSession>

async function using<T>(session: TrainingSession, f: (s: TrainingSession) => Promise<T>): Promise<T> {
  try {
    return await f(session)
  } finally {
    await session.dispose()
  }
}

/** Defines the contract's tests in the current describe block. */
export function trainingContractTests(open: OpenSession): void {
  test.each(TRAIN_FAULTS)('a sign flipped in the backward of %s fails verification', async (fault) => {
    await using(await open(small, fault), async (session) => {
      const report = await verifyTraining(session)
      expect(report.ok).toBe(false)
      expect(report.failure).toMatch(/^gradient of /)
    })
  })

  test('f16: a step whose scaled gradients overflow is skipped, parameters untouched, and the scale halves', async () => {
    const w = train({ ...small, dtype: 'f16', initialLossScale: 2 ** 40 })
    await using(await open(w), async (session) => {
      const start = initParameters(w.model, w.initSeed)
      await session.setParameters(start)
      await session.setTokens(trainData(w))
      const [first, second] = await session.steps(2)
      expect(first).toMatchObject({ lossScale: 2 ** 40, skipped: true })
      expect(second).toMatchObject({ lossScale: 2 ** 39, skipped: true })
      const after = new Float32Array(start.length)
      await session.readParameters(after)
      expect(after).toEqual(start)
      // It recovers: once the scale is small enough the updates go through and the loss falls.
      const later = await session.steps(40)
      expect(later.filter((r) => !r.skipped).length).toBeGreaterThan(10)
      expect(later.at(-1)!.loss).toBeLessThan(first!.loss)
    })
  })

  test('tokens outside the vocabulary and buffers of the wrong size are refused, naming them', async () => {
    await using(await open(small), async (session) => {
      const tokens = trainData(small)
      tokens[5] = 48
      await expect(session.setTokens(tokens)).rejects.toThrow(/token 5 is 48, outside the vocabulary of 48/)
      await expect(session.setTokens(tokens.subarray(1))).rejects.toThrow(/expected batch x \(seq \+ 1\) = 34 tokens/)
      await expect(session.setParameters(new Float32Array(3))).rejects.toThrow(
        /expected \d+ elements \(the parameter count\), got 3/,
      )
      await expect(session.forwardBackward()).rejects.toThrow(/no tokens uploaded/)
    })
  })
}
