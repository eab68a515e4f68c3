/**
 * The update policy, like snapshots: decides, at the end of a run, which baseline entries are
 * written. Pure: it returns a plan; node/reporter.ts carries it out through core's store, whose
 * writes are atomic, locked and merging (other entries and other devices' files are untouched).
 *
 * Rules, in order, for each benchmark that was measured in this run:
 * 1. without `-u` (update mode 'none') nothing is written, whatever the verdict: a regressed run
 *    never rewrites its own baseline;
 * 2. an interrupted run writes nothing;
 * 3. an entry whose device file is invalid is not written: the store cannot merge into a file it
 *    cannot read, and overwriting it would discard the other entries; the file stays as it is.
 *    Except when the fault lies inside an entry that this run records again in that file (a
 *    zero median, an inverted interval): the store drops the faulty entry for the new one, so
 *    `-u` repairs it (a fault in any other entry still refuses the write);
 * 4. two benchmarks with the same name on the same device are both refused: one entry cannot
 *    hold two measurements, and picking one would hide the other;
 * 5. under `--update=new`, an entry that exists is kept;
 * 6. otherwise the entry is written to its own device's file (the file the worker read, so a
 *    benchmark run under `'all'` writes each backend's result to that backend's device), `commit` filled in.
 * Benchmarks that did not run (filtered out, skipped, failed before measuring) have no record,
 * so `-u` never touches their entries.
 */
import { dirname } from 'node:path'
import { type BaselineDevice, type BaselineEntry, entryKeyAt } from '@gpubench/core'
import type { UpdateMode } from '../options.ts'
import type { CollectedRecord, MeasuredRecord } from '../record.ts'
import type { WriteOutcome } from '../report/rows.ts'

export interface PlannedWrite {
  /** The device's baseline file, and the folder that holds it. */
  readonly file: string
  readonly dir: string
  readonly deviceId: string
  readonly device: BaselineDevice
  readonly entries: Record<string, BaselineEntry>
  /** Indices (into the collected records) of the benchmarks this write carries. */
  readonly sources: number[]
}

export interface WritePlan {
  /** One write per device file. */
  readonly writes: readonly PlannedWrite[]
  /** One outcome per collected record; planned writes read 'written' until the store says otherwise. */
  readonly outcomes: WriteOutcome[]
}

export type RunEnd = 'passed' | 'failed' | 'interrupted'

/**
 * Groups of measured benchmarks (indices into `collected`) that share one name on one device's
 * file: they would compare with, and write, the same entry. Only groups of two or more.
 */
export function sameNameGroups(collected: readonly CollectedRecord[]): number[][] {
  const bySlot = new Map<string, number[]>()
  collected.forEach(({ record }, index) => {
    if (record.status !== 'measured') return
    const slot = `${record.baseline.file}\u0000${record.key}`
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), index])
  })
  return [...bySlot.values()].filter((group) => group.length > 1)
}

/** `'first' in suites/a.bench.ts, 'second' in suites/b.bench.ts`. */
export function describeTests(collected: readonly CollectedRecord[], indices: readonly number[]): string {
  return indices.map((i) => `'${collected[i]!.test}' in ${collected[i]!.module}`).join(', ')
}

export function planBaselineWrites(
  collected: readonly CollectedRecord[],
  mode: UpdateMode,
  runEnd: RunEnd,
  commit: string | null,
): WritePlan {
  const outcomes: WriteOutcome[] = collected.map(() => ({ kind: 'not-requested' }))
  if (mode === 'none') return { writes: [], outcomes }

  const twinsOf = new Map<number, number[]>()
  for (const group of sameNameGroups(collected)) for (const index of group) twinsOf.set(index, group)

  // Keys each device file receives in this run: an invalid entry among them is replaced, not refused.
  const keysOf = new Map<string, Set<string>>()
  for (const { record } of collected) {
    if (record.status !== 'measured') continue
    const keys = keysOf.get(record.baseline.file) ?? new Set<string>()
    keys.add(record.key)
    keysOf.set(record.baseline.file, keys)
  }

  const writes = new Map<string, PlannedWrite>()
  collected.forEach(({ record }, index) => {
    if (record.status !== 'measured') return
    const refusal = refusalOf(record, runEnd, twinsOf.get(index) ?? [])
    if (refusal !== null) {
      outcomes[index] = { kind: 'refused', reason: refusal }
      return
    }
    if (mode === 'new' && record.baseline.state === 'found') {
      outcomes[index] = { kind: 'kept', reason: 'an entry exists and --update=new writes only missing ones' }
      return
    }
    const file = record.baseline.file
    let write = writes.get(file)
    if (!write) {
      // Null prototype: keys are benchmark names, and one named '__proto__' must be an entry like any other.
      const entries: Record<string, BaselineEntry> = Object.create(null)
      // A pool's file holds the pool's id; the records keep the real device.
      const device = record.pool === undefined ? record.device : { ...record.device, id: record.pool }
      write = { file, dir: dirname(file), deviceId: device.id, device, entries, sources: [] }
      writes.set(file, write)
    }
    write.entries[record.key] = { ...record.entry, commit }
    write.sources.push(index)
    outcomes[index] = { kind: 'written', file }
  })

  function refusalOf(record: MeasuredRecord, end: RunEnd, twins: readonly number[]): string | null {
    if (end === 'interrupted') return 'the run was interrupted'
    if (record.baseline.state === 'invalid' && !replacesFault(record)) {
      return `the device's baseline file is invalid (${record.baseline.message}); fix or delete it, then run -u again`
    }
    if (twins.length > 1) {
      const where = describeTests(collected, twins)
      return `${twins.length} benchmarks are named '${record.key}' on this device (${where}); give each a unique name`
    }
    return null
  }
  function replacesFault(record: MeasuredRecord): boolean {
    if (record.baseline.state !== 'invalid') return false
    const key = entryKeyAt(record.baseline.pointer)
    return key !== undefined && (keysOf.get(record.baseline.file)?.has(key) ?? false)
  }
  return { writes: [...writes.values()], outcomes }
}
