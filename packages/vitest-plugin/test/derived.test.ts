import { bytesOf, type Dtype, describeWorkload, flopsOf, gemm, gemv, type SampleStats, summarize } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import type { DevicePeak, MeasuredRecord } from '../src/record.ts'
import { deriveFigures, fp16OverFp32, geometricMean, rooflineFractions, showsMean } from '../src/report/derived.ts'
import { derivedMarkdown, derivedText } from '../src/report/derived-text.ts'
import { percentText } from '../src/report/figures.ts'
import { jsonReport } from '../src/report/json.ts'
import { formatMarkdown } from '../src/report/markdown.ts'
import { COLUMNS, columnsFor, rowOf } from '../src/report/rows.ts'
import { formatTable } from '../src/report/table.ts'
import { collected, measuredRecord, skippedRecord, statsAround } from './records.ts'

const CPU = 'cpu-test-cpu-2c'
const GPU = 'cuda-test-gpu-0'
const SHAPE = { batch: 8, m: 256, n: 256, k: 256 }

/** A measured record of a real gemm workload, its rates computed from core's own work counts. */
function gemmRecord(
  dtype: Dtype,
  medianNs: number,
  options: {
    deviceId?: string
    key?: string
    shape?: typeof SHAPE
    peak?: DevicePeak
    stats?: SampleStats
    stoppedBy?: string
  } = {},
): MeasuredRecord {
  const { deviceId = CPU, shape = SHAPE } = options
  const workload = gemm({ ...shape, dtype })
  const label = describeWorkload(workload)
  const key = options.key ?? `matmul/quick/${label}`
  const stats = options.stats ?? statsAround(medianNs)
  const backend = deviceId.startsWith('cuda') ? 'cuda' : 'cpu'
  const base = measuredRecord({ key, deviceId })
  return measuredRecord({
    key,
    deviceId,
    backend,
    device: { ...base.device, backend },
    entry: {
      ...base.entry,
      target: label,
      workload: { ...workload },
      backend,
      stats,
      flopPerSecond: (flopsOf(workload) * 1e9) / stats.medianNs,
      bytesPerSecond: (bytesOf(workload) * 1e9) / stats.medianNs,
    },
    ...(options.peak ? { peak: options.peak } : {}),
    ...(options.stoppedBy ? { stoppedBy: options.stoppedBy } : {}),
  })
}

describe('FP16 over FP32', () => {
  test('pairs each device’s workloads that differ only in dtype; speed-up = f32 median / f16 median', () => {
    const records = [
      gemmRecord('f32', 4e6),
      gemmRecord('f16', 2.5e6),
      gemmRecord('f32', 1e6, { deviceId: GPU }),
      gemmRecord('f16', 0.25e6, { deviceId: GPU }),
    ].map((r) => collected(r))
    const devices = fp16OverFp32(records)
    expect(devices.map((d) => [d.deviceId, d.backend])).toEqual([
      [CPU, 'cpu'],
      [GPU, 'cuda'],
    ])
    const [cpu, gpu] = devices
    expect(cpu!.pairs).toHaveLength(1)
    const pair = cpu!.pairs[0]!
    expect(pair.label).toBe('matmul/quick/gemm 8x256x256x256 f16 vs f32')
    expect(pair.f32Key).toBe('matmul/quick/gemm 8x256x256x256 f32')
    expect(pair.f16Key).toBe('matmul/quick/gemm 8x256x256x256 f16')
    expect(pair.f32MedianNs).toBeCloseTo(4e6, 0)
    expect(pair.f16MedianNs).toBeCloseTo(2.5e6, 0)
    expect(pair.speedup).toBeCloseTo(1.6, 6)
    expect(cpu!.geometricMeanSpeedup).toBeCloseTo(1.6, 6)
    expect(gpu!.pairs[0]!.speedup).toBeCloseTo(4, 6)
  })

  test('the geometric mean over several shapes of one device', () => {
    const other = { batch: 1, m: 512, n: 512, k: 512 }
    const devices = fp16OverFp32(
      [
        gemmRecord('f32', 2e6),
        gemmRecord('f16', 1e6),
        gemmRecord('f32', 1e6, { shape: other }),
        gemmRecord('f16', 2e6, { shape: other }),
        gemmRecord('f32', 9e6, { shape: { batch: 1, m: 512, n: 128, k: 1024 } }),
      ].map((r) => collected(r)),
    )
    expect(devices).toHaveLength(1)
    // 2x and 0.5x: the geometric mean is 1 (an arithmetic mean would say 1.25).
    expect(devices[0]!.pairs.map((p) => p.speedup)).toEqual([expect.closeTo(2, 6), expect.closeTo(0.5, 6)])
    expect(devices[0]!.geometricMeanSpeedup).toBeCloseTo(1, 6)
  })

  test('never pairs across devices, shapes or kinds, nor records without a workload', () => {
    const gemvF16 = gemv({ m: 256, n: 256, dtype: 'f16' })
    const gemvRecord = measuredRecord({
      key: 'matvec/quick/gemv 256x256 f16',
      deviceId: CPU,
      entry: { ...gemmRecord('f16', 1e6).entry, workload: { ...gemvF16 }, target: describeWorkload(gemvF16) },
    })
    const records = [
      gemmRecord('f32', 2e6),
      gemmRecord('f16', 1e6, { deviceId: GPU }),
      gemmRecord('f16', 1e6, { shape: { batch: 1, m: 256, n: 256, k: 256 } }),
      gemvRecord,
      measuredRecord({ deviceId: CPU }),
    ].map((r) => collected(r))
    expect(fp16OverFp32([...records, collected(skippedRecord())])).toEqual([])
  })

  test('several records of one shape are paired by name, each at most once', () => {
    const devices = fp16OverFp32(
      [
        gemmRecord('f32', 3e6, { key: 'gemm f32 (paper method)' }),
        gemmRecord('f32', 2e6, { key: 'gemm f32' }),
        gemmRecord('f16', 1e6, { key: 'gemm f16' }),
        gemmRecord('f16', 1.5e6, { key: 'gemm f16 (paper method)' }),
        gemmRecord('f16', 1e6, { key: 'a stray f16 run' }),
      ].map((r) => collected(r)),
    )
    expect(devices[0]!.pairs.map((p) => [p.label, p.speedup])).toEqual([
      ['gemm f16 vs f32 (paper method)', expect.closeTo(2, 6)],
      ['gemm f16 vs f32', expect.closeTo(2, 6)],
    ])
  })

  test('a lone pair with unrelated names is still paired and labelled by both names', () => {
    const devices = fp16OverFp32(
      [gemmRecord('f32', 2e6, { key: 'single' }), gemmRecord('f16', 1e6, { key: 'half' })].map((r) => collected(r)),
    )
    expect(devices[0]!.pairs[0]).toMatchObject({ label: 'half vs single', speedup: expect.closeTo(2, 6) })
  })

  test('percentages keep two significant digits below 10%', () => {
    expect(percentText(0.4251)).toBe('42.5%')
    expect(percentText(0.0523)).toBe('5.2%')
    expect(percentText(0.00447)).toBe('0.45%')
  })

  test('geometricMean refuses empty lists and non-positive values', () => {
    expect(geometricMean([1, 4])).toBeCloseTo(2, 12)
    expect(() => geometricMean([])).toThrow(/no values/)
    expect(() => geometricMean([1, 0])).toThrow(/0 is not a positive number/)
  })
})

