/**
 * What one `bench.gpu()` call does for each backend chosen: prepare, measure (cold run first, so
 * compilation stays in the cold figure), verify against core's float64 reference, dispose; then
 * the verdict against the baseline, confirmed by measuring again, and the record for the
 * reporter, Vitest's table and the test's annotations.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import {
  type BackendKind,
  type BaselineDevice,
  baselineEntryOf,
  cpuSnapshot,
  type DeviceDescription,
  formatDuration,
  isWorkload,
  type MachineLoad,
  type Measurement,
  machineLoadBetween,
  machineLoadNote,
  measureRounds,
  type Runnable,
  type Target,
} from '@gpubench/core'
import type { TestContext } from 'vitest'
import type { RuntimeConfig } from '../options.ts'
import type { BenchRecord, MeasuredRecord, SkippedRecord } from '../record.ts'
import { summaryLine } from '../report/summary-line.ts'
import { lookupBaseline, poolIdOf } from './baseline-lookup.ts'
import { GpuBenchError, type Settings } from './bench-settings.ts'
import { candidateKinds, chooseBackends, NoBackendError } from './choose-backend.ts'
import { confirmationDeadline, confirmationPause } from './confirm.ts'
import { Judgement } from './judgement.ts'
import type { AvailableBackend, BackendRegistry } from './registry.ts'
import { type GpuBenchResult, perSecond, resultFrom, targetLabel, workCounts } from './result.ts'
import { linkResult } from './result-link.ts'
import { verdictFor } from './verdict.ts'
import { reportToVitest } from './vitest-table.ts'

/** The device as a baseline file records it (without the peak figures, which are not measurements). */
export function baselineDeviceOf(device: DeviceDescription): BaselineDevice {
  const out: BaselineDevice = {
    id: device.id,
    backend: device.backend,
    name: device.name,
    details: { ...device.details },
  }
  if (device.vendor !== undefined) out.vendor = device.vendor
  if (device.architecture !== undefined) out.architecture = device.architecture
  if (device.driver !== undefined) out.driver = device.driver
  if (device.software !== undefined) out.software = device.software
  return out
}

function recordsOf(context: TestContext): BenchRecord[] {
  const meta = context.task.meta
  meta.gpubench ??= { records: [] }
  return meta.gpubench.records
}

function skipTest(context: TestContext, note: string): never {
  return context.skip(note)
}

async function annotate(context: TestContext, message: string, type: string): Promise<void> {
  await context.annotate(message, type)
}

export interface Measured {
  readonly measurement: Measurement
  readonly device: DeviceDescription
  readonly timing: GpuBenchResult['timing']
  readonly notes: readonly string[]
  /** What other processes did meanwhile (core's machineLoadBetween); null where /proc cannot tell. */
  readonly load: MachineLoad | null
}

/**
 * Measures a target in the rule's rounds, each an independent `prepare` by the chosen backend
 * (see core's `measureRounds`): a fresh prepare can land in another performance mode, and the
 * rounds make that spread part of the median's interval. Verification runs once, on the first
 * round's runnable, before it is disposed; the device, timing and notes reported are that
 * runnable's too.
 */
export async function measureOn(
  name: string,
  chosen: AvailableBackend,
  target: Target,
  settings: Pick<Settings, 'rule' | 'verify'>,
): Promise<Measured> {
  let first: Runnable | null = null
  const onRound = async (runnable: Runnable, round: number): Promise<void> => {
    if (round !== 0) return
    first = runnable
    if (!settings.verify) return
    const report = await runnable.verify()
    if (!report.ok) {
      throw new GpuBenchError(
        `${name} on ${runnable.device.id} (${chosen.kind}): results differ from the float64 reference: ${report.failure ?? 'no detail'} (largest scaled error ${report.maxScaledError}, accepted ${report.tolerance}, seed ${report.seed})`,
      )
    }
  }
  const before = cpuSnapshot()
  const measurement = await measureRounds(() => chosen.backend.prepare(target), settings.rule, { onRound })
  const load = machineLoadBetween(before, cpuSnapshot())
  const runnable = first as Runnable | null
  if (runnable === null) {
    throw new GpuBenchError(`${name} on ${chosen.kind}: the measurement ended without a round`)
  }
  const busy = machineLoadNote(load)
  return {
    measurement,
    device: runnable.device,
    timing: runnable.timing,
    notes: busy === null ? runnable.notes : [...runnable.notes, busy],
    load,
  }
}

export interface BenchGpuEnvironment {
  readonly context: TestContext
  readonly config: RuntimeConfig
  readonly registry: BackendRegistry
}

