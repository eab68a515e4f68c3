/**
 * The baseline store: one JSON file per device, `<dir>/<device-id>.json`, described by
 * schema/baseline.schema.json. Runs in Vitest's main process (the `-u` update) and wherever a
 * baseline is read.
 *
 * Reading: strict JSON (line and column of a syntax error, duplicate keys refused), then the
 * schema (file and JSON pointer of the first bad value), then the file name: a file whose
 * `device.id` is not its own name is refused.
 *
 * Keys such as `__proto__`, `constructor` or `prototype` are ordinary entry keys: every object
 * read or written is built with a null prototype, so such a key round-trips as an entry and never
 * reaches Object.prototype. Consequence for callers: objects returned by loadBaseline have no
 * prototype; use `Object.hasOwn(entries, key)` or `key in entries`, not `entries.hasOwnProperty`.
 *
 * Reading takes only a regular file (a FIFO or directory in its place is refused at once, not
 * waited on) and strict UTF-8.
 *
 * Writing (updateBaseline): under a lock file, read the current file, set the given entries and
 * keep every other one, validate the whole, and replace the file atomically (through a symbolic
 * link to its target; a read-only file is refused, not replaced); the output is
 * canonical (see canonical-json.ts), and when it equals the bytes on disk nothing is written at
 * all, not even the lock: the file's mtime stays as it was.
 */