describe('roofline fractions', () => {
  const peak: DevicePeak = { flopPerSecond: { f32: 60e12, f16: 900e12 }, bytesPerSecond: 3.35e12 }

  test('achieved / peak for the workload’s dtype and for bandwidth', () => {
    const f32 = gemmRecord('f32', 1e6, { deviceId: GPU, peak })
    const f16 = gemmRecord('f16', 0.5e6, { deviceId: GPU, peak })
    const [a, b] = rooflineFractions([collected(f32), collected(f16)])
    expect(a).toMatchObject({ key: f32.key, backend: 'cuda', deviceId: GPU, dtype: 'f32', peakFlopPerSecond: 60e12 })
    expect(a!.flopFraction).toBeCloseTo(f32.entry.flopPerSecond! / 60e12, 12)
    expect(a!.bytesFraction).toBeCloseTo(f32.entry.bytesPerSecond! / 3.35e12, 12)
    expect(b!.flopFraction).toBeCloseTo(f16.entry.flopPerSecond! / 900e12, 12)
    // 8x256^3 x 2 FLOP in 1 ms: 268 GFLOP/s, 0.45% of 60 TFLOP/s.
    expect(a!.flopFraction).toBeCloseTo((2 * 8 * 256 ** 3 * 1e3) / 60e12, 9)
  })

  test('only where the peak is known: no peak, no fraction; a missing dtype leaves only bandwidth', () => {
    const noPeak = gemmRecord('f32', 1e6)
    const onlyF32Peak = gemmRecord('f16', 1e6, { deviceId: GPU, peak: { flopPerSecond: { f32: 60e12 } } })
    const bandwidthOnly = gemmRecord('f16', 1e6, { deviceId: GPU, peak: { bytesPerSecond: 2e12 } })
    const fractions = rooflineFractions([noPeak, onlyF32Peak, bandwidthOnly].map((r) => collected(r)))
    expect(fractions).toHaveLength(1)
    expect(fractions[0]).toMatchObject({ flopFraction: null, peakFlopPerSecond: null, peakBytesPerSecond: 2e12 })
    expect(fractions[0]!.bytesFraction).toBeCloseTo(bandwidthOnly.entry.bytesPerSecond! / 2e12, 12)
  })
})

