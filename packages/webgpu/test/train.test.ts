/**
 * The WebGPU training step against core's float64 reference (verifyTraining: every gradient
 * poisoned first, loss and every gradient tensor within the dtype's tolerance, AdamW alone, the
 * loss falling), on a small model with odd sizes (not multiples of the 16 x 16 GEMM tiles), in f32
 * and in f16 mixed precision (fresh seeds each run); a sign flipped in one kernel's backward must
 * fail it; and the same step through the backend, in the device process by default.
 *
 * f16 also on its own: the mixed-precision product (f16 operands, f32 accumulation, an f16
 * result, overflow to infinity) against a float64 reference on fresh random inputs, and the loss
 * scale's overflow skip (the update skipped, the scale halved, AdamW's step count not advanced);
 * and step by step the same losses, loss scales and skips as the CPU backend's f16 where it is built.
 */
import {
  type Dtype,
  fromF16Bits,
  initParameters,
  TRAIN_FAULTS,
  type TrainFault,
  type TrainingRunnable,
  type TrainStepRecord,
  type TrainWorkload,
  toF16Bits,
  toleranceFor,
  train,
  trainData,
  trainReductionDepth,
  trainTarget,
  trainTolerance,
  verifyTraining,
} from '@gpubench/core'
import { cpuBackend } from '@gpubench/native'
import { afterAll, describe, expect, it } from 'vitest'
import { BufferUsage, MapMode } from '../src/constants.ts'
import {
  createWebgpuBackend,
  type IsolatedWebgpuBackend,
  resolveOptions,
  shutdownWebgpu,
  webgpuBackend,
} from '../src/index.ts'
import { Session } from '../src/session.ts'
import * as K from '../src/train/kernels.ts'
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

/** Whether the adapter trains in f16 (it needs 'shader-f16'); where not, the f16 tests are skipped and the reason printed. */
const noF16 = !probe.available || probe.device.details.shaderF16 !== true
if (probe.available && noF16) {
  console.warn(`[webgpu tests] f16 training skipped: adapter '${probe.device.name}' lacks 'shader-f16'`)
}

/** The CPU backend's f16 training, to compare with (its native module may not be built here). */
const cpu = await cpuBackend.probe()
if (!cpu.available) console.warn(`[webgpu tests] f16 comparison with the CPU backend skipped: ${cpu.reason}`)

const freshSeed = () => Math.floor(Math.random() * 2 ** 31)

/** TINY in `dtype`; f16 with fresh seeds for the parameters and the data (named in the test's failure). */
function tiny(dtype: Dtype, initialLossScale = TINY.initialLossScale): TrainWorkload {
  if (dtype === 'f32') return TINY
  return train({ ...TINY, model: TINY.model, dtype, initialLossScale, initSeed: freshSeed(), dataSeed: freshSeed() })
}

/** A loss scale that overflows f16 in TINY's backward products at first; halving reaches one that does not within about ten steps. */
const OVERFLOWING_SCALE = 2 ** 24

const seeds = (w: TrainWorkload) => `${w.dtype}, initSeed ${w.initSeed}, dataSeed ${w.dataSeed}`

async function session(w: TrainWorkload, fault?: TrainFault, timestamps = true): Promise<WebgpuTrainingSession> {
  const options = resolveOptions({ isolation: 'none', timestamps })
  return WebgpuTrainingSession.open(w, options, deviceId, fault ? { fault } : {})
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

  it('f16: a kernel that computes an activation writes its f16 copy at every store, bound last', () => {
    const d = K.dimsOf(TINY)
    const ln = K.withHalfCopy(K.layerNormForward(d, 'ln1'), 'out')
    expect(ln.wgsl).toMatch(/^enable f16;/)
    expect(ln.wgsl).toContain('out[base + c] = stored; out16[base + c] = f16(round_f16(stored));')
    expect(ln.wgsl).toContain('@group(0) @binding(7) var<storage, read_write> out16: array<f16>;')
    expect(ln.bindings.at(-1)).toEqual({ name: 'out16', type: 'f16', access: 'read_write' })
    expect(ln.halfCopy).toBe('out')
    // Reads of the output are left alone: the cross-entropy's backward reads and writes logits in place.
    const ce = K.withHalfCopy(K.crossEntropyBackward(d, undefined, true), 'logits')
    expect(ce.wgsl.match(/logits16\[/g)).toHaveLength(1)
    expect(ce.wgsl).toContain('(logits[i] - onehot)')
    expect(() => K.withHalfCopy(K.geluForward(d), 'x')).toThrow(/no f32 output 'x'/)
  })

  it("refuses the paper preset with the reference's time estimate, and f16 without 'shader-f16' with its reason", () => {
    expect(trainSupport(train({ model: 'paper', batch: 8, seq: 512 }), undefined)).toMatch(/would take about .* h/)
    const f16 = train({ model: TINY.model, batch: 3, seq: 7, dtype: 'f16' })
    const adapter = (shaderF16: boolean) =>
      ({
        name: 'some adapter',
        details: { shaderF16, maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 },
      }) as unknown as Parameters<typeof trainSupport>[1]
    expect(trainSupport(f16, undefined)).toMatch(/f16 training needs the 'shader-f16' feature; call probe\(\) first/)
    expect(trainSupport(f16, adapter(false))).toMatch(
      /f16 training needs the 'shader-f16' feature, which adapter 'some adapter' lacks/,
    )
    expect(trainSupport(f16, adapter(true))).toBe(true)
    expect(trainSupport(TINY, adapter(false))).toBe(true)
  })
})