export async function runBenchmark(
  env: BenchGpuEnvironment,
  name: string,
  target: Target,
  settings: Settings,
): Promise<GpuBenchResult[]> {
  const { context, config, registry } = env
  const statuses = await Promise.all(candidateKinds(target).map((kind) => registry.status(kind)))
  const records = recordsOf(context)
  let choice: ReturnType<typeof chooseBackends>
  try {
    choice = chooseBackends(settings.request, target, statuses)
  } catch (error) {
    if (!(error instanceof NoBackendError) || settings.required) throw error
    for (const s of error.skipped) records.push({ status: 'skipped', key: name, backend: s.kind, reason: s.reason })
    // Marks the test skipped, with the reason, in Vitest's output; never returns.
    throw skipTest(context, `${name}: ${error.message}`)
  }
  if (settings.request === 'all') {
    for (const s of choice.skipped) {
      const skipped: SkippedRecord = { status: 'skipped', key: name, backend: s.kind, reason: s.reason }
      records.push(skipped)
      await annotate(context, `${name} [${s.kind}] skipped: ${s.reason}`, 'notice')
    }
  }
  const { flops, bytes } = workCounts(target)
  const results: GpuBenchResult[] = []
  for (const chosen of choice.chosen) {
    let measured = await measureOn(name, chosen, target, settings)
    // A pool's file stands for the device's own where the machine belongs to one (deviceAlias).
    const pool = poolIdOf(chosen.kind, config.deviceAlias)
    const baseline = await lookupBaseline(
      config.baselineDir,
      pool ?? measured.device.id,
      name,
      pool === null ? null : measured.device.id,
    )
    // A regression stands only if it reproduces after pauses (see the options confirmRegressions
    // and confirmPauseMs, and confirm.ts). Not under -u, which records what this run measured:
    // re-measuring only the slow runs would bias the baseline's runs towards the fast ones.
    const confirmations = config.update === 'all' ? 0 : settings.confirmRegressions
    const deadline = confirmationDeadline(context.task)
    const earlier: { reason: string; ratio: number; pauseMs: number; busy: string | null }[] = []
    let cutShort = ''
    let verdict = verdictFor(measured.measurement.stats, baseline, settings.tolerance)
    while (verdict?.kind === 'regressed' && earlier.length < confirmations) {
      const measureMs = measured.measurement.wallTimeNs / 1e6
      const pauseMs = confirmationPause(config.confirmPauseMs, earlier.length + 1, measureMs, deadline - Date.now())
      if (pauseMs === null) {
        cutShort = `confirmation stopped after ${earlier.length} of ${confirmations}: the test's timeout (${formatDuration(context.task.timeout * 1e6)}) leaves no room for another measurement of ${formatDuration(measureMs * 1e6)}`
        break
      }
      earlier.push({ reason: verdict.reason, ratio: verdict.ratio, pauseMs, busy: machineLoadNote(measured.load) })
      await sleep(pauseMs)
      measured = await measureOn(name, chosen, target, { ...settings, verify: false })
      verdict = verdictFor(measured.measurement.stats, baseline, settings.tolerance)
    }
    const confirmationNotes = earlier.map(
      ({ reason, pauseMs, busy }, i) =>
        `measurement ${i + 1} of ${earlier.length + 1} read ${reason}${busy === null ? '' : ` (${busy})`}; measured again after a ${formatDuration(pauseMs * 1e6)} pause to confirm (confirmRegressions ${settings.confirmRegressions})`,
    )
    if (cutShort !== '') confirmationNotes.push(cutShort)
    const { stats } = measured.measurement
    const entry = baselineEntryOf({
      target: targetLabel(target),
      workload: isWorkload(target) ? target : undefined,
      backend: chosen.kind,
      timing: measured.timing,
      stats,
      coldNs: measured.measurement.coldNs,
      flopPerSecond: perSecond(flops, stats.medianNs),
      bytesPerSecond: perSecond(bytes, stats.medianNs),
      gpubenchVersion: config.gpubenchVersion,
      deviceId: measured.device.id,
    })
    const judgement = new Judgement(stats, baseline, settings.tolerance, verdict)
    const record: MeasuredRecord = {
      status: 'measured',
      key: name,
      backend: chosen.kind as BackendKind,
      device: baselineDeviceOf(measured.device),
      ...(pool === null ? {} : { pool }),
      ...(measured.device.peak ? { peak: structuredClone(measured.device.peak) } : {}),
      entry,
      baseline,
      // Reported as judged: at the benchmark's tolerance, or at the one an assertion asks for.
      get verdict() {
        return judgement.verdict
      },
      stoppedBy: measured.measurement.stoppedBy,
      relativeNoise: measured.measurement.relativeNoise,
      wallTimeNs: measured.measurement.wallTimeNs,
      notes: [...measured.notes, ...confirmationNotes],
      confirmations: earlier.map(({ ratio, pauseMs }) => ({ ratio, pauseMs })),
      ...(measured.load === null ? {} : { machineLoad: measured.load }),
    }
    records.push(record)
    const result = resultFrom(name, target, measured.device, measured.timing, measured.measurement, record)
    linkResult(result, {
      key: name,
      judgement,
      context,
      tolerance: settings.tolerance,
      strict: config.strict,
      update: config.update,
    })
    const vitestName = settings.request === 'all' ? `${name} [${chosen.kind}]` : name
    await reportToVitest(context, vitestName, measured.measurement.samplesNs)
    await annotate(context, summaryLine(record), 'gpubench')
    results.push(result)
  }
  return results
}