import { constants as fsConstants, type Stats } from 'node:fs'
import { access, type FileHandle, lstat, mkdir, open, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { isSafeDeviceId, MAX_DEVICE_ID_LENGTH } from '../device.ts'
import { removeLeftoverTemporaries, writeFileAtomic } from './atomic-write.ts'
import type { BaselineDevice, BaselineEntry, BaselineFile, RunSummary, SampleStats } from './baseline.generated.ts'
import { canonicalJson, toJsonData } from './canonical-json.ts'
import { BaselineError } from './errors.ts'
import { acquireLock, LockTimeoutError, removeLeftoverLockRecords } from './file-lock.ts'
import { childPointer, segmentBelow } from './json-pointer.ts'
import { JsonSyntaxError, type JsonValue, parseJson } from './parse-json.ts'
import { BASELINE_SCHEMA_VERSION, baselineSchema, validateBaseline } from './schema.ts'

/** Fields of a BaselineDevice, in file order; other fields of the device given (e.g. a DeviceDescription's `peak`) are not stored. */
const DEVICE_FIELDS = ['id', 'backend', 'name', 'vendor', 'architecture', 'driver', 'software', 'details'] as const

export interface UpdateOptions {
  /** How long to wait for another process's lock on the same file. Default 30 s. */
  lockTimeoutMs?: number
  /** Age after which a lock whose owner cannot be checked is broken. Default 60 s. */
  staleLockMs?: number
  /**
   * False (default): each given entry replaces the stored one, its `runs` as given. True: each
   * given entry's runs are added to those of the stored entry of the same key (the stored entry
   * counts as one run if it has no list), the latest MAX_RECORDED_RUNS kept. Only an entry for the
   * same target, workload, backend and timing can take more runs: otherwise the update is refused.
   */
  appendRuns?: boolean
}

/** Runs an entry keeps at most; older ones are dropped first. */
export const MAX_RECORDED_RUNS = 20

/** One run's summary as an entry's `runs` holds it, from that run's statistics. */
export function runSummaryOf(entry: Pick<BaselineEntry, 'stats' | 'recordedAt'>): RunSummary {
  const { medianNs, ciLowNs, ciHighNs, ciLevel, n } = entry.stats
  return { medianNs, ciLowNs, ciHighNs, ciLevel, n, recordedAt: entry.recordedAt }
}

/** What one measurement gives its baseline entry. */
export interface EntryFacts {
  /** The benchmark's target as a label (a workload's description, a function's name). */
  readonly target: string
  /** The workload itself, where the target is one (copied). */
  readonly workload?: object | undefined
  readonly backend: string
  readonly timing: string
  readonly stats: SampleStats
  readonly coldNs: number | null
  readonly flopPerSecond: number | null
  readonly bytesPerSecond: number | null
  readonly gpubenchVersion: string
  /** The device that ran it (in a pool's file, the machine of the pool). */
  readonly deviceId: string
  /** Default: now. */
  readonly recordedAt?: string
}

/**
 * A measurement's baseline entry, its own statistics as its one run (with the device that ran
 * it): the one place, beside the schema, that knows an entry's shape. `commit` is null until the
 * main process, which knows the tree, writes the entry (`{ ...entry, commit }`); the store puts
 * the stored runs in front of this one when a run is added (UpdateOptions.appendRuns).
 */
export function baselineEntryOf(facts: EntryFacts): BaselineEntry {
  const entry: BaselineEntry = {
    target: facts.target,
    ...(facts.workload === undefined ? {} : { workload: { ...facts.workload } }),
    backend: facts.backend,
    timing: facts.timing,
    stats: facts.stats,
    coldNs: facts.coldNs,
    flopPerSecond: facts.flopPerSecond,
    bytesPerSecond: facts.bytesPerSecond,
    recordedAt: facts.recordedAt ?? new Date().toISOString(),
    commit: null,
    gpubenchVersion: facts.gpubenchVersion,
  }
  entry.runs = [{ ...runSummaryOf(entry), deviceId: facts.deviceId }]
  return entry
}

/** The runs an entry stands for: its list, or its own statistics as a single run. */
export function runsOf(entry: Pick<BaselineEntry, 'stats' | 'recordedAt' | 'runs'>): RunSummary[] {
  return entry.runs !== undefined && entry.runs.length > 0 ? [...entry.runs] : [runSummaryOf(entry)]
}

/** What must agree for two entries' runs to be runs of one benchmark. */
function identityOf(entry: BaselineEntry): string {
  return JSON.stringify([entry.target, entry.backend, entry.timing, entry.workload ?? null], (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  )
}

/** The given entries with the stored entries' runs in front of theirs (see UpdateOptions.appendRuns). */
function withStoredRuns(
  current: BaselineFile | null,
  entries: Record<string, BaselineEntry>,
  file: string,
): Record<string, BaselineEntry> {
  const out: Record<string, BaselineEntry> = Object.create(null)
  for (const key of Object.keys(entries)) {
    const entry = entries[key]!
    const stored = current !== null && Object.hasOwn(current.entries, key) ? current.entries[key] : undefined
    if (stored === undefined) {
      out[key] = { ...entry, runs: runsOf(entry) as [RunSummary, ...RunSummary[]] }
      continue
    }
    if (identityOf(stored) !== identityOf(entry)) {
      throw new BaselineError(
        file,
        childPointer('/entries', key),
        `refusing to add a run: the stored entry measured ${JSON.stringify(stored.target)} (${stored.backend}, ${stored.timing}), this run ${JSON.stringify(entry.target)} (${entry.backend}, ${entry.timing}); record it afresh with -u`,
      )
    }
    const runs = [...runsOf(stored), ...runsOf(entry)].slice(-MAX_RECORDED_RUNS)
    out[key] = { ...entry, runs: runs as [RunSummary, ...RunSummary[]] }
  }
  return out
}

/** The key of the entry that a BaselineError's pointer lies in (`/entries/a~1b/stats/medianNs` -> `a/b`); undefined outside the entries. */
export function entryKeyAt(pointer: string): string | undefined {
  return segmentBelow(pointer, '/entries')
}

/** The path of a device's baseline file. Throws BaselineError on an id that is not safe as a file name. */
export function baselinePath(dir: string, deviceId: string): string {
  if (typeof dir !== 'string' || dir === '') {
    throw new BaselineError(String(dir), '', 'the baseline directory must be a non-empty path')
  }
  if (!isSafeDeviceId(deviceId)) {
    throw new BaselineError(
      dir,
      '/device/id',
      `unsafe device id ${JSON.stringify(deviceId)}: a baseline file name needs lowercase letters, digits and single dashes, at most ${MAX_DEVICE_ID_LENGTH} characters, not a reserved Windows name (make ids with deviceId())`,
    )
  }
  return path.join(dir, `${deviceId}.json`)
}

/** What a non-regular file is, for an error message. */
function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'directory'
  if (info.isFIFO()) return 'named pipe (FIFO)'
  if (info.isSocket()) return 'socket'
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'device'
  return 'special file'
}

/**
 * The file's bytes as text, or null when it does not exist. Only a regular file is read: it is
 * opened without blocking (a named pipe in its place would otherwise wait for a writer forever)
 * and refused unless fstat says it is a regular file. The bytes must be UTF-8: a file that is not
 * is refused with the byte offset and line of the first bad sequence, never decoded with
 * replacement characters (which `-u` would then write back).
 */
async function readIfExists(file: string): Promise<string | null> {
  let handle: FileHandle
  try {
    handle = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new BaselineError(file, '', `cannot read: ${(error as Error).message}`, { cause: error })
  }
  let bytes: Buffer
  try {
    const info = await handle.stat()
    if (!info.isFile()) {
      throw new BaselineError(
        file,
        '',
        `not a regular file but a ${kindOf(info)}; a baseline must be a JSON file: remove it, or point the baselines option elsewhere`,
      )
    }
    bytes = await handle.readFile()
  } catch (error) {
    if (error instanceof BaselineError) throw error
    throw new BaselineError(file, '', `cannot read: ${(error as Error).message}`, { cause: error })
  } finally {
    await handle.close()
  }
  return decodeUtf8(bytes, file)
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Strict UTF-8 decoding (a byte-order mark is kept, for the JSON parser to refuse). Time: O(length). */
function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return STRICT_UTF8.decode(bytes)
  } catch {
    const offset = firstInvalidUtf8(bytes)
    let line = 1
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++
    const shown = [...bytes.subarray(offset, offset + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    throw new BaselineError(
      file,
      '',
      `not valid UTF-8: bad byte sequence at byte ${offset} (line ${line}): ${shown}; save the file as UTF-8, or delete it and record it again with -u`,
    )
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF); the length when all is valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x80) {
      i++
      continue
    }
    // Continuation bytes needed, and the allowed range of the second byte.
    let need: number
    let low = 0x80
    let high = 0xbf
    if (b >= 0xc2 && b <= 0xdf) need = 1
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      if (b === 0xe0) low = 0xa0
      if (b === 0xed) high = 0x9f
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      if (b === 0xf0) low = 0x90
      if (b === 0xf4) high = 0x8f
    } else return i
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i
    }
    i += need + 1
  }
  return bytes.length
}