describe.skipIf(unavailable)('WebGPU training step', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    describe.skipIf(dtype === 'f16' && noF16)(dtype, () => {
      it('matches the float64 reference: loss, every gradient, AdamW, and the loss falls', async () => {
        const w = tiny(dtype)
        const s = await session(w)
        try {
          const report = await verifyTraining(s, { steps: 30 })
          expect(report.failure, seeds(w)).toBeUndefined()
          expect(report.ok).toBe(true)
          expect(report.checked).toBeGreaterThan(0)
          expect(report.tolerance).toBe(trainTolerance(w))
          if (dtype === 'f16') {
            // The f16 rounding shows: the gradients are further from the reference than f32's tolerance (never an f32 run called f16).
            expect(report.maxScaledError, seeds(w)).toBeGreaterThan(toleranceFor('f32', trainReductionDepth(w)))
            expect(s.notes.join('\n')).toMatch(/f16 mixed precision[\s\S]*loss scale now 4096, 0 steps skipped/)
          }
        } finally {
          await s.dispose()
        }
      }, 120_000)

      // Every kernel's backward: a sign flipped in any one of them must be caught.
      for (const fault of TRAIN_FAULTS) {
        it(`fails verification when ${fault}'s backward is wrong`, async () => {
          const w = tiny(dtype)
          const s = await session(w, fault)
          try {
            const report = await verifyTraining(s, { steps: 2 })
            expect(report.ok, seeds(w)).toBe(false)
            expect(report.failure).toMatch(/gradient of /)
          } finally {
            await s.dispose()
          }
        }, 60_000)
      }
    })
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

  it("supports f16 exactly where the adapter has 'shader-f16', else says so", () => {
    const w = train({ ...TINY, model: TINY.model, dtype: 'f16' })
    const answer = webgpuBackend.supports(trainTarget(w, 'webgpu'))
    if (noF16) expect(answer).toMatch(/needs the 'shader-f16' feature, which adapter .* lacks/)
    else expect(answer).toBe(true)
  })

  for (const [isolation, dtype] of [
    ['process', 'f32'],
    ['none', 'f32'],
    ['process', 'f16'],
    ['none', 'f16'],
  ] as const) {
    it.skipIf(dtype === 'f16' && noF16)(
      `runs and verifies through the backend (${dtype}, isolation '${isolation}')`,
      async () => {
        const backend = createWebgpuBackend({ isolation })
        await backend.probe()
        const w = tiny(dtype)
        const target = trainTarget(w, 'webgpu')
        expect(backend.supports(target)).toBe(true)
        const runnable = await backend.prepare(target)
        try {
          expect(await runnable.cold()).toBeGreaterThan(0)
          const report = await runnable.verify()
          expect(report.failure, seeds(w)).toBeUndefined()
          expect(report.ok).toBe(true)
          const samples = await runnable.run(4)
          expect(samples).toHaveLength(4)
          for (const ns of samples) expect(ns).toBeGreaterThan(0)
          expect(runnable.notes.join('\n')).toMatch(/forward .*backward .*optimizer/)
          if (dtype === 'f16') expect(runnable.notes.join('\n')).toMatch(/loss scale 4096, 0 of \d+ steps skipped/)
          // With isolation 'process' the step ran in the device process, not here.
          const child = (backend as Partial<IsolatedWebgpuBackend>).deviceProcess?.()
          if (isolation === 'process') expect(child?.pid).toBeGreaterThan(0)
          if (isolation === 'process') expect(child?.pid).not.toBe(process.pid)
          if (isolation === 'none') expect((runnable as unknown as { records: unknown[] }).records.length).toBe(5)
        } finally {
          await runnable.dispose()
          await backend.shutdown()
        }
      },
      120_000,
    )
  }
})

