/**
 * Training, when the inputs hold training records (a workload of kind `training`, or a benchmark
 * in the `training/` suite): time per step per device, batch and dtype (as the paper's Table 4),
 * beside Table 4's published rows and, when any record carries energy, Table 5's. Absent when no
 * input has a training record.
 */
import { dtypeOf, durationText, kindOf, NONE, timeOf } from '../figures.ts'
import type { Measurement, ReportInputs } from '../inputs.ts'
import { type Block, type Section, table } from '../model.ts'
import { type Published, publishedLabel } from '../published.ts'
import { bars } from '../specs.ts'

export function isTraining(m: Measurement): boolean {
  return kindOf(m) === 'training' || m.key.startsWith('training/')
}

function field(m: Measurement, name: string): string {
  const value = m.workload?.[name]
  return typeof value === 'number' || typeof value === 'string' ? String(value) : NONE
}

export function trainingSection(inputs: ReportInputs, published: Published): Section | null {
  const steps = inputs.measurements.filter(isTraining)
  if (steps.length === 0) return null
  const t4 = published.table4
  const t5 = published.table5
  const blocks: Block[] = [
    table(
      'training-measured',
      'Time per training step, measured',
      'One step: what the suite’s workload defines (forward, backward and optimizer update). Median over steps, or the mean under the paper’s fixed count.',
      ['device', 'backend', 'benchmark', 'batch', 'dtype', 'time per step', 'statistic', 'n'],
      steps.map((m) => [
        m.deviceId,
        m.backend,
        m.key,
        field(m, 'batch'),
        dtypeOf(m) ?? field(m, 'precision'),
        durationText(timeOf(m).ns),
        timeOf(m).statistic,
        String(m.stats.n),
      ]),
    ),
    bars({
      id: 'training-chart',
      title: 'Time per training step, measured',
      caption: 'Per device and benchmark, ms.',
      values: steps.map((m) => ({ benchmark: m.key, device: m.deviceId, ms: timeOf(m).ns / 1e6 })),
      category: { field: 'benchmark', title: 'benchmark' },
      value: { field: 'ms', title: 'time per step (ms)', format: '~r' },
      group: { field: 'device', title: 'device' },
    }),
    table(
      'training-published',
      t4.title,
      `${publishedLabel(published, t4.source)}. A pass of GPT2-large on PTB is not a step of this project’s model: compare the ranking of devices, not the seconds.`,
      ['device (published)', 'framework', 'batch', 's per pass'],
      t4.rows.map((r) => [r.device, r.framework, String(r.batch), String(r.secondsPerPass)]),
      true,
    ),
    table(
      'energy-published',
      t5.title,
      `${publishedLabel(published, t5.source)}.`,
      ['device (published)', 'J per iteration'],
      t5.rows.map((r) => [r.device, String(r.joulesPerIteration)]),
      true,
    ),
  ]
  return {
    id: 'training',
    title: 'Training (Table 4)',
    intro: [
      'Training records of the inputs, with the paper’s published time per pass and energy per iteration for reference.',
    ],
    blocks,
  }
}
