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

  test('an invalid baseline file is never written over', () => {
    const record = measuredRecord({
      baseline: {
        state: 'invalid',
        file: '/tmp/baselines/host-test-cpu-2c.json',
        pointer: '/entries/busy-loop/stats/medianNs',
        message: '/tmp/baselines/host-test-cpu-2c.json at /entries/busy-loop/stats/medianNs: must be number',
      },
    })
    const plan = planBaselineWrites([collected(record)], 'all', 'failed', COMMIT)
    expect(plan.writes).toEqual([])
    expect(plan.outcomes[0]).toMatchObject({ kind: 'refused' })
    expect((plan.outcomes[0] as { reason: string }).reason).toContain('/entries/busy-loop/stats/medianNs')
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