/**
 * The file `-u` writes: `file` itself, or, when `file` is a symbolic link, the file it points to
 * (the link stays a link: a repository may keep its baselines elsewhere and link them in).
 * Refused: a link to a missing file or to something other than a regular file, and a file that is
 * read-only (someone made it so; replacing it silently would undo that).
 */
async function writeTarget(file: string): Promise<string> {
  let link: Stats
  try {
    link = await lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return file
    throw new BaselineError(file, '', `cannot write: ${(error as Error).message}`, { cause: error })
  }
  let target = file
  if (link.isSymbolicLink()) {
    try {
      target = await realpath(file)
    } catch (error) {
      throw new BaselineError(
        file,
        '',
        `cannot write: it is a symbolic link to a file that cannot be reached (${(error as Error).message}); fix or remove the link`,
        { cause: error },
      )
    }
  }
  const info = target === file ? link : await stat(target)
  if (!info.isFile()) {
    throw new BaselineError(file, '', `cannot write: not a regular file but a ${kindOf(info)}`)
  }
  const via = target === file ? '' : ` (the target of the link, ${target})`
  let writable = (info.mode & 0o222) !== 0
  if (writable) {
    writable = await access(target, fsConstants.W_OK).then(
      () => true,
      () => false,
    )
  }
  if (!writable) {
    throw new BaselineError(
      file,
      '',
      `refusing to replace a read-only file${via}: make it writable (e.g. chmod u+w) to update its baseline, or leave -u off`,
    )
  }
  return target
}

/**
 * Parses, validates and checks the name of a baseline file's text. `replaceable`: keys of entries
 * that the caller is about to replace; an invalid stored entry among them is dropped rather than
 * refused (so `-u` can repair a file whose only fault lies in an entry it records again), while
 * a fault anywhere else still refuses the file. Time: O(length x (replaceable + 1)).
 */
function parseBaselineText(
  text: string,
  file: string,
  deviceId: string,
  replaceable: ReadonlySet<string> = new Set(),
): BaselineFile {
  let value: JsonValue
  try {
    value = parseJson(text)
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new BaselineError(file, error.pointer, `malformed JSON: ${error.message}`, { cause: error })
    }
    throw error
  }
  let baseline: BaselineFile | undefined
  for (let dropped = 0; baseline === undefined; dropped++) {
    try {
      baseline = validateBaseline(value, file)
    } catch (error) {
      const key = error instanceof BaselineError ? entryKeyAt(error.pointer) : undefined
      if (key === undefined || !replaceable.has(key) || dropped >= replaceable.size) throw error
      // The pointer lies below /entries, so the schema found an object there.
      const entries = (value as { entries: Record<string, unknown> }).entries
      if (!Object.hasOwn(entries, key)) throw error
      delete entries[key]
    }
  }
  if (baseline.device.id !== deviceId) {
    throw new BaselineError(
      file,
      '/device/id',
      `the file holds device ${JSON.stringify(baseline.device.id)} but is named for device ${JSON.stringify(deviceId)}; a baseline file must be named <device.id>.json`,
    )
  }
  return baseline
}

/**
 * Reads a device's baseline. Null when there is no file; BaselineError when the file is
 * malformed, invalid, of an unsupported schemaVersion, or named for another device.
 */
