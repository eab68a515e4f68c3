/**
 * Reads this device's baseline for a benchmark, in the worker. Read-only: writing is the main
 * process's job, after the run, and only under `-u` (see node/update-policy.ts).
 *
 * A baseline file that is unreadable or invalid is not an absent baseline: it is reported with
 * the file and the JSON pointer of the problem, and `toMatchBaseline()` fails on it, so a broken
 * file can never turn a regression into a pass.
 */
import {
  BaselineError,
  type BaselineFile,
  baselinePath,
  deviceRunNoisePrior,
  loadBaseline,
  type RunNoisePrior,
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

/** Files read by this worker; they do not change during a run (writes happen after it). */
const files = new Map<string, Promise<BaselineFile | null>>()
/** Each file's spread between runs, pooled over its entries, and the sittings its runs span. */
const priors = new WeakMap<BaselineFile, { prior: RunNoisePrior; sittings: number | null }>()

function priorOf(file: BaselineFile): { prior: RunNoisePrior; sittings: number | null } {
  const known = priors.get(file)
  if (known) return known
  const runs = Object.values(file.entries).map((entry) => runsOf(entry))
  const device = { prior: deviceRunNoisePrior(runs), sittings: sittingsOf(runs.flat()) }
  priors.set(file, device)
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

export async function lookupBaseline(dir: string, deviceId: string, key: string): Promise<BaselineLookup> {
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
    runs: runsOf(entry),
    recordedAt: entry.recordedAt,
    commit: entry.commit,
    flopPerSecond: entry.flopPerSecond,
    bytesPerSecond: entry.bytesPerSecond,
    devicePrior: priorOf(baseline).prior,
    deviceSittings: priorOf(baseline).sittings,
  }
}
