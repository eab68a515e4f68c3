/**
 * The CPU backend's training step against core's float64 reference (core's verifyTraining): the
 * quick preset in f32 and f16 (mixed precision) through the backend as a benchmark prepares it,
 * every kernel's backward shown to be checked (a sign flipped in any one fails), the loss scale's
 * overflow skip, and what is refused before anything is allocated.
 */
import {
  parameterCount,
  type TrainingRunnable,
  toleranceFor,
  train,
  trainProxyOf,
  trainReductionDepth,
  trainTarget,
  verifyByProxy,
  verifyTraining,
} from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import { cpuBackend, createCpuBackend } from '../src/index.ts'
import { cpuTrainingSession, raplCounter } from '../src/native-train.ts'
import { disposedAfterAll, small, trainingContractTests } from './train-contract.ts'

const prepared = disposedAfterAll()

describe('CPU training step', () => {
  trainingContractTests((w, fault) => cpuTrainingSession(w, { blas: 'auto', isa: 'auto' }, fault ? { fault } : {}))

  test('the quick preset: one step matches the float64 reference, AdamW too, and the loss falls', async () => {
    const w = train({ model: 'quick', batch: 8, seq: 64 })
    const target = trainTarget(w, 'cpu')
    expect(cpuBackend.supports(target)).toBe(true)
    const runnable = (await cpuBackend.prepare(target)) as TrainingRunnable
    prepared.push(runnable)
    const report = await runnable.verify()
    expect(report.failure).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(report.checked).toBeGreaterThanOrEqual(4 * parameterCount(w.model))
    expect(report.maxScaledError).toBeLessThan(report.tolerance)
    expect(report.losses.at(-1)!).toBeLessThan(0.75 * report.losses[0]!)
    // Timed steps after verification start again from the workload's own initialisation.
    const cold = await runnable.cold()
    const durations = await runnable.run(5)
    expect(cold).toBeGreaterThan(0)
    expect(durations.every((d) => d > 0)).toBe(true)
    expect(runnable.records[0]!.loss).toBeCloseTo(Math.log(256), 1)
    for (const r of runnable.records) {
      expect(r.forwardNs + r.backwardNs + r.optimizerNs).toBeLessThanOrEqual(r.stepNs + 1)
      expect(Number.isFinite(r.loss)).toBe(true)
      expect(r.rssBytes).toBeGreaterThan(1e6)
      expect(r.minorFaults).toBeGreaterThanOrEqual(0)
      expect(r.majorFaults).toBeGreaterThanOrEqual(0)
    }
    const notes = runnable.notes.join('\n')
    expect(notes).toMatch(/training step \(median of 5\): .*forward .*backward .*optimizer/)
    expect(notes).toMatch(/tokens\/s/)
    expect(notes).toMatch(/page faults per step/)
    expect(notes).toMatch(/^energy: /m)
  }, 120_000)

  test.each([
    { blas: 'own', isa: 'auto' },
    { blas: 'own', isa: 'portable' },
  ] as const)('the own GEMM kernels train correctly too (%o)', async (options) => {
    const session = await cpuTrainingSession(small, options)
    try {
      const report = await verifyTraining(session)
      expect(report.failure).toBeUndefined()
    } finally {
      await session.dispose()
    }
  })

  test('f16 (mixed precision): one step within the f16 tolerance of the float64 reference, and the loss falls', async () => {
    const w = train({ model: 'quick', batch: 8, seq: 64, dtype: 'f16' })
    const target = trainTarget(w, 'cpu')
    expect(cpuBackend.supports(target)).toBe(true)
    const runnable = (await cpuBackend.prepare(target)) as TrainingRunnable
    prepared.push(runnable)
    const report = await runnable.verify()
    expect(report.failure).toBeUndefined()
    // Not as close as f32: the products' operands and results are rounded to f16.
    expect(report.maxScaledError).toBeGreaterThan(toleranceFor('f32', trainReductionDepth(w)))
    expect(report.maxScaledError).toBeLessThan(report.tolerance)
    await runnable.run(3)
    expect(runnable.records.every((r) => r.lossScale === 4096 && !r.skipped)).toBe(true)
    expect(runnable.notes.join('\n')).toMatch(/mixed precision: f16 operands/)
  }, 60_000)

  test('the paper preset is refused with its estimate when it does not fit, before allocating', async () => {
    const backend = createCpuBackend({}, { availableMemoryBytes: () => 24e9 })
    const rss = process.memoryUsage().rss
    const target = trainTarget(train({ model: 'paper', batch: 8, seq: 512 }), 'cpu')
    await expect(backend.prepare(target)).rejects.toThrow(
      /train L36 d1280 h20 mlp5120 V50257 P1024 8x512 f32 on cpu-.*: needs [\d.]+ GB for 774030080 parameters \(weights 3\.1 GB.*refused before allocating anything/,
    )
    expect(process.memoryUsage().rss - rss).toBeLessThan(100e6)
    // Where memory suffices, the float64 reference of verification would take hours: refused too.
    const large = createCpuBackend({}, { availableMemoryBytes: () => 1e12 })
    await expect(large.prepare(trainTarget(train({ model: 'paper', batch: 2, seq: 512 }), 'cpu'))).rejects.toThrow(
      /verification's float64 reference of this step would take about [\d.]+ h \(\d+ GFLOP/,
    )
  })

  test('verification by proxy: the proxy checked against the reference, the full shape by its own losses', async () => {
    // A shape verified by proxy on the GPU backends (there for steps too large for the reference), here on the CPU's real step.
    const w = train({
      model: { layers: 3, dModel: 96, heads: 6, mlp: 384, vocab: 1000, positions: 128 },
      batch: 2,
      seq: 96,
    })
    expect(trainProxyOf(w)).toMatchObject({
      model: { layers: 2, dModel: 64, heads: 4, mlp: 256, vocab: 512 },
      batch: 2,
    })
    const options = { blas: 'auto', isa: 'auto' } as const
    const proxyOf = (fault?: string) => (pw: typeof w) => cpuTrainingSession(pw, options, fault ? { fault } : {})
    const session = await cpuTrainingSession(w, options)
    try {
      const report = await verifyByProxy(session, proxyOf())
      expect(report.failure).toBeUndefined()
      expect(report.proxy).toBe('train L2 d64 h4 mlp256 V512 P64 2x64 f32')
      expect(report.fullShapeLosses).toHaveLength(8)
      expect(report.fullShapeLosses![0]!).toBeCloseTo(Math.log(1000), 0)
      // A fault in the proxy's kernels fails it, naming the proxy.
      const faulty = await verifyByProxy(session, proxyOf('gelu'))
      expect(faulty.ok).toBe(false)
      expect(faulty.failure).toMatch(/^on the proxy train L2 d64 .*: gradient of /)
    } finally {
      await session.dispose()
    }
    // A full shape whose gradient points the wrong way fails its own check.
    const ascending = await cpuTrainingSession(w, options, { fault: 'cross-entropy' })
    try {
      const report = await verifyByProxy(ascending, proxyOf())
      expect(report.ok).toBe(false)
      expect(report.failure).toMatch(/^full shape: the loss went from [\d.]+ to [\d.]+, not down/)
    } finally {
      await ascending.dispose()
    }
  }, 60_000)

  test('energy: RAPL where readable, else unavailable with the reason', () => {
    const missing = raplCounter('/nonexistent/intel-rapl:0')
    expect('reason' in missing && missing.reason).toMatch(/^unavailable: no RAPL counter at \/nonexistent/)
  })
})
