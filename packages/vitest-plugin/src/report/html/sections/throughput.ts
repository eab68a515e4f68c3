/**
 * Throughput per suite, shape, dtype and device (as the paper's Figs 5-7), and the FP16 speed-up
 * per device split by kind of work: compute-bound (matrix-matrix product, VJP of a linear layer)
 * apart from memory-bound (matrix-vector product, VJP of a linear map), since the paper's findings
 * differ between the two.
 *
 * Each chart plots the input's own throughput (at the median duration, as recorded); nothing is
 * recomputed. Speed-ups compare the statistic each record's method reports (timeOf).
 */
import {
  bandwidthText,
  type Dtype,
  dtypeOf,
  durationText,
  f16Twin,
  flopsText,
  geometricMean,
  kindOf,
  ratioText,
  shapeLabel,
  timeOf,
} from '../figures.ts'
import type { Measurement, ReportInputs } from '../inputs.ts'
import { type Block, type Section, table } from '../model.ts'
import { bars } from '../specs.ts'

type Bound = 'compute-bound' | 'memory-bound'

interface Group {
  readonly id: string
  readonly title: string
  readonly bound: Bound
  readonly metric: 'flopPerSecond' | 'bytesPerSecond'
  readonly matches: (m: Measurement) => boolean
  /** Whether the paper printed the shapes (only Fig. 5's batched matmul). */
  readonly ownShapes: boolean
}

const GROUPS: readonly Group[] = [
  {
    id: 'matmul',
    title: 'Matrix-matrix product (as Fig. 5)',
    bound: 'compute-bound',
    metric: 'flopPerSecond',
    matches: (m) => kindOf(m) === 'gemm',
    ownShapes: false,
  },
  {
    id: 'matvec',
    title: 'Matrix-vector product (as Fig. 6)',
    bound: 'memory-bound',
    metric: 'bytesPerSecond',
    matches: (m) => kindOf(m) === 'gemv',
    ownShapes: true,
  },
  {
    id: 'vjp-map',
    title: 'VJP of a linear map (as Fig. 7)',
    bound: 'memory-bound',
    metric: 'bytesPerSecond',
    matches: (m) => kindOf(m) === 'vjp' && m.workload?.mode === 'linear-map',
    ownShapes: true,
  },
  {
    id: 'vjp-layer',
    title: 'VJP of a linear layer (as Fig. 7)',
    bound: 'compute-bound',
    metric: 'flopPerSecond',
    matches: (m) => kindOf(m) === 'vjp' && m.workload?.mode === 'linear-layer',
    ownShapes: true,
  },
]

const METRIC = {
  flopPerSecond: { title: 'throughput (FLOP/s)', text: flopsText },
  bytesPerSecond: { title: 'memory throughput (B/s)', text: bandwidthText },
} as const

function groupBlocks(group: Group, measurements: readonly Measurement[]): Block[] {
  const rows = measurements.filter((m) => group.matches(m) && dtypeOf(m) !== null && m[group.metric] !== null)
  if (rows.length === 0) return []
  // f32 before f16, then smaller shapes first: by the work of one run (rate x median duration,
  // the same on every device), so the axis reads from cache-resident to memory-bound.
  const work = (m: Measurement) => (m[group.metric]! * m.stats.medianNs) / 1e9
  const sorted = [...rows].sort((a, b) =>
    dtypeOf(a) !== dtypeOf(b) ? (dtypeOf(a) === 'f32' ? -1 : 1) : work(a) - work(b),
  )
  const metric = METRIC[group.metric]
  const shapes = group.ownShapes
    ? 'The paper prints no shapes for this figure: these shapes are this project’s own choice.'
    : 'The paper measured a batch of 8 products of 2000x2000 matrices; other shapes are this project’s own.'
  return [
    bars({
      id: `throughput-${group.id}`,
      title: group.title,
      caption: `${metric.title} at the median duration, per shape, dtype and device; ${group.bound}. ${shapes}`,
      values: sorted.map((m) => ({
        shape: shapeLabel(m),
        device: m.deviceId,
        dtype: dtypeOf(m)!,
        value: m[group.metric]!,
      })),
      category: { field: 'shape', title: 'shape' },
      value: { field: 'value', title: metric.title },
      group: { field: 'device', title: 'device' },
      facet: { field: 'dtype', title: 'dtype' },
    }),
    table(
      `throughput-${group.id}-table`,
      `${group.title}: figures`,
      'Median duration and its confidence interval as recorded; throughput at the median.',
      ['shape', 'dtype', 'device', 'median', 'CI', 'n', metric.title],
      sorted.map((m) => [
        shapeLabel(m),
        dtypeOf(m)!,
        m.deviceId,
        durationText(m.stats.medianNs),
        `${durationText(m.stats.ciLowNs)} – ${durationText(m.stats.ciHighNs)}`,
        String(m.stats.n),
        metric.text(m[group.metric]),
      ]),
    ),
  ]
}

interface Pair {
  readonly deviceId: string
  readonly bound: Bound
  /** t32 / t16 under each record's statistic: > 1 when f16 is faster. */
  readonly speedup: number
}

function pairs(measurements: readonly Measurement[]): Pair[] {
  const byKey = new Map(measurements.map((m) => [`${m.deviceId}\u0000${m.key}`, m]))
  const out: Pair[] = []
  for (const m of measurements) {
    if (dtypeOf(m) !== ('f32' satisfies Dtype)) continue
    const group = GROUPS.find((g) => g.matches(m))
    const twinKey = f16Twin(m.key)
    const twin = twinKey === null ? undefined : byKey.get(`${m.deviceId}\u0000${twinKey}`)
    if (!group || !twin || dtypeOf(twin) !== 'f16') continue
    out.push({ deviceId: m.deviceId, bound: group.bound, speedup: timeOf(m).ns / timeOf(twin).ns })
  }
  return out
}

export function throughputSection(inputs: ReportInputs): Section | null {
  const blocks = GROUPS.flatMap((g) => groupBlocks(g, inputs.measurements))
  if (blocks.length === 0) return null
  const found = pairs(inputs.measurements)
  if (found.length > 0) {
    const rows: string[][] = []
    for (const device of inputs.devices) {
      for (const bound of ['compute-bound', 'memory-bound'] as const) {
        const speedups = found.filter((p) => p.deviceId === device.id && p.bound === bound).map((p) => p.speedup)
        if (speedups.length === 0) continue
        rows.push([
          device.id,
          bound,
          String(speedups.length),
          ratioText(geometricMean(speedups)),
          `${ratioText(Math.min(...speedups))} – ${ratioText(Math.max(...speedups))}`,
        ])
      }
    }
    blocks.push(
      table(
        'fp16-by-bound',
        'FP16 speed-up by kind of work',
        'Speed-up = f32 time / f16 time (> 1: f16 is faster) over pairs of benchmarks whose names differ only in f32/f16; geometric mean and range per device. Compute-bound: matrix-matrix products and VJPs of a linear layer; memory-bound: matrix-vector products and VJPs of a linear map. Times are medians, or means for benchmarks measured with the paper’s fixed count.',
        ['device', 'kind of work', 'pairs', 'geometric mean speed-up', 'range'],
        rows,
      ),
    )
  }
  return {
    id: 'throughput',
    title: 'Throughput per suite (Figs 5-7)',
    intro: [
      'Each chart: one panel per dtype, one bar per device and shape. A log scale is used when the bars span more than 20x.',
    ],
    blocks,
  }
}
