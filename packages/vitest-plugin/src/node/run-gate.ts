/**
 * The run's decision on regressions, in the main process, where every comparison of the run is
 * seen (the workers see one benchmark each). A pure plan, like update-policy.ts: computed from the
 * collected records first, then carried out by the reporter (verdicts replaced, regressions
 * printed, the exit code set).
 *
 * 1. The family is every comparison of the run that has a one-sided p-value (core's verdict,
 *    step 8), on every device: m comparisons.
 * 2. Per baseline file (a device, or a pool of devices sharing one file), the run's common
 *    slowdown is estimated and discounted first (core's runShiftLog): one run cannot tell a slow
 *    spell of the whole machine from a change that slows every benchmark alike, and the shift is
 *    reported, not failed.
 * 3. Holm at the run-level error rate (core's holmRejections): the chance that a run of unchanged
 *    code reports any `regressed` is at most that rate, whatever the dependence between benchmarks.
 *    A comparison reads `regressed` exactly when Holm rejects it and its point estimate, after the
 *    shift, lies beyond the tolerance; a worker's `regressed` that does not stand reads `slower`.
 * 4. Each comparison's detectable slowdown is taken at alpha / m, the level a single regression
 *    in an otherwise unchanged run meets (Holm's first step), and summarised per device.
 * 5. In CI, benchmarks with nothing to compare against are listed per device as not gated, with
 *    the devices that do have baseline files, so a runner of a new machine type is never silently
 *    blind.
 */
import { detectableRatio, judgeRun, MIN_VERDICT_SAMPLES, medianOf, UNSEEN_SHIFT_SD } from '@gpubench/core'
import type { CollectedRecord, MeasuredRecord, RecordedVerdict } from '../record.ts'
import { detectsText } from '../report/figures.ts'

export interface DeviceGate {
  /** The device measured (the first seen for a pool's file). */
  readonly device: string
  /** The baseline file compared against. */
  readonly file: string
  readonly comparisons: number
  /** Median over the device's comparisons of the smallest slowdown caught (a ratio); null without comparisons. */
  readonly medianDetectableRatio: number | null
  readonly bestDetectableRatio: number | null
  readonly worstDetectableRatio: number | null
  /** The run's common slowdown on this device, discounted before the test (a fraction, 0 when none). */
  readonly runShift: number
  /** Its baseline runs are of one sitting: the model allows for a shift between sittings it has not seen. */
  readonly oneSitting: boolean
}

export interface NotGated {
  readonly device: string
  readonly benchmarks: readonly string[]
  /** Devices (baseline file names) that do have baselines. */
  readonly baselineDevices: readonly string[]
}

export interface RunGate {
  /** The run-level error rate. */
  readonly alpha: number
  /** m: comparisons in the family. */
  readonly comparisons: number
  /** Indices into `collected` of the benchmarks that regressed. */
  readonly regressions: readonly number[]
  readonly devices: readonly DeviceGate[]
  /** Only in CI; empty otherwise. */
  readonly notGated: readonly NotGated[]
  /** The verdict each record is to carry, by index into `collected` (null where it has none). */
  readonly verdicts: ReadonlyArray<RecordedVerdict | null>
}

export interface GateSettings {
  readonly alpha: number
  /** True in CI: list what is not gated. */
  readonly ci: boolean
  /** Device ids that have a baseline file (for the not-gated listing). */
  readonly baselineDevices: readonly string[]
  /** Records written under -u in this run (not listed as not gated). */
  readonly written: ReadonlySet<number>
}