describe.skipIf(noF16)('WebGPU f16 mixed precision, piece by piece', () => {
  /** The value of x rounded to f16 (ties to even; beyond f16's range, infinity). */
  const h = (x: number) => fromF16Bits(toF16Bits(x))
  const random = (n: number) => Float32Array.from({ length: n }, () => 2 * Math.random() - 1)

  it('casts to f16 as the CPU does (ties to even, infinity beyond the range), then a product of f16 operands: f32 accumulation, the result rounded to f16, then alpha, bias and residual', async () => {
    const M = 5
    const N = 7
    const depth = 300
    const A = random(M * depth)
    const B = random(depth * N)
    // Row 0: one operand beyond f16's range (cast to infinity). Last row and column: a sum beyond it.
    A[0] = 1e5
    for (let k = 0; k < depth; k++) {
      A[(M - 1) * depth + k] = 400
      B[k * N + N - 1] = 400
    }
    // Ties between two f16 values (1 + 2^-11 rounds down to even, 1 + 3·2^-11 up) and an f16 subnormal tie (3·2^-25 rounds up to even).
    A[1] = 1 + 2 ** -11
    A[2] = 1 + 3 * 2 ** -11
    A[3] = 3 * 2 ** -25
    const bias = random(N)
    const R = random(M * N)
    const product = K.gemm({
      label: 'f16 product',
      M,
      N,
      K: depth,
      a: { row: depth, col: 1 },
      b: { row: N, col: 1 },
      alpha: -1,
      bias: true,
      residual: true,
      f16: true,
    })
    const gpu = await Session.open(
      resolveOptions({ isolation: 'none' }),
      deviceId,
      { f16: true, timestamps: false },
      'f16 product',
    )
    try {
      const device = gpu.device
      const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC
      const upload = (data: ArrayBufferView, usage = storage) => {
        const buffer = device.createBuffer({ size: data.byteLength, usage })
        device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength)
        return buffer
      }
      // f16 copies, poisoned (NaN bits) before the casts.
      const A16 = upload(new Uint16Array(A.length).fill(0x7e00))
      const B16 = upload(new Uint16Array(B.length).fill(0x7e00))
      const C = upload(new Float32Array(M * N).fill(Number.NaN))
      const encoder = device.createCommandEncoder()
      const pass = encoder.beginComputePass()
      const dispatch = (kernel: K.Kernel, buffers: GPUBuffer[]) => {
        const pipeline = device.createComputePipeline({
          layout: 'auto',
          compute: { module: device.createShaderModule({ code: kernel.wgsl }), entryPoint: 'main' },
        })
        const uniform = upload(K.shapeUniform(K.dimsOf(TINY), kernel.shape), BufferUsage.UNIFORM | BufferUsage.COPY_DST)
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [uniform, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
        })
        pass.setPipeline(pipeline)
        pass.setBindGroup(0, bindGroup)
        pass.dispatchWorkgroups(...kernel.workgroups)
      }
      dispatch(K.castHalf(A.length, 'A to f16'), [upload(A), A16])
      dispatch(K.castHalf(B.length, 'B to f16'), [upload(B), B16])
      dispatch(product, [A16, B16, upload(bias), upload(R), C])
      pass.end()
      const readback = [A16, B16, C].map((buffer) => {
        const staging = device.createBuffer({ size: buffer.size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST })
        encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size)
        return staging
      })
      device.queue.submit([encoder.finish()])
      const [a16, b16, c] = await Promise.all(
        readback.map(async (staging) => {
          await staging.mapAsync(MapMode.READ)
          const bytes = staging.getMappedRange().slice(0)
          staging.unmap()
          return bytes
        }),
      )
      expect(Array.from(new Uint16Array(a16!))).toEqual(Array.from(A, toF16Bits))
      expect(Array.from(new Uint16Array(b16!))).toEqual(Array.from(B, toF16Bits))
      expect(toF16Bits(A[0]!)).toBe(0x7c00)
      expect([A[1], A[2], A[3]].map((x) => toF16Bits(x!))).toEqual([0x3c00, 0x3c02, 0x0002])

      const got = new Float32Array(c!)
      let exact = 0
      let rounded = 0
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const at = i * N + j
          let acc = 0
          for (let k = 0; k < depth; k++) acc += h(A[i * depth + k]!) * h(B[k * N + j]!)
          const want = Math.fround(Math.fround(-h(acc) + bias[j]!) + R[at]!)
          const where = `C[${i}][${j}]`
          if (i === 0) {
            expect(Number.isFinite(got[at]!), where).toBe(false)
          } else if (i === M - 1 && j === N - 1) {
            expect(got[at], where).toBe(Number.NEGATIVE_INFINITY)
          } else {
            // f32 accumulation can land on the other side of an f16 rounding boundary: one f16 ulp at most.
            const ulp = h(Math.abs(acc)) * 2 ** -10
            expect(Math.abs(got[at]! - want), where).toBeLessThanOrEqual(1.01 * ulp + 1e-6)
            if (got[at] === want) exact++
            if (Math.abs(got[at]! - (-acc + bias[j]! + R[at]!)) > 1e-5 * Math.abs(acc)) rounded++
          }
        }
      }
      const checked = (M - 1) * N - 1
      expect(exact).toBeGreaterThanOrEqual(0.8 * checked)
      // The result is f16, not the f32 accumulation: most elements differ from it by more than f32 rounding.
      expect(rounded).toBeGreaterThanOrEqual(0.5 * checked)
    } finally {
      gpu.destroy()
    }
  }, 60_000)

  it("skips the update and halves the loss scale on overflow; the first update made is AdamW's step 1", async () => {
    const w = tiny('f16', OVERFLOWING_SCALE)
    const s = await session(w)
    try {
      const p0 = initParameters(w.model, w.initSeed)
      await s.setParameters(p0)
      await s.setTokens(trainData(w))
      const records: TrainStepRecord[] = []
      const p = new Float32Array(p0.length)
      for (let i = 0; i < 30; i++) {
        const [r] = await s.steps(1)
        records.push(r!)
        if (!r!.skipped) break
        await s.readParameters(p)
        expect(p, `${seeds(w)}: a skipped step changed the parameters`).toEqual(p0)
      }
      expect(records[0]!.skipped, seeds(w)).toBe(true)
      const updated = records.at(-1)!
      expect(updated.skipped, `${seeds(w)}: every step overflowed`).toBe(false)
      records.forEach((r, i) => {
        expect(r.lossScale).toBe(OVERFLOWING_SCALE / 2 ** i)
        expect(r.loss).toBe(records[0]!.loss)
      })
      // AdamW's step 1 moves each parameter by lr·g/(|g| + ε) + lr·wd·p: by lr, but for the few gradients near 0.
      await s.readParameters(p)
      const moved = Array.from(p0, (x, i) => Math.abs(p[i]! - x + w.learningRate * w.weightDecay * x) / w.learningRate)
      moved.sort((a, b) => a - b)
      expect(moved[moved.length >> 1]!).toBeGreaterThan(0.99)
      expect(moved.at(-1)!).toBeLessThan(1.001)
      const skipped = records.length - 1
      expect(s.notes.join('\n')).toContain(`loss scale now ${updated.lossScale}, ${skipped} steps skipped for overflow`)

      // The same steps and a few more, batched in submissions, and timed on the host (each phase
      // submitted on its own), give the same records and losses.
      const more = 5
      const single = [...records, ...(await s.steps(more))]
      const summary = (list: readonly TrainStepRecord[]) => list.map((r) => [r.loss, r.lossScale, r.skipped])
      await s.setParameters(p0)
      const batched: TrainStepRecord[] = []
      while (batched.length < single.length) batched.push(...(await s.steps(single.length - batched.length)))
      expect(summary(batched)).toEqual(summary(single))
      const host = await session(w, undefined, false)
      try {
        expect(host.timestamps).toBe(false)
        await host.setParameters(p0)
        await host.setTokens(trainData(w))
        expect(summary(await host.steps(single.length))).toEqual(summary(single))
      } finally {
        await host.dispose()
      }
    } finally {
      await s.dispose()
    }
  }, 60_000)
})

