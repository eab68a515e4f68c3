import { describe, expect, test } from 'vitest'
import { deltaText } from '../src/report/figures.ts'
import { jsonReport } from '../src/report/json.ts'
import { formatMarkdown } from '../src/report/markdown.ts'
import { collapseUnavailable, rowOf, unavailableText } from '../src/report/rows.ts'
import { summaryLine } from '../src/report/summary-line.ts'
import { formatTable } from '../src/report/table.ts'
import { collected, foundBaseline, measuredRecord, skippedRecord } from './records.ts'

const regressed = measuredRecord({
  baseline: foundBaseline(),
  verdict: { kind: 'regressed', ratio: 1.302, ratioLow: 1.28, ratioHigh: 1.32, tolerance: 0.05, reason: '30% slower' },
})

describe('rows', () => {
  test('a backend skipped everywhere for one reason is listed once beneath the table', () => {
    const records = [
      collected(measuredRecord()),
      collected(skippedRecord('cuda', 'unavailable: no CUDA driver')),
      collected(skippedRecord('cuda', 'unavailable: no CUDA driver')),
      collected(skippedRecord('webgpu', 'unavailable: no adapter')),
      collected(skippedRecord('webgpu', 'f16 needs shader-f16')),
      collected(skippedRecord('metal', 'unavailable: macOS only')),
      collected(measuredRecord()),
    ]
    const rows = records.map((c) => rowOf(c, { kind: 'not-requested' }))
    const table = collapseUnavailable(records, rows)
    // cuda and metal collapse; webgpu (two reasons) and host (measured) keep their rows.
    expect(table.rows.map((r) => r.backend)).toEqual(['host', 'webgpu', 'webgpu', 'host'])
    expect(table.unavailable).toEqual([
      { backend: 'cuda', reason: 'unavailable: no CUDA driver', benchmarks: 2 },
      { backend: 'metal', reason: 'unavailable: macOS only', benchmarks: 1 },
    ])
    expect(unavailableText(table.unavailable)).toBe(
      ' cuda: skipped in 2 benchmarks: unavailable: no CUDA driver\n metal: skipped in 1 benchmark: unavailable: macOS only',
    )
  })

  test('a measured row has the figures with units and the verdict', () => {
    const row = rowOf(collected(regressed), { kind: 'not-requested' })
    expect(row).toMatchObject({
      benchmark: 'busy-loop',
      backend: 'host',
      device: 'host-test-cpu-2c',
      median: '1 ms',
      cold: '3 ms',
      throughput: '2.4 GFLOP/s',
      delta: '+30.2%',
      verdict: 'regressed',
    })
    expect(row.ci).toMatch(/^[\d.]+ (µs|ms) – [\d.]+ ms \(95%\)$/)
  })

  test('write outcomes show in the verdict', () => {
    expect(rowOf(collected(measuredRecord()), { kind: 'written', file: 'f' }).verdict).toBe('new, recorded')
    expect(rowOf(collected(regressed), { kind: 'written', file: 'f' }).verdict).toBe('regressed, baseline updated')
    expect(rowOf(collected(measuredRecord()), { kind: 'not-requested' }).verdict).toBe('new (no baseline)')
    expect(rowOf(collected(regressed), { kind: 'refused', reason: 'the run was interrupted' }).verdict).toBe(
      'regressed; not written',
    )
  })

  test('a skipped backend is a row with its reason, no figures', () => {
    const row = rowOf(collected(skippedRecord('cuda', 'unavailable: no CUDA driver')), { kind: 'not-requested' })
    expect(row.verdict).toBe('skipped: unavailable: no CUDA driver')
    expect(row.median).toBe('—')
  })
})

test('deltaText signs and rounds the relative change', () => {
  expect(deltaText(null)).toBe('—')
  expect(deltaText({ kind: 'faster', ratio: 0.9, ratioLow: 0.89, ratioHigh: 0.91, tolerance: 0.05, reason: '' })).toBe(
    '-10.0%',
  )
  expect(deltaText({ kind: 'same', ratio: 1.0001, ratioLow: 0.99, ratioHigh: 1.01, tolerance: 0.05, reason: '' })).toBe(
    '0.0%',
  )
  // Against a baseline of several runs, the count is shown beside the change.
  const v = { kind: 'inconclusive', ratio: 1.2, ratioLow: 0.9, ratioHigh: 1.6, tolerance: 0.05, reason: '' } as const
  expect(deltaText({ ...v, baselineRuns: 5, betweenRunSd: 0.1 })).toBe('+20.0% (5 runs)')
  expect(deltaText({ ...v, baselineRuns: 1 })).toBe('+20.0%')
})

test('the console table aligns columns under a header', () => {
  const rows = [
    rowOf(collected(regressed), { kind: 'not-requested' }),
    rowOf(collected(skippedRecord()), { kind: 'not-requested' }),
  ]
  const lines = formatTable(rows).split('\n')
  expect(lines).toHaveLength(4)
  expect(lines[0]).toMatch(
    /^benchmark\s+backend\s+device\s+median\s+CI\s+cold\s+throughput\s+Δ vs baseline\s+detects\s+verdict$/,
  )
  expect(lines[1]).toMatch(/^-+( +-+)+$/)
  // Every cell of a column starts where its header does (the verdict column, the last one).
  const at = (line: string, text: string) => [...line].join('').indexOf(text)
  expect(at(lines[2]!, 'regressed')).toBe(at(lines[0]!, 'verdict'))
  expect(at(lines[3]!, 'skipped:')).toBe(at(lines[0]!, 'verdict'))
  expect(at(lines[2]!, 'host-test-cpu-2c')).toBe(at(lines[0]!, 'device'))
  expect(lines[2]).toContain('+30.2%')
  expect(lines[3]).toContain('skipped: no CUDA driver')
})

test('markdown escapes pipes and carries the totals', () => {
  const record = measuredRecord({ key: 'a|b' })
  const text = formatMarkdown([rowOf(collected(record), { kind: 'not-requested' })], {
    measured: 1,
    skipped: 0,
    regressed: 0,
    written: 0,
  })
  expect(text).toContain('### gpubench')
  expect(text).toContain('1 measured, 0 skipped, 0 regressed, 0 baseline entries written.')
  expect(text).toContain('| a\\|b | host |')
  expect(text.split('\n').filter((l) => l.startsWith('|'))).toHaveLength(3)
})

test('the JSON report keeps the records, outcomes and run facts', () => {
  const report = jsonReport([{ collected: collected(regressed), outcome: { kind: 'not-requested' } }], {
    createdAt: '2026-11-22T04:00:00.000Z',
    update: 'none',
    commit: null,
    errors: ['e'],
  })
  const parsed = JSON.parse(JSON.stringify(report))
  expect(parsed).toMatchObject({ format: 'gpubench-report', version: 1, update: 'none', errors: ['e'] })
  expect(parsed.benchmarks[0].record.verdict.kind).toBe('regressed')
  expect(parsed.benchmarks[0].record.entry.stats.medianNs).toBeCloseTo(1e6)
  expect(parsed.benchmarks[0].module).toBe('suites/a.bench.ts')
})

test('the summary line names benchmark, backend, device, figures and comparison', () => {
  const line = summaryLine(regressed)
  expect(line).toMatch(
    /^busy-loop \[host on host-test-cpu-2c\]: median 1 ms \[CI .* \(95%\)\], 2.4 GFLOP\/s, cold 3 ms, n = 50; vs baseline: regressed, 1.302x \[1.280x – 1.320x\]$/,
  )
  expect(summaryLine(measuredRecord())).toContain('no baseline on this device')
})
