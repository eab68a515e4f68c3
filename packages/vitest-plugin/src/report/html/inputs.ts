/**
 * The inputs of `gpubench report`: JSON reports (the `jsonReport` option's files) and baseline
 * files, of any number of devices and machines, read into one list of measurements and one list of
 * devices. A folder stands for the `.json` files directly inside it.
 *
 * Invariants: every measurement comes from a file's own figures (ns, per second), unchanged; a
 * file that is neither kind, or whose shape is wrong, is refused with its path and the JSON pointer
 * of the first problem, never skipped quietly. When one device has the same benchmark in several
 * inputs, the latest recording (`recordedAt`) is kept and the others are counted in `replaced`.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { type BaselineFile, loadBaseline } from '@gpubench/core'

/** The summary statistics of a measurement, in ns (as in baseline files). */
export interface MeasuredStats {
  readonly n: number
  readonly medianNs: number
  readonly meanNs: number
  readonly ciLowNs: number
  readonly ciHighNs: number
}

export interface Measurement {
  readonly deviceId: string
  readonly backend: string
  /** The benchmark's name (its key in the device's baseline file). */
  readonly key: string
  /** Human label of what was measured. */
  readonly target: string
  /** The workload as JSON when the target is one of core's workloads (or another kind a suite records, e.g. training). */
  readonly workload: Readonly<Record<string, unknown>> | null
  readonly timing: string
  readonly stats: MeasuredStats
  readonly coldNs: number | null
  readonly flopPerSecond: number | null
  readonly bytesPerSecond: number | null
  readonly recordedAt: string
  /** How the sampling stopped (`fixed-count` under the paper's method); null when the input does not say (baseline files). */
  readonly stoppedBy: string | null
  /** The backend's notes on what was timed; empty when the input has none (baseline files). */
  readonly notes: readonly string[]
  /** The file it was read from, as given. */
  readonly source: string
  /** A JSON report holds one run on one machine; a baseline file one device's entries, of any runs. */
  readonly sourceKind: 'report' | 'baseline'
}

export interface DeviceFacts {
  readonly id: string
  readonly backend: string
  readonly name: string
  readonly vendor: string | null
  readonly architecture: string | null
  readonly driver: string | null
  readonly software: boolean
  readonly details: Readonly<Record<string, string | number | boolean>>
  /** Peak rates as the backend reported them (JSON reports only; never in baseline files). */
  readonly peak: {
    readonly flopPerSecond?: Readonly<Partial<Record<string, number>>>
    readonly bytesPerSecond?: number
  } | null
}

export interface ReportInputs {
  /** In the order the devices were first seen. */
  readonly devices: readonly DeviceFacts[]
  /** In input order; one per device and benchmark key. */
  readonly measurements: readonly Measurement[]
  /** The files read, in order. */
  readonly files: readonly string[]
  /** Measurements dropped because a later recording of the same device and benchmark was read. */
  readonly replaced: number
}

export class ReportInputError extends Error {
  override name = 'ReportInputError'
}

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function problem(file: string, pointer: string, text: string): never {
  throw new ReportInputError(`${file}${pointer === '' ? '' : ` at ${pointer}`}: ${text}`)
}

function str(file: string, pointer: string, value: unknown): string {
  if (typeof value !== 'string')
    problem(file, pointer, `expected a string, got ${JSON.stringify(value) ?? typeof value}`)
  return value
}

function num(file: string, pointer: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problem(file, pointer, `expected a finite number, got ${JSON.stringify(value) ?? typeof value}`)
  }
  return value
}

function numOrNull(file: string, pointer: string, value: unknown): number | null {
  return value === null || value === undefined ? null : num(file, pointer, value)
}

