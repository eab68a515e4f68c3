/**
 * The derived figures (derived.ts) as text: sections printed after the plugin's table on the
 * console, and the same sections in the markdown summary. A section appears only when it has
 * figures: no FP16 pairs, no peak known, no section (never a row of invented values).
 */
import { formatBandwidth, formatDuration, formatFlops } from '@gpubench/core'
import type { DerivedFigures, Fp16Device, RooflineFraction } from './derived.ts'
import { NONE, percentText, speedupText } from './figures.ts'
import { markdownTable } from './markdown-table.ts'
import { formatGrid } from './table.ts'

interface Section {
  readonly title: string
  /** One line of explanation under the title. */
  readonly note: string
  readonly header: readonly string[]
  readonly body: ReadonlyArray<readonly string[]>
}

const FP16_TITLE = 'FP16 over FP32'
const FP16_NOTE = 'speed-up = f32 median / f16 median (> 1: f16 is faster); geometric mean per device'
const FP16_HEADER = ['device', 'benchmark', 'f32 median', 'f16 median', 'speed-up'] as const

function fp16Body(devices: readonly Fp16Device[]): string[][] {
  return devices.flatMap((device) => [
    ...device.pairs.map((pair) => [
      device.deviceId,
      pair.label,
      formatDuration(pair.f32MedianNs),
      formatDuration(pair.f16MedianNs),
      speedupText(pair.speedup),
    ]),
    [
      device.deviceId,
      `geometric mean over ${device.pairs.length} pair${device.pairs.length === 1 ? '' : 's'}`,
      '',
      '',
      speedupText(device.geometricMeanSpeedup),
    ],
  ])
}

const ROOFLINE_TITLE = "Fraction of the device's peak"
const ROOFLINE_NOTE = 'achieved rate at the median / peak the device reports; devices that report no peak are left out'
const ROOFLINE_HEADER = [
  'benchmark',
  'backend',
  'device',
  'FLOP/s',
  'peak FLOP/s',
  'of peak',
  'bytes/s',
  'peak bytes/s',
  'of peak',
] as const

function rate(value: number | null, format: (v: number) => string): string {
  return value === null ? NONE : format(value)
}

function rooflineBody(fractions: readonly RooflineFraction[]): string[][] {
  return fractions.map((f) => [
    f.key,
    f.backend,
    f.deviceId,
    rate(f.flopPerSecond, formatFlops),
    f.peakFlopPerSecond === null ? NONE : `${formatFlops(f.peakFlopPerSecond)}${f.dtype ? ` (${f.dtype})` : ''}`,
    rate(f.flopFraction, percentText),
    rate(f.bytesPerSecond, formatBandwidth),
    rate(f.peakBytesPerSecond, formatBandwidth),
    rate(f.bytesFraction, percentText),
  ])
}

function sections(derived: DerivedFigures): Section[] {
  const out: Section[] = []
  if (derived.fp16OverFp32.length > 0) {
    out.push({ title: FP16_TITLE, note: FP16_NOTE, header: FP16_HEADER, body: fp16Body(derived.fp16OverFp32) })
  }
  if (derived.roofline.length > 0) {
    out.push({
      title: ROOFLINE_TITLE,
      note: ROOFLINE_NOTE,
      header: ROOFLINE_HEADER,
      body: rooflineBody(derived.roofline),
    })
  }
  return out
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n')
}

/** The console text: one titled, aligned table per section; empty when there is nothing to derive. */
export function derivedText(derived: DerivedFigures): string {
  return sections(derived)
    .map((s) => ` gpubench: ${s.title}\n ${s.note}\n\n${indent(formatGrid(s.header, s.body), '   ')}\n`)
    .join('\n')
}

/** The markdown sections, each as lines: a heading, the note, a table. */
export function derivedMarkdown(derived: DerivedFigures): string[][] {
  return sections(derived).map((s) => [`#### ${s.title}`, '', `${s.note}.`, '', ...markdownTable(s.header, s.body)])
}