describe.skipIf(noF16 || !cpu.available)("WebGPU f16 against the CPU backend's f16", () => {
  it('the same losses, loss scales and overflow skips step by step', async () => {
    // A loss scale that overflows at first, so the halving and the skips are compared as well.
    const w = tiny('f16', OVERFLOWING_SCALE)
    const steps = 20
    const s = await session(w)
    let gpu: TrainStepRecord[]
    try {
      await s.setParameters(initParameters(w.model, w.initSeed))
      await s.setTokens(trainData(w))
      gpu = await s.steps(steps)
    } finally {
      await s.dispose()
    }
    const runnable = (await cpuBackend.prepare(trainTarget(w, 'cpu'))) as TrainingRunnable
    let host: TrainStepRecord[]
    try {
      await runnable.cold()
      host = [runnable.records[0]!, ...(await runnable.steps(steps - 1))]
    } finally {
      await runnable.dispose()
    }
    expect(gpu.some((r) => r.skipped) && gpu.some((r) => !r.skipped), seeds(w)).toBe(true)
    const tolerance = toleranceFor('f16', trainReductionDepth(w))
    gpu.forEach((r, i) => {
      const where = `${seeds(w)}, step ${i + 1}`
      expect([r.lossScale, r.skipped], where).toEqual([host[i]!.lossScale, host[i]!.skipped])
      expect(Math.abs(r.loss - host[i]!.loss) / host[i]!.loss, where).toBeLessThanOrEqual(tolerance)
    })
  }, 60_000)
})
