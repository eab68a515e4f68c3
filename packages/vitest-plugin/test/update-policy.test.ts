import { describe, expect, test } from 'vitest'
import { planBaselineWrites, sameNameGroups } from '../src/node/update-policy.ts'
import { collected, foundBaseline, measuredRecord, skippedRecord } from './records.ts'

const COMMIT = '0123456789abcdef0123456789abcdef01234567'

describe('planBaselineWrites', () => {
  test('without -u nothing is written, even for a regression or a new benchmark', () => {
    const records = [
      collected(measuredRecord()),
      collected(
        measuredRecord({
          key: 'other',
          baseline: foundBaseline(),
          verdict: {
            kind: 'regressed',
            ratio: 1.3,
            ratioLow: 1.28,
            ratioHigh: 1.32,
            tolerance: 0.05,
            reason: 'slower',
          },
        }),
      ),
    ]
    const plan = planBaselineWrites(records, 'none', 'failed', COMMIT)
    expect(plan.writes).toEqual([])
    expect(plan.outcomes).toEqual([{ kind: 'not-requested' }, { kind: 'not-requested' }])
  })

  test('-u writes every measured benchmark to its own device file, with the commit', () => {
    const records = [
      collected(measuredRecord({ key: 'a' })),
      collected(measuredRecord({ key: 'b', baseline: foundBaseline() })),
      collected(
        measuredRecord({
          key: 'a',
          deviceId: 'cpu-other-8c',
          baseline: { state: 'missing', file: '/tmp/baselines/cpu-other-8c.json' },
        }),
      ),
      collected(skippedRecord()),
    ]
    const plan = planBaselineWrites(records, 'all', 'failed', COMMIT)
    expect(plan.writes.map((w) => [w.file, w.dir, w.deviceId, Object.keys(w.entries), w.sources])).toEqual([
      ['/tmp/baselines/host-test-cpu-2c.json', '/tmp/baselines', 'host-test-cpu-2c', ['a', 'b'], [0, 1]],
      ['/tmp/baselines/cpu-other-8c.json', '/tmp/baselines', 'cpu-other-8c', ['a'], [2]],
    ])
    expect(plan.writes[0]!.entries.a!.commit).toBe(COMMIT)
    expect(plan.outcomes[3]).toEqual({ kind: 'not-requested' })
    expect(plan.outcomes[0]).toEqual({ kind: 'written', file: '/tmp/baselines/host-test-cpu-2c.json' })
  })

  test('--update=new keeps existing entries and writes missing ones', () => {
    const records = [
      collected(measuredRecord({ key: 'old', baseline: foundBaseline() })),
      collected(measuredRecord({ key: 'new' })),
    ]
    const plan = planBaselineWrites(records, 'new', 'passed', null)
    expect(plan.outcomes[0]!.kind).toBe('kept')
    expect(plan.outcomes[1]!.kind).toBe('written')
    expect(Object.keys(plan.writes[0]!.entries)).toEqual(['new'])
  })

  const invalidAt = (pointer: string) =>
    ({
      state: 'invalid',
      file: '/tmp/baselines/host-test-cpu-2c.json',
      pointer,
      message: `/tmp/baselines/host-test-cpu-2c.json at ${pointer}: must be >= 0.000001, got 0`,
    }) as const

  test('an invalid baseline file is never written over where the fault lies outside what this run records', () => {
    for (const pointer of ['/device/name', '/entries/not-run/stats/medianNs', '']) {
      const records = [
        collected(measuredRecord({ baseline: invalidAt(pointer) })),
        collected(measuredRecord({ key: 'b', baseline: invalidAt(pointer) })),
      ]
      const plan = planBaselineWrites(records, 'all', 'failed', COMMIT)
      expect(plan.writes, pointer).toEqual([])
      expect(plan.outcomes[0], pointer).toMatchObject({ kind: 'refused' })
      expect((plan.outcomes[0] as { reason: string }).reason).toContain(`at ${pointer}`)
      expect((plan.outcomes[0] as { reason: string }).reason).toContain('fix or delete it')
    }
  })

  test('-u repairs a file whose fault lies in an entry this run records again (the store replaces it)', () => {
    // Both benchmarks read the same invalid file; the fault is in 'busy-loop', which runs again.
    const records = [
      collected(measuredRecord({ baseline: invalidAt('/entries/busy-loop/stats/medianNs') })),
      collected(measuredRecord({ key: 'b', baseline: invalidAt('/entries/busy-loop/stats/medianNs') })),
    ]
    const plan = planBaselineWrites(records, 'all', 'passed', COMMIT)
    expect(plan.writes.map((w) => Object.keys(w.entries))).toEqual([['busy-loop', 'b']])
    expect(plan.outcomes.map((o) => o.kind)).toEqual(['written', 'written'])
    // An escaped key in the pointer is the same entry.
    const slashed = measuredRecord({ key: 'a/b~c', baseline: invalidAt('/entries/a~1b~0c/runs/0/ciLowNs') })
    expect(planBaselineWrites([collected(slashed)], 'all', 'passed', COMMIT).outcomes[0]!.kind).toBe('written')
    // Without -u nothing is written, repair or not.
    expect(planBaselineWrites(records, 'none', 'passed', COMMIT).writes).toEqual([])
  })

  test("a benchmark named '__proto__' is an entry like any other, and does not block the others", () => {
    const records = [
      collected(measuredRecord({ key: '__proto__' })),
      collected(measuredRecord({ key: 'constructor' })),
      collected(measuredRecord({ key: 'after' })),
    ]
    const plan = planBaselineWrites(records, 'all', 'passed', COMMIT)
    expect(plan.outcomes.map((o) => o.kind)).toEqual(['written', 'written', 'written'])
    const entries = plan.writes[0]!.entries
    expect(Object.keys(entries)).toEqual(['__proto__', 'constructor', 'after'])
    expect(Object.hasOwn(entries, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(entries)).toBe(null)
    expect(Object.getOwnPropertyDescriptor(entries, '__proto__')?.value).toMatchObject({ commit: COMMIT })
  })

  test('two benchmarks with one name on one device are both refused, naming both tests', () => {
    const records = [
      collected(measuredRecord({ key: 'dup' }), 'first', 'suites/a.bench.ts'),
      collected(measuredRecord({ key: 'dup' }), 'second', 'suites/b.bench.ts'),
      collected(measuredRecord({ key: 'unique' })),
    ]
    const plan = planBaselineWrites(records, 'all', 'passed', COMMIT)
    expect(plan.outcomes.map((o) => o.kind)).toEqual(['refused', 'refused', 'written'])
    expect((plan.outcomes[0] as { reason: string }).reason).toContain(
      "'first' in suites/a.bench.ts, 'second' in suites/b.bench.ts",
    )
    expect(Object.keys(plan.writes[0]!.entries)).toEqual(['unique'])
  })

  test('the same name on two devices (backend: all) is not a duplicate', () => {
    const records = [
      collected(measuredRecord({ key: 'k' })),
      collected(
        measuredRecord({
          key: 'k',
          deviceId: 'cpu-x-2c',
          baseline: { state: 'missing', file: '/tmp/baselines/cpu-x-2c.json' },
        }),
      ),
    ]
    expect(planBaselineWrites(records, 'all', 'passed', COMMIT).outcomes.map((o) => o.kind)).toEqual([
      'written',
      'written',
    ])
  })

  test('an interrupted run writes nothing', () => {
    const plan = planBaselineWrites([collected(measuredRecord())], 'all', 'interrupted', COMMIT)
    expect(plan.writes).toEqual([])
    expect(plan.outcomes[0]).toEqual({ kind: 'refused', reason: 'the run was interrupted' })
  })
})

test('sameNameGroups finds benchmarks sharing a name on one device file, whatever the update mode', () => {
  const records = [
    collected(measuredRecord({ key: 'dup' })),
    collected(skippedRecord()),
    collected(measuredRecord({ key: 'dup' })),
    collected(
      measuredRecord({
        key: 'dup',
        deviceId: 'cpu-x-2c',
        baseline: { state: 'missing', file: '/tmp/baselines/cpu-x-2c.json' },
      }),
    ),
  ]
  expect(sameNameGroups(records)).toEqual([[0, 2]])
})
