/**
 * Device facts: what each measured device is (name, backend, memory, peak where its backend
 * reports one), then the paper's Table 1 as published reference rows.
 */
import { formatBytes } from '@gpubench/core'
import { bandwidthText, flopsText, NONE } from '../figures.ts'
import type { ReportInputs } from '../inputs.ts'
import { type Section, table } from '../model.ts'
import { type Published, publishedLabel } from '../published.ts'

function detail(details: Readonly<Record<string, string | number | boolean>>, key: string): string {
  const value = details[key]
  return value === undefined ? NONE : String(value)
}

export function devicesSection(inputs: ReportInputs, published: Published): Section | null {
  if (inputs.devices.length === 0) return null
  const counts = new Map<string, number>()
  for (const m of inputs.measurements) counts.set(m.deviceId, (counts.get(m.deviceId) ?? 0) + 1)
  const rows = inputs.devices.map((d) => {
    const memory = d.details.memoryBytes
    return [
      d.id,
      d.name,
      d.backend + (d.software ? ' (software)' : ''),
      d.vendor ?? NONE,
      d.architecture ?? NONE,
      d.driver ?? NONE,
      typeof memory === 'number' ? formatBytes(memory) : NONE,
      detail(d.details, 'cores'),
      flopsText(d.peak?.flopPerSecond?.f32 ?? null),
      flopsText(d.peak?.flopPerSecond?.f16 ?? null),
      bandwidthText(d.peak?.bytesPerSecond ?? null),
      String(counts.get(d.id) ?? 0),
    ]
  })
  const t1 = published.table1
  return {
    id: 'devices',
    title: 'Devices',
    intro: [
      'Peak rates appear only where the backend reports them (in JSON reports; baseline files never hold them): a peak is never assumed. A software adapter (lavapipe) runs on the CPU, so its timings say little about a GPU.',
    ],
    blocks: [
      table(
        'devices-measured',
        'Measured devices',
        'One row per device of the inputs. Memory is the host memory for CPU and software devices.',
        [
          'device id',
          'name',
          'backend',
          'vendor',
          'architecture',
          'driver',
          'memory',
          'cores',
          'peak f32',
          'peak f16',
          'peak bandwidth',
          'benchmarks',
        ],
        rows,
      ),
      table(
        'devices-published',
        t1.title,
        publishedLabel(published, t1.source),
        ['device (published)', 'RAM (GB)', 'FP32 (TFLOPS)', 'launch price (USD)'],
        t1.rows.map((r) => [r.device, String(r.ramGB), String(r.fp32Tflops), String(r.launchPriceUsd)]),
        true,
      ),
    ],
  }
}
