/**
 * One line per result, for the test's annotation: what ran where, how fast, and how it compares.
 */
import type { MeasuredRecord } from '../record.ts'
import { ciText, coldText, medianText, NONE, ratioText, throughputText } from './figures.ts'

export function summaryLine(record: MeasuredRecord): string {
  const throughput = throughputText(record)
  const figures = [
    `median ${medianText(record)} [CI ${ciText(record)}]`,
    ...(throughput === NONE ? [] : [throughput]),
    `cold ${coldText(record)}`,
    `n = ${record.entry.stats.n}`,
  ].join(', ')
  const baseline =
    record.baseline.state === 'missing'
      ? 'no baseline on this device'
      : record.baseline.state === 'invalid'
        ? `baseline file invalid: ${record.baseline.message}`
        : record.verdict
          ? `vs baseline: ${record.verdict.kind}, ${ratioText(record.verdict)}`
          : 'not compared'
  return `${record.key} [${record.backend} on ${record.device.id}]: ${figures}; ${baseline}`
}
