/**
 * Figures derived from a whole run's records, in the main process, after the run: what no single
 * benchmark can say on its own.
 *
 * - FP16 over FP32: per device, each pair of measured workloads identical but for the dtype, with
 *   speed-up = f32 median / f16 median (> 1: f16 is faster), and the geometric mean of the pairs
 *   (the mean that treats a 2x speed-up and a 2x slow-down symmetrically).
 * - Roofline: achieved FLOP/s and bytes/s as fractions of the device's peak, only where the backend
 *   reported that peak (CUDA devices do; a CPU or a software adapter may not): a peak is never
 *   guessed, so a record without one has no fraction.
 * - Whether any benchmark was measured with a fixed count (the paper's method), in which case the
 *   report shows the mean beside the median, as the paper reports it.
 *
 * Invariants: every figure comes from a measured record's own entry (baseline-file figures, in ns
 * and per second); nothing here measures, rescales or fills in a missing value.
 */
import type { Dtype } from '@gpubench/core'
import type { CollectedRecord, MeasuredRecord } from '../record.ts'

export interface Fp16Pair {
  /** What both benchmarks measure, without the dtype: the f32 benchmark's name with `f32` written `f16 vs f32`. */
  readonly label: string
  readonly f16Key: string
  readonly f32Key: string
  readonly f16MedianNs: number
  readonly f32MedianNs: number
  /** f32 median / f16 median: > 1 when f16 is faster. */
  readonly speedup: number
}

export interface Fp16Device {
  readonly deviceId: string
  readonly backend: string
  /** In the order the f32 benchmarks were collected. Never empty. */
  readonly pairs: readonly Fp16Pair[]
  /** exp(mean(log speedup)) over the pairs. */
  readonly geometricMeanSpeedup: number
}

export interface RooflineFraction {
  readonly key: string
  readonly backend: string
  readonly deviceId: string
  /** The workload's dtype, when the target is a core workload. */
  readonly dtype: Dtype | null
  readonly flopPerSecond: number | null
  readonly peakFlopPerSecond: number | null
  /** flopPerSecond / peakFlopPerSecond; null unless both are known. */
  readonly flopFraction: number | null
  readonly bytesPerSecond: number | null
  readonly peakBytesPerSecond: number | null
  /** bytesPerSecond / peakBytesPerSecond; null unless both are known. */
  readonly bytesFraction: number | null
}

export interface DerivedFigures {
  /** Devices with at least one f16/f32 pair, in the order first seen. */
  readonly fp16OverFp32: readonly Fp16Device[]
  /** Records with at least one known fraction, in the order collected. */
  readonly roofline: readonly RooflineFraction[]
  /** True when any record stopped by a fixed count: the report then shows the mean beside the median. */
  readonly showMean: boolean
}

function measuredRecords(collected: readonly CollectedRecord[]): MeasuredRecord[] {
  return collected.map((c) => c.record).filter((r): r is MeasuredRecord => r.status === 'measured')
}

/** The workload's dtype, when the record's entry holds a core workload with one. */
function dtypeOf(record: MeasuredRecord): Dtype | null {
  const dtype = (record.entry.workload as { dtype?: unknown } | undefined)?.dtype
  return dtype === 'f16' || dtype === 'f32' ? dtype : null
}

/** JSON of a value with object keys sorted, so equal workloads give equal text whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** The workload without its dtype, as text: the pairing key within one device. */
function shapeKey(record: MeasuredRecord): string {
  const { dtype: _dtype, ...rest } = record.entry.workload as Record<string, unknown>
  return canonical(rest)
}

/** `f32` as a word of a benchmark name (not inside `xf32b`). */
const F32_WORD = '(^|[^A-Za-z0-9])f32(?![A-Za-z0-9])'

/** The name with each `f32` word written `replacement`; null when the name has no such word. */
function replaceF32(key: string, replacement: string): string | null {
  if (!new RegExp(F32_WORD).test(key)) return null
  return key.replace(new RegExp(F32_WORD, 'g'), `$1${replacement}`)
}

function pairLabel(f32Key: string, f16Key: string): string {
  return replaceF32(f32Key, 'f16') === f16Key ? replaceF32(f32Key, 'f16 vs f32')! : `${f16Key} vs ${f32Key}`
}

