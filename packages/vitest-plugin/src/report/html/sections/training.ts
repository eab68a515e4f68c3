/**
 * Training, when the inputs hold training records (core's `train` workload, or a benchmark of the
 * `training/` suite): time per step per device, batch and dtype (as the paper's Table 4); where
 * the records carry core's training notes (JSON reports do), the forward / backward / optimizer
 * split (Fig. 3), memory and page faults per step (Fig. 4's quantities, at the end of the run) and
 * energy per step with tokens per joule (Table 5). The paper's Tables 4 and 5 follow as published
 * rows. Absent when no input has a training record.
 */
import { amountText, dtypeOf, durationText, kindOf, NONE, ratioText, timeOf } from '../figures.ts'
import type { Measurement, ReportInputs } from '../inputs.ts'
import { type Block, type Section, table } from '../model.ts'
import { type Published, publishedLabel } from '../published.ts'
import { bars } from '../specs.ts'
import { trainingNotes } from '../training-notes.ts'

export function isTraining(m: Measurement): boolean {
  const kind = kindOf(m)
  return kind === 'train' || kind === 'training' || m.key.startsWith('training/')
}

/** Batch and sequence length: the workload's fields, else the `<batch>x<seq> <dtype>` of core's training label. */
function batchAndSeq(m: Measurement): { batch: number | null; seq: number | null } {
  const batch = m.workload?.batch
  const seq = m.workload?.seq
  if (typeof batch === 'number') return { batch, seq: typeof seq === 'number' ? seq : null }
  const label = /(?:^|\s)(\d+)x(\d+) f(?:16|32)(?:\s|$)/.exec(m.target)
  return label ? { batch: Number(label[1]), seq: Number(label[2]) } : { batch: null, seq: null }
}

function count(value: number | null): string {
  return value === null ? NONE : String(value)
}

/** A short chart label that keeps what tells steps apart: dtype, batch x sequence (`f16 8x64`). */
function stepLabel(m: Measurement): string {
  const { batch, seq } = batchAndSeq(m)
  const shape = batch === null ? m.target : `${batch}x${seq ?? '?'}`
  return `${dtypeOf(m) ?? ''} ${shape}${m.key.includes('(paper method)') ? ' (paper method)' : ''}`.trim()
}

export function trainingSection(inputs: ReportInputs, published: Published): Section | null {
  const steps = inputs.measurements.filter(isTraining)
  if (steps.length === 0) return null
  const t4 = published.table4
  const t5 = published.table5
  const detailed = steps.map((m) => ({ m, notes: trainingNotes(m.notes), ...batchAndSeq(m) }))
  const blocks: Block[] = [
    table(
      'training-measured',
      'Time per training step, measured',
      'One step: forward, backward and the AdamW update of the suite’s model. Median over steps, or the mean under the paper’s fixed count.',
      ['device', 'backend', 'benchmark', 'batch', 'sequence', 'dtype', 'time per step', 'statistic', 'n'],
      detailed.map(({ m, batch, seq }) => [
        m.deviceId,
        m.backend,
        m.key,
        count(batch),
        count(seq),
        dtypeOf(m) ?? NONE,
        durationText(timeOf(m).ns),
        timeOf(m).statistic,
        String(m.stats.n),
      ]),
    ),
    bars({
      id: 'training-chart',
      title: 'Time per training step, measured',
      caption: 'Per device, dtype and batch x sequence (the table above names each benchmark), ms.',
      values: steps.map((m) => ({ step: stepLabel(m), device: m.deviceId, ms: timeOf(m).ns / 1e6 })),
      category: { field: 'step', title: 'dtype, batch x sequence' },
      value: { field: 'ms', title: 'time per step (ms)', format: '~r' },
      group: { field: 'device', title: 'device' },
    }),
  ]
  const split = detailed.filter((d) => d.notes.forwardNs !== null && d.notes.backwardNs !== null)
  if (split.length > 0) {
    blocks.push(
      bars({
        id: 'training-phases',
        title: 'Forward, backward and optimizer per step (as Fig. 3)',
        caption: 'Medians of each phase over the measured steps, ms, from the backends’ own notes.',
        values: split.flatMap(({ m, notes }) => [
          { step: `${stepLabel(m)} · ${m.deviceId}`, phase: 'forward', ms: notes.forwardNs! / 1e6 },
          { step: `${stepLabel(m)} · ${m.deviceId}`, phase: 'backward', ms: notes.backwardNs! / 1e6 },
          ...(notes.optimizerNs === null
            ? []
            : [{ step: `${stepLabel(m)} · ${m.deviceId}`, phase: 'optimizer', ms: notes.optimizerNs / 1e6 }]),
        ]),
        category: { field: 'step', title: 'dtype, batch x sequence · device' },
        value: { field: 'ms', title: 'time (ms)', format: '~r' },
        group: { field: 'phase', title: 'phase' },
      }),
    )
  }
  const withNotes = detailed.filter((d) => d.notes.tokensPerSecond !== null || d.notes.rss !== null)
  if (withNotes.length > 0) {
    blocks.push(
      table(
        'training-memory-energy',
        'Throughput, memory, page faults and energy per step (Fig. 4, Table 5)',
        'From the backends’ notes: RSS after the last measured step and its peak, page faults per step (getrusage), energy per step where the device reports it (else why not); tokens per joule = batch × sequence / J per step.',
        [
          'device',
          'benchmark',
          'tokens/s',
          'RSS',
          'peak RSS',
          'minor faults/step',
          'major faults/step',
          'J per step',
          'tokens per J',
        ],
        withNotes.map(({ m, notes, batch, seq }) => [
          m.deviceId,
          m.key,
          notes.tokensPerSecond === null ? NONE : amountText(notes.tokensPerSecond),
          notes.rss ?? NONE,
          notes.peakRss ?? NONE,
          count(notes.minorFaultsPerStep),
          count(notes.majorFaultsPerStep),
          notes.joulesPerStep === null ? (notes.energyUnavailable ?? NONE) : ratioText(notes.joulesPerStep),
          notes.joulesPerStep === null || batch === null || seq === null
            ? NONE
            : amountText((batch * seq) / notes.joulesPerStep),
        ]),
      ),
    )
  }
  blocks.push(
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
  )
  return {
    id: 'training',
    title: 'Training (Table 4, Fig. 3, Table 5)',
    intro: [
      'Training records of the inputs, with the paper’s published time per pass and energy per iteration for reference. The per-step series (Fig. 4: step time, RSS and page faults against the step) is attached to each training test, not kept in reports.',
    ],
    blocks,
  }
}
