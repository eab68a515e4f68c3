/**
 * Atomic replacement of a file: the new content goes to a temporary file in the same directory
 * (same file system, so rename is atomic), is flushed to disk (fsync), then renamed over the
 * target; the directory is flushed too where the platform allows, so the rename survives a crash.
 * A process killed at any moment leaves the old file or the new one, never part of one; at worst
 * a temporary file `.<name>.<pid>-<hex>.tmp` stays behind, which `removeLeftoverTemporaries`
 * deletes (call it only while holding the file's lock, when no other writer can be mid-write).
 */
import { randomBytes } from 'node:crypto'
import { open, readdir, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function temporaryPattern(file: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(path.basename(file))}\\.\\d+-[0-9a-f]+\\.tmp$`)
}

/** Renames, retrying briefly where Windows refuses while another process has the target open. */
async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to)
      return
    } catch (error) {
      const code = errorCode(error)
      if (attempt >= 10 || (code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY')) throw error
      await sleep(10 * (attempt + 1))
    }
  }
}

/** Flushes a directory entry change to disk; not possible (and not needed) on Windows. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Windows cannot open or fsync a directory; rename there is durable through the journal.
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

/** Replaces `file` with `content` atomically (see the module comment). */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const dir = path.dirname(file)
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temporary, 'wx', 0o666)
  try {
    try {
      await handle.writeFile(content, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await renameWithRetry(temporary, file)
  } catch (error) {
    await unlink(temporary).catch(() => undefined)
    throw error
  }
  await syncDirectory(dir)
}

/** Deletes temporaries of `file` left by writers that were killed mid-write. Returns how many. */
export async function removeLeftoverTemporaries(file: string): Promise<number> {
  const pattern = temporaryPattern(file)
  let removed = 0
  for (const name of await readdir(path.dirname(file))) {
    if (!pattern.test(name)) continue
    try {
      await unlink(path.join(path.dirname(file), name))
      removed++
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
  }
  return removed
}