function percentOf(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`
}

interface Compared {
  readonly index: number
  readonly record: MeasuredRecord
  readonly verdict: RecordedVerdict & { readonly pValue: number; readonly logSe: number; readonly df: number }
  readonly file: string
}

export function decideRun(collected: readonly CollectedRecord[], settings: GateSettings): RunGate {
  const compared: Compared[] = []
  collected.forEach(({ record }, index) => {
    if (record.status !== 'measured' || record.baseline.state !== 'found') return
    const v = record.verdict
    if (!v || v.pValue === undefined || v.logSe === undefined || v.df === undefined) return
    compared.push({
      index,
      record,
      verdict: { ...v, pValue: v.pValue, logSe: v.logSe, df: v.df },
      file: record.baseline.file,
    })
  })
  const m = compared.length
  const judged = judgeRun(
    compared.map((c) => ({
      verdict: c.verdict,
      group: c.file,
      enoughSamples:
        c.record.entry.stats.n >= MIN_VERDICT_SAMPLES &&
        c.record.baseline.state === 'found' &&
        c.record.baseline.stats.n >= MIN_VERDICT_SAMPLES,
    })),
    settings.alpha,
  )
  const shiftOf = judged.shiftLogs
  const rejected = judged.regressed
  const level = judged.singleLevel
  const verdicts: Array<RecordedVerdict | null> = collected.map(({ record }) =>
    record.status === 'measured' ? record.verdict : null,
  )
  const regressions: number[] = []
  const detectableOf = new Map<string, number[]>()
  compared.forEach((c, i) => {
    const shift = shiftOf.get(c.file) ?? 0
    const p = judged.pValues[i]!
    const detectable = detectableRatio(c.verdict, level)
    const list = detectableOf.get(c.file) ?? []
    list.push(detectable)
    detectableOf.set(c.file, list)
    const runShift = Math.expm1(shift)
    const run = `run level: p = ${formatP(p)}${shift > 0 ? ` after the run-wide slowdown of ${percentOf(runShift)} on this device` : ''}, Holm over ${m} comparison${m === 1 ? '' : 's'} at ${percentOf(settings.alpha)}`
    const base = { ...c.verdict, detectableRatio: detectable, ...(shift > 0 ? { runShift } : {}) }
    if (rejected[i]) {
      regressions.push(c.index)
      const reason =
        c.verdict.kind === 'regressed' ? c.verdict.reason : `regressed: ${c.verdict.reason.replace(/^\w+: /, '')}`
      verdicts[c.index] = { ...base, kind: 'regressed', reason: `${reason}; ${run}: regressed` }
    } else if (c.verdict.kind === 'regressed') {
      const reason = `slower: ${c.verdict.reason.replace(/^\w+: /, '')}`
      verdicts[c.index] = { ...base, kind: 'slower', reason: `${reason}; ${run}: does not stand` }
    } else {
      verdicts[c.index] = { ...base, reason: `${c.verdict.reason}; ${run}` }
    }
  })
  const devices: DeviceGate[] = [...detectableOf].map(([file, list]) => {
    const sorted = [...list].sort((a, b) => a - b)
    return {
      device: compared.find((c) => c.file === file)!.record.device.id,
      file,
      comparisons: list.length,
      medianDetectableRatio: medianOf(sorted),
      bestDetectableRatio: sorted[0] ?? null,
      worstDetectableRatio: sorted.at(-1) ?? null,
      runShift: Math.expm1(shiftOf.get(file) ?? 0),
      oneSitting: compared.some((c) => c.file === file && (c.verdict.unseenShift ?? 0) > 0),
    }
  })
  const notGated: NotGated[] = []
  if (settings.ci) {
    const byDevice = new Map<string, string[]>()
    collected.forEach(({ record }, index) => {
      if (record.status !== 'measured' || record.baseline.state !== 'missing' || settings.written.has(index)) return
      const keys = byDevice.get(record.device.id) ?? []
      keys.push(record.key)
      byDevice.set(record.device.id, keys)
    })
    for (const [device, benchmarks] of byDevice) {
      notGated.push({ device, benchmarks, baselineDevices: settings.baselineDevices.filter((d) => d !== device) })
    }
  }
  return { alpha: settings.alpha, comparisons: m, regressions, devices, notGated, verdicts }
}

function formatP(p: number): string {
  return p >= 0.001 ? String(Number(p.toPrecision(2))) : p.toExponential(1)
}

/** The gate's lines for beneath the table: the level, each device's detectable slowdown, and what is not gated. */
export function gateLines(gate: RunGate): string[] {
  const lines: string[] = []
  if (gate.comparisons > 0) {
    lines.push(
      `gate: ${gate.comparisons} comparison${gate.comparisons === 1 ? '' : 's'} with baselines, at most ${percentOf(gate.alpha)} chance per run of a false regression (Holm); ${gate.regressions.length} regressed`,
    )
  }
  for (const d of gate.devices) {
    const range =
      d.comparisons > 1
        ? ` (median of ${d.comparisons}; ${detectsText(d.bestDetectableRatio)} to ${detectsText(d.worstDetectableRatio)})`
        : ''
    const shift = d.runShift > 0 ? `; the whole run was ${percentOf(d.runShift)} slower there, discounted` : ''
    const sitting = d.oneSitting
      ? `; its baseline runs are of one sitting, so a ${percentOf(UNSEEN_SHIFT_SD)} shift between sittings is allowed for (gpubench record --add on another occasion lets the gate learn this machine's)`
      : ''
    lines.push(
      `  ${d.device}: detects a slowdown ${detectsText(d.medianDetectableRatio)} in one benchmark${range}${shift}${sitting}`,
    )
  }
  for (const n of gate.notGated) {
    const others =
      n.baselineDevices.length > 0 ? `baselines exist for ${n.baselineDevices.join(', ')}` : 'no device has baselines'
    lines.push(
      `not gated on ${n.device}: ${n.benchmarks.length} benchmark${n.benchmarks.length === 1 ? '' : 's'} without a baseline there (${n.benchmarks.map((k) => `'${k}'`).join(', ')}); ${others}; record this device (gpubench calibrate) or share a pool's file (deviceAlias)`,
    )
  }
  return lines
}
