/**
 * `bench.gpu(name, target, options)`: measures a core workload, a JavaScript function, or a
 * backend's own target on the backend(s) chosen, and reports the device-measured durations to
 * Vitest's table, the test's meta (for this plugin's reporter) and an annotation per result.
 *
 * Order of work for each backend: prepare, measure (cold run first, so compilation stays in the
 * cold figure), verify against core's float64 reference, dispose. A failed verification fails the
 * benchmark: a fast wrong kernel is not a result.
 *
 * The benchmark's name is its key in each device's baseline file: a name identifies a benchmark
 * across files, so a suite can be moved or renamed without losing its history. With `'all'`, one
 * name has one entry per device, each in that device's file.
 */
import {
  type BackendKind,
  type BaselineDevice,
  type BaselineEntry,
  DEFAULT_TOLERANCE,
  type DeviceDescription,
  hostFunction,
  isWorkload,
  type Measurement,
  measureRounds,
  type Runnable,
  runSummaryOf,
  type StoppingRule,
  stoppingRule,
  type Target,
} from '@gpubench/core'
import type { TestContext } from 'vitest'
import {
  BACKEND_NAMES,
  type RuntimeConfig,
  shown,
  validateConfirmRegressions,
  validateStoppingRuleShape,
  validateTolerance,
} from '../options.ts'
import type { BenchRecord, MeasuredRecord, SkippedRecord } from '../record.ts'
import { summaryLine } from '../report/summary-line.ts'
import { lookupBaseline, poolIdOf } from './baseline-lookup.ts'
import { type BackendRequest, candidateKinds, chooseBackends, NoBackendError } from './choose-backend.ts'
import type { AvailableBackend, BackendRegistry } from './registry.ts'
import { type GpuBenchResult, perSecond, resultFrom, targetLabel, workCounts } from './result.ts'
import { linkResult } from './result-link.ts'
import { verdictFor } from './verdict.ts'
import { reportToVitest } from './vitest-table.ts'

/** The options of one `bench.gpu()` call (the plugin's own are GpubenchOptions). */
export interface BenchGpuOptions {
  /** `'auto'` (default): the best available backend; a name: that one; `'all'`: every available one. */
  backend?: BackendRequest
  /** Overrides the plugin's stopping rule, field by field. */
  stoppingRule?: Partial<StoppingRule>
  /** Overrides the plugin's tolerance for this benchmark. */
  tolerance?: number
  /**
   * True (default): a benchmark that cannot run on the requested backend fails. False: it is
   * marked skipped, with the reason, in Vitest's output and in this plugin's report.
   */
  required?: boolean
  /** Overrides the plugin's `verify`. */
  verify?: boolean
  /** Overrides the plugin's `confirmRegressions`. */
  confirmRegressions?: number
}

/** A JavaScript function is measured by the host backend, like `hostFunction(name, fn)`. */
export type GpuBenchTarget = Target | (() => unknown)

export interface GpuBenchRegistration<R> {
  readonly name: string
  readonly target: Target
  /** Measures (once per registration) and resolves to the result, or one result per backend with `'all'`. */
  run(): Promise<R>
}

export interface GpuBench {
  (
    name: string,
    target: GpuBenchTarget,
    options: BenchGpuOptions & { backend: 'all' },
  ): GpuBenchRegistration<GpuBenchResult[]>
  (name: string, target: GpuBenchTarget, options?: BenchGpuOptions): GpuBenchRegistration<GpuBenchResult>
}

export class GpuBenchError extends Error {
  override name = 'GpuBenchError'
}

const OPTION_KEYS: ReadonlyArray<keyof BenchGpuOptions> = [
  'backend',
  'stoppingRule',
  'tolerance',
  'required',
  'verify',
  'confirmRegressions',
]

interface Settings {
  readonly request: BackendRequest
  readonly rule: StoppingRule
  readonly tolerance: number
  readonly required: boolean
  readonly verify: boolean
  readonly confirmRegressions: number
}

function settingsFrom(name: string, options: unknown, config: RuntimeConfig): Settings {
  const field = (key: string) => `bench.gpu('${name}') option '${key}'`
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new GpuBenchError(`bench.gpu('${name}'): options must be an object`)
  }
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new GpuBenchError(`${field(key)} is unknown; known options: ${OPTION_KEYS.join(', ')}`)
    }
  }
  const request = o.backend ?? 'auto'
  if (request !== 'auto' && request !== 'all' && !(BACKEND_NAMES as readonly unknown[]).includes(request)) {
    throw new GpuBenchError(
      `${field('backend')} must be 'auto', 'all' or one of ${BACKEND_NAMES.join(', ')}, got ${shown(request)}`,
    )
  }
  for (const key of ['required', 'verify'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new GpuBenchError(`${field(key)} must be a boolean, got ${shown(o[key])}`)
    }
  }
  let rule: StoppingRule
  try {
    const own = o.stoppingRule === undefined ? {} : validateStoppingRuleShape('stoppingRule', o.stoppingRule)
    rule = stoppingRule({ ...config.stoppingRule, ...own })
  } catch (error) {
    throw new GpuBenchError(`${field('stoppingRule')}: ${(error as Error).message}`)
  }
  let tolerance: number
  try {
    tolerance =
      o.tolerance === undefined ? (config.tolerance ?? DEFAULT_TOLERANCE) : validateTolerance('tolerance', o.tolerance)
  } catch (error) {
    throw new GpuBenchError(`bench.gpu('${name}'): ${(error as Error).message}`)
  }
  let confirmRegressions: number
  try {
    confirmRegressions =
      o.confirmRegressions === undefined
        ? config.confirmRegressions
        : validateConfirmRegressions('confirmRegressions', o.confirmRegressions)
  } catch (error) {
    throw new GpuBenchError(`bench.gpu('${name}'): ${(error as Error).message}`)
  }
  return {
    request: request as BackendRequest,
    rule,
    tolerance,
    required: (o.required as boolean | undefined) ?? true,
    verify: (o.verify as boolean | undefined) ?? config.verify,
    confirmRegressions,
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new GpuBenchError(`bench.gpu(): the name must be a non-empty string, got ${shown(name)}`)
  }
  if (/\p{Cc}/u.test(name))
    throw new GpuBenchError(`bench.gpu(${JSON.stringify(name)}): the name must not contain control characters`)
  return name
}