function optionalStr(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function statsOf(file: string, pointer: string, value: unknown): MeasuredStats {
  if (!isObject(value)) problem(file, pointer, 'expected the statistics object')
  const medianNs = num(file, `${pointer}/medianNs`, value.medianNs)
  if (!(medianNs > 0)) problem(file, `${pointer}/medianNs`, `a duration must be positive, got ${medianNs}`)
  return {
    n: num(file, `${pointer}/n`, value.n),
    medianNs,
    meanNs: num(file, `${pointer}/meanNs`, value.meanNs),
    ciLowNs: num(file, `${pointer}/ciLowNs`, value.ciLowNs),
    ciHighNs: num(file, `${pointer}/ciHighNs`, value.ciHighNs),
  }
}

function deviceOf(file: string, pointer: string, value: unknown, peak: unknown): DeviceFacts {
  if (!isObject(value)) problem(file, pointer, 'expected the device object')
  const details: Record<string, string | number | boolean> = {}
  if (isObject(value.details)) {
    for (const [k, v] of Object.entries(value.details)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v
    }
  }
  return {
    id: str(file, `${pointer}/id`, value.id),
    backend: str(file, `${pointer}/backend`, value.backend),
    name: str(file, `${pointer}/name`, value.name),
    vendor: optionalStr(value.vendor),
    architecture: optionalStr(value.architecture),
    driver: optionalStr(value.driver),
    software: value.software === true,
    details,
    peak: isObject(peak) ? (peak as DeviceFacts['peak']) : null,
  }
}

/** One entry (a baseline file's, or a record's `entry`) as a measurement. */
function measurementOf(
  file: string,
  pointer: string,
  deviceId: string,
  key: string,
  entry: unknown,
  extra: { stoppedBy: string | null; notes: readonly string[]; sourceKind: Measurement['sourceKind'] },
): Measurement {
  if (!isObject(entry)) problem(file, pointer, 'expected a baseline entry object')
  return {
    deviceId,
    backend: str(file, `${pointer}/backend`, entry.backend),
    key,
    target: str(file, `${pointer}/target`, entry.target),
    workload: isObject(entry.workload) ? entry.workload : null,
    timing: str(file, `${pointer}/timing`, entry.timing),
    stats: statsOf(file, `${pointer}/stats`, entry.stats),
    coldNs: numOrNull(file, `${pointer}/coldNs`, entry.coldNs),
    flopPerSecond: numOrNull(file, `${pointer}/flopPerSecond`, entry.flopPerSecond),
    bytesPerSecond: numOrNull(file, `${pointer}/bytesPerSecond`, entry.bytesPerSecond),
    recordedAt: str(file, `${pointer}/recordedAt`, entry.recordedAt),
    stoppedBy: extra.stoppedBy,
    notes: extra.notes,
    source: file,
    sourceKind: extra.sourceKind,
  }
}

interface FileContents {
  readonly devices: DeviceFacts[]
  readonly measurements: Measurement[]
}

/** A JSON report (`format: 'gpubench-report'`, version 1): its measured records; skipped ones carry no figures. */
export function readJsonReport(file: string, value: Json): FileContents {
  if (value.version !== 1)
    problem(file, '/version', `unsupported report version ${JSON.stringify(value.version)}; supported: 1`)
  if (!Array.isArray(value.benchmarks)) problem(file, '/benchmarks', 'expected an array')
  const devices: DeviceFacts[] = []
  const measurements: Measurement[] = []
  value.benchmarks.forEach((benchmark: unknown, index: number) => {
    const pointer = `/benchmarks/${index}/record`
    if (!isObject(benchmark) || !isObject(benchmark.record)) problem(file, pointer, 'expected a record object')
    const record = benchmark.record
    if (record.status !== 'measured') return
    const device = deviceOf(file, `${pointer}/device`, record.device, record.peak)
    if (!devices.some((d) => d.id === device.id)) devices.push(device)
    const notes = Array.isArray(record.notes) ? record.notes.filter((n): n is string => typeof n === 'string') : []
    measurements.push(
      measurementOf(file, `${pointer}/entry`, device.id, str(file, `${pointer}/key`, record.key), record.entry, {
        stoppedBy: optionalStr(record.stoppedBy),
        notes,
        sourceKind: 'report',
      }),
    )
  })
  return { devices, measurements }
}

/** A baseline file, read and validated by core's store (which wants it named `<device id>.json`). */
async function readBaselineFile(file: string): Promise<FileContents> {
  const id = basename(file, '.json')
  let baseline: BaselineFile | null
  try {
    baseline = await loadBaseline(dirname(file), id)
  } catch (error) {
    throw new ReportInputError((error as Error).message)
  }
  if (baseline === null) problem(file, '', 'not found')
  const device = deviceOf(file, '/device', baseline.device, undefined)
  const measurements = Object.entries(baseline.entries).map(([key, entry]) =>
    measurementOf(file, `/entries/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, device.id, key, entry, {
      stoppedBy: null,
      notes: [],
      sourceKind: 'baseline',
    }),
  )
  return { devices: [device], measurements }
}

async function readOne(file: string): Promise<FileContents> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new ReportInputError(`${file}: ${(error as Error).message}`)
  }
  if (isObject(value) && value.format === 'gpubench-report') return readJsonReport(file, value)
  if (isObject(value) && 'schemaVersion' in value) return readBaselineFile(file)
  return problem(
    file,
    '',
    "neither a gpubench JSON report (format 'gpubench-report') nor a baseline file (schemaVersion)",
  )
}

/** The files an argument stands for: itself, or a folder's `.json` files in name order. */
async function filesOf(path: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(path)
  } catch {
    throw new ReportInputError(`${path}: no such file or folder`)
  }
  if (!info.isDirectory()) return [path]
  const names = (await readdir(path)).filter((name) => name.endsWith('.json')).sort()
  if (names.length === 0) throw new ReportInputError(`${path}: the folder holds no .json file`)
  return names.map((name) => join(path, name))
}

/** Merges files' contents: devices first seen first; one measurement per device and key, the latest recording kept. */
export function mergeContents(contents: readonly FileContents[], files: readonly string[]): ReportInputs {
  const devices = new Map<string, DeviceFacts>()
  const byKey = new Map<string, Measurement>()
  let replaced = 0
  for (const content of contents) {
    for (const device of content.devices) {
      const known = devices.get(device.id)
      // A JSON report knows the peak; a baseline file of the same device never does.
      if (!known || (known.peak === null && device.peak !== null)) devices.set(device.id, device)
    }
    for (const m of content.measurements) {
      const id = `${m.deviceId}\u0000${m.key}`
      const known = byKey.get(id)
      if (known) {
        replaced++
        if (known.recordedAt >= m.recordedAt) continue
        byKey.delete(id)
      }
      byKey.set(id, m)
    }
  }
  return { devices: [...devices.values()], measurements: [...byKey.values()], files, replaced }
}

/** Reads every input (files or folders). Throws ReportInputError naming the file and the problem. */
export async function readInputs(paths: readonly string[]): Promise<ReportInputs> {
  if (paths.length === 0) throw new ReportInputError('no input: give JSON reports, baseline files or folders of them')
  const files = (await Promise.all(paths.map(filesOf))).flat()
  const contents: FileContents[] = []
  for (const file of files) contents.push(await readOne(file))
  return mergeContents(contents, files)
}
