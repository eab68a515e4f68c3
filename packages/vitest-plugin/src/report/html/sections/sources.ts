/**
 * The published figures' sources: title, reference, software and caveats of each source that a
 * published block of the report cites. Absent when the report shows no published figure.
 */
import { type Section, table } from '../model.ts'
import type { Published, SourceId } from '../published.ts'

export function sourcesSection(sections: readonly Section[], published: Published): Section | null {
  const cited = (Object.keys(published.sources) as SourceId[]).filter((id) =>
    sections.some((s) => s.blocks.some((b) => b.published && b.caption.includes(published.sources[id].reference))),
  )
  if (cited.length === 0) return null
  return {
    id: 'sources',
    title: 'Published figures: sources and caveats',
    intro: [
      'The reference rows and bars of this report, as their sources printed them (data/published.json of @gpubench/vitest-plugin). They measure PyTorch and MLX on the sources’ own devices: read them beside measured figures, never as the same quantity.',
    ],
    blocks: [
      table(
        'sources-published',
        'Sources',
        'Each published table and chart names its source in its caption.',
        ['source (published)', 'reference', 'software', 'caveats'],
        cited.map((id) => {
          const s = published.sources[id]
          return [s.title, s.reference, s.software, s.caveats.join(' ')]
        }),
        true,
      ),
    ],
  }
}
