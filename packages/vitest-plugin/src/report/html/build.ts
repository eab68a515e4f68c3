/**
 * Builds the report's model from the inputs and the published figures: each section only where
 * the inputs have data for it, in a fixed order.
 */
import type { ReportInputs } from './inputs.ts'
import type { ReportModel, Section } from './model.ts'
import type { Published } from './published.ts'
import { type BlogOptions, blogSection } from './sections/blog.ts'
import { devicesSection } from './sections/devices.ts'
import { launchSection } from './sections/launch.ts'
import { sourcesSection } from './sections/sources.ts'
import { throughputSection } from './sections/throughput.ts'
import { trainingSection } from './sections/training.ts'

export interface ReportOptions extends BlogOptions {
  readonly title?: string
  /** ISO date-time of the report; default now. */
  readonly createdAt?: string
}

export function buildModel(inputs: ReportInputs, published: Published, options: ReportOptions = {}): ReportModel {
  const sections = [
    devicesSection(inputs, published),
    throughputSection(inputs),
    launchSection(inputs, published),
    trainingSection(inputs, published),
    blogSection(inputs, published, options),
  ].filter((s): s is Section => s !== null)
  const sources = sourcesSection(sections, published)
  if (sources !== null) sections.push(sources)
  const notes: string[] = []
  if (inputs.replaced > 0) {
    notes.push(
      `${inputs.replaced} measurement${inputs.replaced === 1 ? ' was' : 's were'} read more than once for one device and benchmark; the latest recording is shown.`,
    )
  }
  return {
    title: options.title ?? 'gpubench report',
    createdAt: options.createdAt ?? new Date().toISOString(),
    files: inputs.files,
    notes,
    sections,
  }
}
