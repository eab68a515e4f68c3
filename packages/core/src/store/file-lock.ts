/**
 * An exclusive lock on a file, held across processes by a lock file beside it (`<file>.lock`),
 * so that concurrent read-merge-write cycles on one baseline never lose an entry.
 *
 * Taking the lock: the owner's record (pid, host, token, time) is written to a private temporary
 * file, which is then hard-linked to the lock path. link() fails if the lock path exists, like an
 * O_EXCL create, but the lock file appears complete: no reader ever sees an empty lock. Where the
 * file system has no hard links, an O_EXCL create followed by a write is used instead.
 *
 * A lock is stale when its owner is gone: the pid no longer exists on this host, or the lock is
 * older than `staleMs` (for a pid reused by another process, or a lock taken on another host).
 * Breaking a stale lock is itself serialized by a short-lived `<file>.lock.break` file, and the
 * breaker deletes the lock only if it still holds the record judged stale; so two processes that
 * both see the same stale lock cannot delete each other's fresh one. A break file left by a
 * process killed in that instant is removed once older than BREAK_STALE_MS.
 *
 * Release deletes the lock only if it still holds the owner's own token.
 */
import { randomBytes } from 'node:crypto'
import { link, open, readdir, readFile, stat, unlink } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface LockOptions {
  /** How long to wait for a held lock before giving up. Default 30 s. */
  timeoutMs?: number
  /** Age after which a lock whose owner cannot be checked is taken to be abandoned. Default 60 s. */
  staleMs?: number
}

export interface LockRecord {
  pid: number
  host: string
  token: string
  acquiredAtMs: number
}

export interface HeldLock {
  readonly lockPath: string
  readonly record: LockRecord
  release(): Promise<void>
}

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError'
  readonly lockPath: string
  readonly holder: LockRecord | null

  constructor(lockPath: string, waitedMs: number, holder: LockRecord | null) {
    const who =
      holder === null
        ? 'an unknown process'
        : `pid ${holder.pid} on ${holder.host} since ${new Date(holder.acquiredAtMs).toISOString()}`
    super(
      `timed out after ${waitedMs} ms waiting for the lock ${lockPath}, held by ${who}; if no gpubench process is writing baselines, delete the lock file`,
    )
    this.lockPath = lockPath
    this.holder = holder
  }
}

const BREAK_STALE_MS = 5_000

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

/** True if a process with this pid exists on this host (EPERM: it exists but belongs to someone else). */
export function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.token === 'string' &&
      typeof value.acquiredAtMs === 'number'
    ) {
      return { pid: value.pid, host: value.host, token: value.token, acquiredAtMs: value.acquiredAtMs }
    }
  } catch {
    // unreadable: judged by age alone
  }
  return null
}

interface Observed {
  record: LockRecord | null
  /** Identity of the lock file observed: a replaced lock has another inode or mtime. */
  identity: string
  ageMs: number
}

async function observe(lockPath: string): Promise<Observed | null> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)])
    return {
      record: parseRecord(text),
      identity: `${info.ino}:${info.mtimeMs}:${info.size}`,
      ageMs: Date.now() - info.mtimeMs,
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null
    throw error
  }
}

function isStale(observed: Observed, staleMs: number): boolean {
  const { record } = observed
  if (record !== null && record.host === os.hostname() && !processExists(record.pid)) return true
  return observed.ageMs > staleMs
}

function sameLock(a: Observed, b: Observed): boolean {
  if (a.record !== null && b.record !== null) return a.record.token === b.record.token
  return a.identity === b.identity
}

/**
 * Deletes the lock if it is still the one judged stale; the break file keeps two breakers apart.
 * Returns false when another process is breaking it (the caller waits a little and looks again).
 */
async function breakStaleLock(lockPath: string, judged: Observed): Promise<boolean> {
  const breakPath = `${lockPath}.break`
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(breakPath, 'wx')
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error
    try {
      const info = await stat(breakPath)
      if (Date.now() - info.mtimeMs > BREAK_STALE_MS) await unlink(breakPath)
    } catch (statError) {
      if (errorCode(statError) !== 'ENOENT') throw statError
    }
    return false
  }
  try {
    await handle.close()
    const now = await observe(lockPath)
    if (now !== null && sameLock(now, judged)) {
      await unlink(lockPath).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') throw error
      })
    }
  } finally {
    await unlink(breakPath).catch(() => undefined)
  }
  return true
}