describe('the mean beside the median under a fixed count', () => {
  // Skewed samples: mean and median differ, as they do for launch times with stragglers.
  const skewed = summarize([...Array.from({ length: 99 }, () => 1e6), 11e6], { seed: 1 })

  test('shown when any record stopped by a fixed count', () => {
    const adaptive = collected(gemmRecord('f32', 1e6))
    const fixed = collected(gemmRecord('f16', 1e6, { stats: skewed, stoppedBy: 'fixed-count' }))
    expect(showsMean([adaptive])).toBe(false)
    expect(showsMean([adaptive, fixed, collected(skippedRecord())])).toBe(true)
    expect(columnsFor(false)).toBe(COLUMNS)
    expect(columnsFor(true).map(([key]) => key)).toEqual([
      'benchmark',
      'backend',
      'device',
      'median',
      'mean',
      'ci',
      'cold',
      'throughput',
      'delta',
      'detects',
      'verdict',
    ])
  })

  test('the table’s mean column has the mean of each record', () => {
    const fixed = gemmRecord('f16', 1e6, { stats: skewed, stoppedBy: 'fixed-count' })
    const rows = [rowOf(collected(fixed), { kind: 'not-requested' })]
    expect(rows[0]!.mean).toBe('1.1 ms')
    expect(rows[0]!.median).toBe('1 ms')
    const lines = formatTable(rows, columnsFor(true)).split('\n')
    expect(lines[0]).toMatch(/\bmedian\s+mean\s+CI\b/)
    expect(lines[2]).toMatch(/\s1 ms\s+1\.1 ms\s/)
    expect(formatTable(rows).split('\n')[0]).not.toMatch(/\bmean\b/)
    const markdown = formatMarkdown(
      rows,
      { measured: 1, skipped: 0, regressed: 0, written: 0 },
      { columns: columnsFor(true) },
    )
    expect(markdown).toContain('| benchmark | backend | device | median | mean | CI |')
    expect(markdown).toMatch(/\| 1 ms \| 1\.1 ms \|/)
  })
})

describe('derived figures in the outputs', () => {
  const peak: DevicePeak = { flopPerSecond: { f32: 60e12 }, bytesPerSecond: 3.35e12 }
  const run = [gemmRecord('f32', 4e6), gemmRecord('f16', 2e6), gemmRecord('f32', 1e6, { deviceId: GPU, peak })].map(
    (r) => collected(r),
  )
  const derived = deriveFigures(run)

  test('console: one titled, aligned section each, with figures and units', () => {
    const text = derivedText(derived)
    expect(text).toContain(' gpubench: FP16 over FP32\n')
    expect(text).toMatch(/cpu-test-cpu-2c\s+matmul\/quick\/gemm 8x256x256x256 f16 vs f32\s+4 ms\s+2 ms\s+2\.00x/)
    expect(text).toMatch(/cpu-test-cpu-2c\s+geometric mean over 1 pair\s+2\.00x/)
    expect(text).toContain(" gpubench: Fraction of the device's peak\n")
    expect(text).toMatch(
      /cuda\s+cuda-test-gpu-0\s+268 GFLOP\/s\s+60 TFLOP\/s \(f32\)\s+0\.45%\s+6\.29 GB\/s\s+3\.35 TB\/s\s+0\.19%$/m,
    )
  })

  test('nothing to derive, no text', () => {
    const none = deriveFigures([collected(gemmRecord('f32', 1e6)), collected(skippedRecord())])
    expect(none).toEqual({ fp16OverFp32: [], roofline: [], showMean: false })
    expect(derivedText(none)).toBe('')
    expect(derivedMarkdown(none)).toEqual([])
  })

  test('markdown: sections after the table', () => {
    const rows = run.map((c) => rowOf(c, { kind: 'not-requested' }))
    const text = formatMarkdown(rows, { measured: 3, skipped: 0, regressed: 0, written: 0 }, { derived })
    const table = text.indexOf('| benchmark |')
    expect(table).toBeGreaterThan(0)
    expect(text.indexOf('#### FP16 over FP32')).toBeGreaterThan(table)
    expect(text).toContain('| cpu-test-cpu-2c | matmul/quick/gemm 8x256x256x256 f16 vs f32 | 4 ms | 2 ms | 2.00x |')
    expect(text).toContain("#### Fraction of the device's peak")
  })

  test('JSON: the derived figures beside the records', () => {
    const report = jsonReport(
      run.map((c) => ({ collected: c, outcome: { kind: 'not-requested' } as const })),
      { createdAt: '2026-11-22T04:00:00.000Z', update: 'none', commit: null, errors: [], derived },
    )
    const parsed = JSON.parse(JSON.stringify(report))
    expect(parsed.derived.fp16OverFp32[0].pairs[0].speedup).toBeCloseTo(2, 6)
    expect(parsed.derived.roofline[0].deviceId).toBe(GPU)
    expect(parsed.derived.showMean).toBe(false)
    expect(parsed.benchmarks[2].record.peak).toEqual(peak)
  })
})