export async function loadBaseline(dir: string, deviceId: string): Promise<BaselineFile | null> {
  const file = baselinePath(dir, deviceId)
  const text = await readIfExists(file)
  return text === null ? null : parseBaselineText(text, file, deviceId)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** The stored part of `device`, as JSON data. */
function deviceData(device: BaselineDevice, file: string): JsonValue {
  const picked: Record<string, unknown> = Object.create(null)
  for (const field of DEVICE_FIELDS) picked[field] = device[field]
  return toJsonData(picked, file, '/device')
}

/** Builds the merged document: the current file's entries, then the given ones over them. */
function merge(current: BaselineFile | null, device: JsonValue, entries: JsonValue): JsonValue {
  const merged: { [key: string]: JsonValue } = Object.create(null)
  if (current !== null) {
    for (const key of Object.keys(current.entries)) merged[key] = current.entries[key] as unknown as JsonValue
  }
  for (const key of Object.keys(entries as object)) merged[key] = (entries as { [key: string]: JsonValue })[key]!
  const document: { [key: string]: JsonValue } = Object.create(null)
  document.schemaVersion = BASELINE_SCHEMA_VERSION
  document.device = device
  document.entries = merged
  return document
}

interface Planned {
  baseline: BaselineFile
  text: string
  unchanged: boolean
}

/** Reads the current file and computes what it should become. */
async function plan(
  file: string,
  deviceId: string,
  device: JsonValue,
  given: { entries: Record<string, BaselineEntry>; json: JsonValue; appendRuns: boolean },
): Promise<Planned> {
  const currentText = await readIfExists(file)
  // An invalid stored entry that this update replaces is no reason to refuse it; with appendRuns its runs would be kept, so not then.
  const replaceable = new Set(given.appendRuns ? [] : Object.keys(given.entries))
  const current = currentText === null ? null : parseBaselineText(currentText, file, deviceId, replaceable)
  // With appendRuns the entries depend on the file as it is now (first read, then under the lock).
  const entries = given.appendRuns
    ? toJsonData(withStoredRuns(current, given.entries, file), file, '/entries')
    : given.json
  const document = merge(current, device, entries)
  const baseline = validateBaseline(document, file, 'refusing to write: ')
  const text = canonicalJson(document, baselineSchema())
  return { baseline, text, unchanged: text === currentText }
}

/**
 * Sets `entries` in the baseline of `device` (`baselinePath(dir, device.id)`, and no other file),
 * keeping the file's other entries. Atomic, locked against concurrent writers, canonical output;
 * no write at all when the result equals the file. Returns the baseline as it now stands.
 *
 * Refused with BaselineError (nothing written): an unsafe device id; an existing file that is
 * invalid (except where the only faults lie in entries given here, which replace them, unless
 * appendRuns is set), of an unsupported version or named for another device; entries or device that do not
 * match the schema (the pointer names the field, e.g. /entries/bmm-f32/stats/medianNs).
 */
export async function updateBaseline(
  dir: string,
  device: BaselineDevice,
  entries: Record<string, BaselineEntry>,
  options: UpdateOptions = {},
): Promise<BaselineFile> {
  if (!isPlainObject(device)) {
    throw new BaselineError(String(dir), '/device', 'updateBaseline: device must be an object')
  }
  const file = baselinePath(dir, device.id)
  if (!isPlainObject(entries)) {
    throw new BaselineError(file, '/entries', 'updateBaseline: entries must be a plain object of entries by key')
  }
  for (const key of Object.keys(entries)) {
    if (entries[key] === undefined) {
      throw new BaselineError(file, childPointer('/entries', key), 'refusing to write: the entry is undefined')
    }
  }
  const deviceJson = deviceData(device, file)
  // Refuses non-JSON data before any file is read.
  const given = { entries, json: toJsonData(entries, file, '/entries'), appendRuns: options.appendRuns === true }

  // Without the lock first: an update that changes nothing must not touch the directory.
  const first = await plan(file, device.id, deviceJson, given)
  if (first.unchanged) return first.baseline

  await mkdir(dir, { recursive: true })
  let lock: Awaited<ReturnType<typeof acquireLock>>
  try {
    lock = await acquireLock(file, {
      ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
      ...(options.staleLockMs === undefined ? {} : { staleMs: options.staleLockMs }),
    })
  } catch (error) {
    if (error instanceof LockTimeoutError) throw new BaselineError(file, '', error.message, { cause: error })
    throw error
  }
  try {
    // Under the lock, the file may have changed since the first read: plan again from it.
    const locked = await plan(file, device.id, deviceJson, given)
    await removeLeftoverTemporaries(file)
    await removeLeftoverLockRecords(file, options.staleLockMs)
    if (!locked.unchanged) {
      const target = await writeTarget(file)
      if (target !== file) await removeLeftoverTemporaries(target)
      await writeFileAtomic(target, locked.text)
    }
    return locked.baseline
  } finally {
    await lock.release()
  }
}
