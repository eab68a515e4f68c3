/**
 * The blog's four charts, computed from the report's own records: (1) time per device, (2)
 * speed-up against the report's CPU run, (3) f16 against f32 time, (4) the f16 "relative gain"
 * 1 - t16/t32 beside the ratio t32/t16. The blog timed one training script; here one benchmark
 * stands for it: the chosen benchmark (`headline`), else the f32 benchmark with an f16 twin that
 * the most devices measured, a training step first among equals, then the one with the most work
 * (a training step measured on one device only would make the speed-up chart a single bar).
 * Each measured chart is followed by the blog's published one.
 */
import { dtypeOf, f16Twin, kindOf, ratioText, timeOf } from '../figures.ts'
import type { Measurement, ReportInputs } from '../inputs.ts'
import { type Block, type Section, table } from '../model.ts'
import { type Published, publishedLabel } from '../published.ts'
import { bars } from '../specs.ts'
import { isTraining } from './training.ts'

export interface BlogOptions {
  /** The f32 benchmark (key) the charts compare; default: chosen as above. */
  readonly headline?: string
  /**
   * The device whose time every speed-up divides. Default: for a device of a JSON report, the CPU
   * run of that report; otherwise the first `cpu` device that measured the headline.
   */
  readonly cpuDevice?: string
}

export class BlogOptionError extends Error {
  override name = 'BlogOptionError'
}

/** The work of a measurement: FLOPs at its median, when known. */
function work(m: Measurement): number {
  return m.flopPerSecond === null ? 0 : (m.flopPerSecond * m.stats.medianNs) / 1e9
}

/** The default headline: see the module's comment. Null when no f32 benchmark has an f16 twin. */
export function chooseHeadline(measurements: readonly Measurement[]): string | null {
  const keys = new Set(measurements.map((m) => `${m.deviceId}\u0000${m.key}`))
  const candidates = new Map<string, { devices: number; work: number; training: boolean }>()
  for (const m of measurements) {
    const twin = f16Twin(m.key)
    if (dtypeOf(m) !== 'f32' || twin === null || !keys.has(`${m.deviceId}\u0000${twin}`)) continue
    const c = candidates.get(m.key) ?? { devices: 0, work: 0, training: isTraining(m) }
    c.devices++
    c.work = Math.max(c.work, work(m))
    candidates.set(m.key, c)
  }
  let best: [string, { devices: number; work: number; training: boolean }] | null = null
  for (const entry of candidates) {
    const [, c] = entry
    if (best === null) {
      best = entry
      continue
    }
    const [, b] = best
    const better =
      c.devices !== b.devices ? c.devices > b.devices : c.training !== b.training ? c.training : c.work > b.work
    if (better) best = entry
  }
  return best?.[0] ?? null
}