/** Creates the lock file holding `record`; false if it already exists. */
async function tryCreate(lockPath: string, record: LockRecord): Promise<boolean> {
  const content = `${JSON.stringify(record)}\n`
  const dir = path.dirname(lockPath)
  const temporary = path.join(dir, `.${path.basename(lockPath)}.${record.pid}-${record.token}.tmp`)
  await writeNew(temporary, content)
  try {
    await link(temporary, lockPath)
    return true
  } catch (error) {
    const code = errorCode(error)
    // ENOENT: our record was swept as a leftover by a process on another host; just try again.
    if (code === 'EEXIST' || code === 'ENOENT') return false
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EXDEV') {
      return tryCreateExclusive(lockPath, content)
    }
    throw error
  } finally {
    await unlink(temporary).catch(() => undefined)
  }
}

async function writeNew(file: string, content: string): Promise<void> {
  const handle = await open(file, 'wx')
  try {
    await handle.writeFile(content)
  } finally {
    await handle.close()
  }
}

/** Fallback for file systems without hard links: O_EXCL create, then write. */
async function tryCreateExclusive(lockPath: string, content: string): Promise<boolean> {
  try {
    await writeNew(lockPath, content)
    return true
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false
    throw error
  }
}

/** Takes the lock on `file` (waiting while another live process holds it). Throws LockTimeoutError. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const staleMs = options.staleMs ?? 60_000
  const lockPath = `${file}.lock`
  const startedAt = Date.now()
  let delayMs = 1
  let lastSeen: LockRecord | null = null
  for (;;) {
    const record: LockRecord = {
      pid: process.pid,
      host: os.hostname(),
      token: randomBytes(8).toString('hex'),
      acquiredAtMs: Date.now(),
    }
    if (await tryCreate(lockPath, record)) {
      return {
        lockPath,
        record,
        release: async () => {
          const now = await observe(lockPath)
          if (now?.record?.token === record.token) await unlink(lockPath)
        },
      }
    }
    const observed = await observe(lockPath)
    if (observed === null) continue // released in between: try again at once
    lastSeen = observed.record
    if (isStale(observed, staleMs) && (await breakStaleLock(lockPath, observed))) continue
    const waitedMs = Date.now() - startedAt
    if (waitedMs >= timeoutMs) throw new LockTimeoutError(lockPath, waitedMs, lastSeen)
    // Jittered exponential back-off, capped at 50 ms: writers hold the lock for milliseconds.
    await sleep(Math.min(delayMs, timeoutMs - waitedMs) * (0.5 + Math.random()))
    delayMs = Math.min(delayMs * 2, 50)
  }
}

/** Runs `task` while holding the lock on `file`. */
export async function withFileLock<T>(file: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(file, options)
  try {
    return await task()
  } finally {
    await lock.release()
  }
}

/**
 * Deletes what processes killed while locking left behind: temporary lock records (killed between
 * writing one and linking it) whose pid is gone from this host or older than `staleMs`, and a
 * break file older than BREAK_STALE_MS. Call it while holding the lock.
 */
export async function removeLeftoverLockRecords(file: string, staleMs = 60_000): Promise<number> {
  const dir = path.dirname(file)
  const prefix = `.${path.basename(file)}.lock.`
  let removed = 0
  const breakPath = `${file}.lock.break`
  try {
    if (Date.now() - (await stat(breakPath)).mtimeMs > BREAK_STALE_MS) {
      await unlink(breakPath)
      removed++
    }
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
  }
  for (const name of await readdir(dir)) {
    const match = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null
    if (match === null) continue
    const full = path.join(dir, name)
    try {
      const info = await stat(full)
      if (processExists(Number(match[1])) && Date.now() - info.mtimeMs <= staleMs) continue
      await unlink(full)
      removed++
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
  }
  return removed
}