function targetFrom(name: string, target: unknown): Target {
  if (typeof target === 'function') return hostFunction(name, target as () => unknown)
  if (typeof target === 'object' && target !== null) {
    const kind = (target as { kind?: unknown }).kind
    if (isWorkload(target) || kind === 'function' || kind === 'custom') return target as Target
  }
  throw new GpuBenchError(
    `bench.gpu('${name}'): the target must be a core workload (gemm(), gemv(), vjp(), launch()), a function, or a backend target; got ${typeof target === 'object' ? shown(target) : typeof target}`,
  )
}

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
  const measurement = await measureRounds(() => chosen.backend.prepare(target), settings.rule, { onRound })
  const runnable = first as Runnable | null
  if (runnable === null) {
    throw new GpuBenchError(`${name} on ${chosen.kind}: the measurement ended without a round`)
  }
  return { measurement, device: runnable.device, timing: runnable.timing, notes: runnable.notes }
}

export interface BenchGpuEnvironment {
  readonly context: TestContext
  readonly config: RuntimeConfig
  readonly registry: BackendRegistry
}

async function runBenchmark(
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
    const baseline = await lookupBaseline(config.baselineDir, pool ?? measured.device.id, name)
    // A regression stands only if it reproduces (see the option confirmRegressions). Not under
    // -u, which records what this run measured: re-measuring only the slow runs would bias the
    // baseline's runs towards the fast ones.
    const confirmations = config.update === 'all' ? 0 : settings.confirmRegressions
    const earlier: string[] = []
    let verdict = verdictFor(measured.measurement.stats, baseline, settings.tolerance)
    while (verdict?.kind === 'regressed' && earlier.length < confirmations) {
      earlier.push(verdict.reason)
      measured = await measureOn(name, chosen, target, { ...settings, verify: false })
      verdict = verdictFor(measured.measurement.stats, baseline, settings.tolerance)
    }
    const confirmationNotes = earlier.map(
      (reason, i) =>
        `measurement ${i + 1} of ${earlier.length + 1} read ${reason}; measured again to confirm (confirmRegressions ${settings.confirmRegressions})`,
    )
    const { stats } = measured.measurement
    const entry: BaselineEntry = {
      target: targetLabel(target),
      ...(isWorkload(target) ? { workload: { ...target } } : {}),
      backend: chosen.kind,
      timing: measured.timing,
      stats,
      coldNs: measured.measurement.coldNs,
      flopPerSecond: perSecond(flops, stats.medianNs),
      bytesPerSecond: perSecond(bytes, stats.medianNs),
      recordedAt: new Date().toISOString(),
      commit: null,
      gpubenchVersion: config.gpubenchVersion,
    }
    entry.runs = [runSummaryOf(entry)]
    const record: MeasuredRecord = {
      status: 'measured',
      key: name,
      backend: chosen.kind as BackendKind,
      device: baselineDeviceOf(measured.device),
      ...(pool === null ? {} : { pool }),
      ...(measured.device.peak ? { peak: structuredClone(measured.device.peak) } : {}),
      entry,
      baseline,
      verdict,
      stoppedBy: measured.measurement.stoppedBy,
      relativeNoise: measured.measurement.relativeNoise,
      wallTimeNs: measured.measurement.wallTimeNs,
      notes: [...measured.notes, ...confirmationNotes],
    }
    records.push(record)
    const result = resultFrom(name, target, measured.device, measured.timing, measured.measurement, record)
    linkResult(result, {
      record,
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

/** Creates the `bench.gpu` function of one test. */
export function createBenchGpu(env: BenchGpuEnvironment): GpuBench {
  const benchGpu = (name: unknown, target: unknown, options?: unknown) => {
    const checkedName = checkName(name)
    const checkedTarget = targetFrom(checkedName, target)
    const settings = settingsFrom(checkedName, options, env.config)
    let ran = false
    return {
      name: checkedName,
      target: checkedTarget,
      async run() {
        if (ran)
          throw new GpuBenchError(
            `bench.gpu('${checkedName}').run() was already called; register it again to measure again`,
          )
        ran = true
        const results = await runBenchmark(env, checkedName, checkedTarget, settings)
        return settings.request === 'all' ? results : results[0]
      },
    }
  }
  return benchGpu as GpuBench
}