export function blogSection(inputs: ReportInputs, published: Published, options: BlogOptions = {}): Section | null {
  const { measurements } = inputs
  const headline = options.headline ?? chooseHeadline(measurements)
  if (headline === null) return null
  const f32s = measurements.filter((m) => m.key === headline)
  if (f32s.length === 0) throw new BlogOptionError(`no input measured the benchmark ${JSON.stringify(headline)}`)
  const twinKey = f16Twin(headline)
  const f16Of = (m: Measurement) =>
    twinKey === null ? undefined : measurements.find((x) => x.deviceId === m.deviceId && x.key === twinKey)
  const blog = published.blog
  const label = publishedLabel(published, blog.source)
  const statistic = [...new Set(f32s.map((m) => timeOf(m).statistic))].join(' or ')
  const what = `${headline}${kindOf(f32s[0]!) === 'training' ? ' (one training step)' : ''}`
  const blocks: Block[] = []

  // (1) Time per device.
  blocks.push(
    bars({
      id: 'blog-time',
      title: 'Time per device, f32',
      caption: `${what}: ${statistic} time, ms.`,
      values: f32s.map((m) => ({ device: m.deviceId, ms: timeOf(m).ns / 1e6 })),
      category: { field: 'device', title: 'device' },
      value: { field: 'ms', title: 'time (ms)', format: '~r' },
    }),
    bars({
      id: 'blog-time-published',
      title: blog.timeFp32.title,
      caption: `${label}. Whole-script times in seconds, not comparable in size with one benchmark.`,
      values: blog.timeFp32.rows.map((r) => ({ device: `${r.device} (${r.framework})`, s: r.seconds })),
      category: { field: 'device', title: 'device (published)' },
      value: { field: 's', title: 'time (s)', format: '~r' },
      published: true,
      log: false,
    }),
  )

  // (2) Speed-up against the CPU run: of the same report (one JSON report is one run on one
  // machine), else the chosen or first CPU device.
  const fallback =
    options.cpuDevice === undefined
      ? f32s.find((m) => m.backend === 'cpu')
      : f32s.find((m) => m.deviceId === options.cpuDevice)
  if (options.cpuDevice !== undefined && fallback === undefined) {
    throw new BlogOptionError(`device ${JSON.stringify(options.cpuDevice)} did not measure ${JSON.stringify(headline)}`)
  }
  const cpuOf = (m: Measurement): Measurement | undefined => {
    if (options.cpuDevice !== undefined || m.sourceKind !== 'report') return fallback
    return f32s.find((x) => x.backend === 'cpu' && x.source === m.source) ?? fallback
  }
  const speedups = f32s.flatMap((m) => {
    const cpu = cpuOf(m)
    return cpu === undefined ? [] : [{ m, cpu, speedup: timeOf(cpu).ns / timeOf(m).ns }]
  })
  const cpus = [...new Set(speedups.map((s) => s.cpu.deviceId))]
  if (speedups.length > 0) {
    blocks.push(
      bars({
        id: 'blog-speedup',
        title: `Speed-up against the CPU run${cpus.length === 1 ? ` (${cpus[0]})` : ''}`,
        caption: `${what}: the CPU run’s time / each device’s time (> 1: faster than the CPU run). ${options.cpuDevice === undefined ? `The CPU run is the one of the device’s own JSON report where it has one, else ${fallback?.deviceId ?? 'none'}.` : `The CPU run is ${options.cpuDevice}, as chosen.`}`,
        values: speedups.map(({ m, speedup }) => ({ device: m.deviceId, speedup })),
        category: { field: 'device', title: 'device' },
        value: { field: 'speedup', title: 'speed-up (x)', format: '~r' },
      }),
      table(
        'blog-speedup-table',
        'Speed-up against the CPU run, measured',
        `${what}: each device against the CPU run it is compared with.`,
        ['device', 'CPU run', 'time (ms)', 'CPU run time (ms)', 'speed-up'],
        speedups.map(({ m, cpu, speedup }) => [
          m.deviceId,
          cpu.deviceId,
          ratioText(timeOf(m).ns / 1e6),
          ratioText(timeOf(cpu).ns / 1e6),
          ratioText(speedup),
        ]),
      ),
    )
  }
  blocks.push(
    bars({
      id: 'blog-speedup-published',
      title: blog.speedupVsCpu.title,
      caption: `${label}.`,
      values: blog.speedupVsCpu.rows.map((r) => ({ device: `${r.device} (${r.framework})`, speedup: r.speedup })),
      category: { field: 'device', title: 'device (published)' },
      value: { field: 'speedup', title: 'speed-up (x)', format: '~r' },
      published: true,
      log: false,
    }),
  )

  // (3) f16 against f32 time, (4) relative gain beside the ratio.
  const paired = f32s.flatMap((m) => {
    const f16 = f16Of(m)
    return f16 === undefined ? [] : [{ f32: m, f16, t32: timeOf(m).ns, t16: timeOf(f16).ns }]
  })
  if (paired.length > 0) {
    blocks.push(
      bars({
        id: 'blog-f16-time',
        title: 'f32 vs f16 time per device',
        caption: `${what} and its f16 twin ${twinKey}: ms.`,
        values: paired.flatMap((p) => [
          { device: p.f32.deviceId, dtype: 'f32', ms: p.t32 / 1e6 },
          { device: p.f16.deviceId, dtype: 'f16', ms: p.t16 / 1e6 },
        ]),
        category: { field: 'device', title: 'device' },
        value: { field: 'ms', title: 'time (ms)', format: '~r' },
        group: { field: 'dtype', title: 'dtype' },
      }),
      bars({
        id: 'blog-f16-time-published',
        title: blog.fp16VsFp32.title,
        caption: `${label}.`,
        values: blog.fp16VsFp32.rows.flatMap((r) => [
          { device: `${r.device} (${r.framework})`, dtype: 'f32', s: r.fp32Seconds },
          { device: `${r.device} (${r.framework})`, dtype: 'f16', s: r.fp16Seconds },
        ]),
        category: { field: 'device', title: 'device (published)' },
        value: { field: 's', title: 'time (s)', format: '~r' },
        group: { field: 'dtype', title: 'dtype' },
        published: true,
        log: false,
      }),
      bars({
        id: 'blog-f16-gain',
        title: 'f16 relative gain, 1 - t16/t32',
        caption:
          'Above 0: f16 is faster; 0.28 means f16 takes 28% less time. Negative: f16 is slower. The ratio t32/t16 is in the table below.',
        values: paired.map((p) => ({ device: p.f32.deviceId, gain: 1 - p.t16 / p.t32 })),
        category: { field: 'device', title: 'device' },
        value: { field: 'gain', title: '1 - t16/t32', format: '~r' },
        log: false,
      }),
      table(
        'blog-f16-table',
        'f16 against f32, measured',
        `${what}: the relative gain 1 - t16/t32 beside the ratio t32/t16 (the speed-up).`,
        ['device', 'f32 time (ms)', 'f16 time (ms)', 'gain 1 - t16/t32', 'ratio t32/t16'],
        paired.map((p) => [
          p.f32.deviceId,
          ratioText(p.t32 / 1e6),
          ratioText(p.t16 / 1e6),
          ratioText(1 - p.t16 / p.t32),
          ratioText(p.t32 / p.t16),
        ]),
      ),
      bars({
        id: 'blog-f16-gain-published',
        title: blog.relativeGainFp16.title,
        caption: `${label}.`,
        values: blog.relativeGainFp16.rows.map((r) => ({ device: `${r.device} (${r.framework})`, gain: r.gain })),
        category: { field: 'device', title: 'device (published)' },
        value: { field: 'gain', title: '1 - t16/t32', format: '~r' },
        published: true,
        log: false,
      }),
    )
  }
  return {
    id: 'blog',
    title: 'The blog’s four charts',
    intro: [
      `The blog timed one training script; here ${JSON.stringify(headline)} stands for it (${statistic} time). ${speedups.length === 0 ? 'No CPU device measured it, so no speed-up against a CPU run is drawn.' : `Speed-ups divide the time of a CPU run: ${cpus.join(', ')}.`}`,
    ],
    blocks,
  }
}
