/**
 * Kernel launch latency in the form of the paper's Table 6 (cold / follow-up launch, ms), with what
 * a launch is on each backend: the figures of different backends time different things, and a row
 * says which. The backend's own note on its launch (JSON reports carry it) is preferred to the
 * generic definition below. The paper's rows follow as published reference rows, in their own
 * table and chart.
 */
import { msText, timeOf } from '../figures.ts'
import type { Measurement, ReportInputs } from '../inputs.ts'
import { type Block, type Section, table } from '../model.ts'
import { type Published, publishedLabel } from '../published.ts'
import { bars } from '../specs.ts'

/** What one follow-up launch and the cold launch are, per backend (from the backends' own sources). */
export const LAUNCH_DEFINITIONS: Readonly<Record<string, { readonly launch: string; readonly cold: string }>> = {
  cuda: {
    launch: 'an empty kernel launched back to back on one stream, CUDA events around the loop, per launch',
    cold: 'the first launch in the process, lazy module load included (host clock)',
  },
  webgpu: {
    launch:
      'dispatches of a one-invocation compute shader recorded in one compute pass (no submit or wait per dispatch), timestamp queries, per dispatch',
    cold: 'the first run, pipeline creation and the first submit and wait included (host clock)',
  },
  metal: {
    launch:
      'command buffers of an empty kernel committed back to back, (last GPU end - first GPU start) per command buffer',
    cold: 'the first run, shader compilation included (host clock)',
  },
  cpu: {
    launch: 'a near-empty task handed to a helper thread of the pool and waited for, steady clock, per task',
    cold: 'the first task, thread wake-up included',
  },
  host: {
    launch: 'a JavaScript function call, steady clock',
    cold: 'the first call, compilation by the JavaScript engine included',
  },
}

function definition(m: Measurement): string {
  const own = m.notes.find((n) => n.startsWith('launch:'))
  if (own !== undefined) return own.slice('launch:'.length).trim()
  const d = LAUNCH_DEFINITIONS[m.backend]
  return d === undefined ? 'not documented for this backend' : `${d.launch}; cold: ${d.cold}`
}

export function launchSection(inputs: ReportInputs, published: Published): Section | null {
  const launches = inputs.measurements.filter((m) => m.workload?.kind === 'launch')
  if (launches.length === 0) return null
  const t6 = published.table6
  const blocks: Block[] = [
    table(
      'launch-measured',
      'Launch latency, measured',
      'Follow-up: the time per launch, as the median over samples (the mean under the paper’s fixed count, as Table 6 reports). Each row says what a launch is on its backend: figures of different backends time different things.',
      ['device', 'backend', 'cold launch (ms)', 'follow-up launch (ms)', 'statistic', 'what was timed'],
      launches.map((m) => [
        m.deviceId,
        m.backend,
        msText(m.coldNs),
        msText(timeOf(m).ns),
        timeOf(m).statistic,
        definition(m),
      ]),
    ),
    bars({
      id: 'launch-chart',
      title: 'Launch latency, measured',
      caption: 'Cold and follow-up launch per device, ms; see the table for what each backend times.',
      values: launches.flatMap((m) => [
        ...(m.coldNs === null ? [] : [{ device: m.deviceId, launch: 'cold', ms: m.coldNs / 1e6 }]),
        { device: m.deviceId, launch: 'follow-up', ms: timeOf(m).ns / 1e6 },
      ]),
      category: { field: 'device', title: 'device' },
      value: { field: 'ms', title: 'time per launch (ms)', format: '~r' },
      group: { field: 'launch', title: 'launch' },
    }),
    table(
      'launch-published',
      t6.title,
      `${publishedLabel(published, t6.source)}. ${t6.definition}.`,
      ['device (published)', 'framework', 'cold launch (ms)', 'follow-up launch (ms)'],
      t6.rows.map((r) => [r.device, r.framework, String(r.coldMs), String(r.followUpMs)]),
      true,
    ),
    bars({
      id: 'launch-published-chart',
      title: 'Launch latency, Table 6',
      caption: `${publishedLabel(published, t6.source)}.`,
      values: t6.rows.flatMap((r) => [
        { device: r.device, launch: 'cold', ms: r.coldMs },
        { device: r.device, launch: 'follow-up', ms: r.followUpMs },
      ]),
      category: { field: 'device', title: 'device (published)' },
      value: { field: 'ms', title: 'time per launch (ms)', format: '~r' },
      group: { field: 'launch', title: 'launch' },
      published: true,
    }),
  ]
  return {
    id: 'launch',
    title: 'Kernel launch latency (Table 6)',
    intro: [
      'The paper gives no method for Table 6 beyond its kernel section’s “10 warm-ups, 100 launches, average”; its launches are PyTorch’s (MPS, CUDA), which include the framework’s own dispatch. Compare a backend’s row with a published one only where they time the same thing.',
    ],
    blocks,
  }
}
