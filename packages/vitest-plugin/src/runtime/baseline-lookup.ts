/**
 * Reads this device's baseline for a benchmark, in the worker. Read-only: writing is the main
 * process's job, after the run, and only under `-u` (see node/update-policy.ts).
 *
 * A baseline file that is unreadable or invalid is not an absent baseline: it is reported with
 * the file and the JSON pointer of the problem, and `toMatchBaseline()` fails on it, so a broken
 * file can never turn a regression into a pass.
 */
import {
  type BaselineEntry,
  BaselineError,
  type BaselineFile,
  baselinePath,
  deviceRunNoisePrior,
  loadBaseline,
  type RunNoisePrior,
  type RunSummary,
  runsOf,
  sittingsOf,
} from '@gpubench/core'
import { deviceAliasFrom } from '../options.ts'
import type { BaselineLookup } from '../record.ts'

/**
 * The id of the baseline file that stands for this machine's device: the device's own id, or,
 * with a pool (the option deviceAlias, else $GPUBENCH_DEVICE_ALIAS), `<backend>-<pool>`, one file
 * per backend shared by every machine of the pool. Null without a pool.
 */
export function poolIdOf(
  backend: string,
  alias: string | null | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | null {
  const pool = alias ?? deviceAliasFrom(undefined, env)
  return pool === null ? null : `${backend}-${pool}`
}

/**
 * Runs of one machine that a pool's entry needs before the comparison uses them alone. A pool's
 * file mixes machine types (on this project's VMs the CPU backend ran 1.6x apart between two
 * types, lavapipe more): compared with all of them, a machine sees the types' spread as noise
 * and the gate detects only slowdowns of several-fold. Runs that name their machine (runs[].deviceId)
 * let a machine with runs of its own be compared with those, and the pool stands in for
 * machines that have none yet.
 */
export const MIN_MACHINE_RUNS = 2

/** Files read by this worker; they do not change during a run (writes happen after it). */
const files = new Map<string, Promise<BaselineFile | null>>()
/** Each file's spread between runs, pooled over its entries, and the sittings its runs span: of every run (key ''), or of one machine's. */
const priors = new WeakMap<BaselineFile, Map<string, { prior: RunNoisePrior; sittings: number | null }>>()

/** The runs of an entry that stand for `machine`: its own where it has MIN_MACHINE_RUNS, else all (null: all, always). */
function runsFor(entry: BaselineEntry, machine: string | null): { runs: RunSummary[]; machine: string | null } {
  const all = runsOf(entry)
  if (machine === null) return { runs: all, machine: null }
  const own = all.filter((run) => run.deviceId === machine)
  return own.length >= MIN_MACHINE_RUNS ? { runs: own, machine } : { runs: all, machine: null }
}

function priorOf(file: BaselineFile, machine: string | null): { prior: RunNoisePrior; sittings: number | null } {
  let byMachine = priors.get(file)
  if (!byMachine) {
    byMachine = new Map()
    priors.set(file, byMachine)
  }
  const key = machine ?? ''
  const known = byMachine.get(key)
  if (known) return known
  const runs = Object.values(file.entries)
    .map((entry) => (machine === null ? runsOf(entry) : runsOf(entry).filter((run) => run.deviceId === machine)))
    .filter((list) => list.length > 0)
  const device = { prior: deviceRunNoisePrior(runs), sittings: sittingsOf(runs.flat()) }
  byMachine.set(key, device)
  return device
}

function loadOnce(dir: string, deviceId: string): Promise<BaselineFile | null> {
  const file = baselinePath(dir, deviceId)
  let loaded = files.get(file)
  if (!loaded) {
    loaded = loadBaseline(dir, deviceId)
    files.set(file, loaded)
  }
  return loaded
}

/**
 * The baseline of benchmark `key` in the file of `deviceId` (a device's own, or a pool's). In a
 * pool's file, `machine` is the device that runs now: where the entry holds MIN_MACHINE_RUNS of its
 * runs, the comparison uses those (and the file's runs of that machine as the prior), else every run.
 */
export async function lookupBaseline(
  dir: string,
  deviceId: string,
  key: string,
  machine: string | null = null,
): Promise<BaselineLookup> {
  const file = baselinePath(dir, deviceId)
  let baseline: BaselineFile | null
  try {
    baseline = await loadOnce(dir, deviceId)
  } catch (error) {
    if (error instanceof BaselineError) {
      return { state: 'invalid', file: error.file, pointer: error.pointer, message: error.message }
    }
    const message = error instanceof Error ? error.message : String(error)
    return { state: 'invalid', file, pointer: '', message: `${file}: cannot be read: ${message}` }
  }
  const entry = baseline && Object.hasOwn(baseline.entries, key) ? baseline.entries[key] : undefined
  if (!baseline || !entry) return { state: 'missing', file }
  return {
    state: 'found',
    file,
    stats: entry.stats,
    ...machineRuns(entry, baseline, machine),
    recordedAt: entry.recordedAt,
    commit: entry.commit,
    flopPerSecond: entry.flopPerSecond,
    bytesPerSecond: entry.bytesPerSecond,
  }
}

function machineRuns(
  entry: BaselineEntry,
  file: BaselineFile,
  machine: string | null,
): Pick<Extract<BaselineLookup, { state: 'found' }>, 'runs' | 'devicePrior' | 'deviceSittings' | 'machine'> {
  const chosen = runsFor(entry, machine)
  const device = priorOf(file, chosen.machine)
  return {
    runs: chosen.runs,
    devicePrior: device.prior,
    deviceSittings: device.sittings,
    ...(chosen.machine === null ? {} : { machine: chosen.machine }),
  }
}