/**
 * Pairs f16 and f32 records of one device and workload shape. Several records of one shape (e.g.
 * the same workload under the adaptive and the paper's method) are paired by name: the f16 name
 * is the f32 name with its `f32` token read `f16`. A lone record of each dtype is paired whatever
 * the names. Anything else stays unpaired rather than paired by guess.
 */
function pairsOf(f32s: readonly MeasuredRecord[], f16s: readonly MeasuredRecord[]): Fp16Pair[] {
  const pairs: Fp16Pair[] = []
  const used = new Set<MeasuredRecord>()
  for (const f32 of f32s) {
    const twin = replaceF32(f32.key, 'f16')
    let f16 = twin === null ? undefined : f16s.find((r) => !used.has(r) && r.key === twin)
    if (!f16 && f32s.length === 1 && f16s.length === 1) f16 = f16s[0]
    if (!f16 || used.has(f16)) continue
    used.add(f16)
    const f32MedianNs = f32.entry.stats.medianNs
    const f16MedianNs = f16.entry.stats.medianNs
    pairs.push({
      label: pairLabel(f32.key, f16.key),
      f16Key: f16.key,
      f32Key: f32.key,
      f16MedianNs,
      f32MedianNs,
      speedup: f32MedianNs / f16MedianNs,
    })
  }
  return pairs
}

/** exp of the mean of the logs. Requires a non-empty list of positive numbers. */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('geometricMean: no values')
  let sum = 0
  for (const value of values) {
    if (!(value > 0) || !Number.isFinite(value))
      throw new RangeError(`geometricMean: ${value} is not a positive number`)
    sum += Math.log(value)
  }
  return Math.exp(sum / values.length)
}

export function fp16OverFp32(collected: readonly CollectedRecord[]): Fp16Device[] {
  const devices = new Map<
    string,
    { backend: string; shapes: Map<string, { f16: MeasuredRecord[]; f32: MeasuredRecord[] }> }
  >()
  for (const record of measuredRecords(collected)) {
    const dtype = dtypeOf(record)
    if (dtype === null || !(record.entry.stats.medianNs > 0)) continue
    let device = devices.get(record.device.id)
    if (!device) {
      device = { backend: record.backend, shapes: new Map() }
      devices.set(record.device.id, device)
    }
    const key = shapeKey(record)
    let shape = device.shapes.get(key)
    if (!shape) {
      shape = { f16: [], f32: [] }
      device.shapes.set(key, shape)
    }
    shape[dtype].push(record)
  }
  const out: Fp16Device[] = []
  for (const [deviceId, { backend, shapes }] of devices) {
    const pairs = [...shapes.values()].flatMap((shape) => pairsOf(shape.f32, shape.f16))
    if (pairs.length === 0) continue
    out.push({ deviceId, backend, pairs, geometricMeanSpeedup: geometricMean(pairs.map((p) => p.speedup)) })
  }
  return out
}

function fraction(achieved: number | null, peak: number | null): number | null {
  return achieved !== null && peak !== null && peak > 0 ? achieved / peak : null
}

export function rooflineFractions(collected: readonly CollectedRecord[]): RooflineFraction[] {
  const out: RooflineFraction[] = []
  for (const record of measuredRecords(collected)) {
    if (!record.peak) continue
    const dtype = dtypeOf(record)
    const peakFlopPerSecond = (dtype === null ? undefined : record.peak.flopPerSecond?.[dtype]) ?? null
    const peakBytesPerSecond = record.peak.bytesPerSecond ?? null
    const flopFraction = fraction(record.entry.flopPerSecond, peakFlopPerSecond)
    const bytesFraction = fraction(record.entry.bytesPerSecond, peakBytesPerSecond)
    if (flopFraction === null && bytesFraction === null) continue
    out.push({
      key: record.key,
      backend: record.backend,
      deviceId: record.device.id,
      dtype,
      flopPerSecond: record.entry.flopPerSecond,
      peakFlopPerSecond,
      flopFraction,
      bytesPerSecond: record.entry.bytesPerSecond,
      peakBytesPerSecond,
      bytesFraction,
    })
  }
  return out
}

export function showsMean(collected: readonly CollectedRecord[]): boolean {
  return measuredRecords(collected).some((r) => r.stoppedBy === 'fixed-count')
}

export function deriveFigures(collected: readonly CollectedRecord[]): DerivedFigures {
  return {
    fp16OverFp32: fp16OverFp32(collected),
    roofline: rooflineFractions(collected),
    showMean: showsMean(collected),
  }
}
