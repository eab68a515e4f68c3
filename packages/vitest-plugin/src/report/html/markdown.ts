/**
 * The report as markdown (for CI summaries and READMEs): the same sections and the same tables,
 * cell for cell, as the HTML page; a chart is named with its caption, since markdown viewers drop
 * inline SVG. Published tables are marked as such above the table.
 */
import type { ReportModel, TableBlock } from './model.ts'

/** A cell as markdown table text: pipes escaped, line breaks as spaces. */
export function markdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function markdownTable(block: TableBlock): string {
  const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`
  return [line(block.columns), `| ${block.columns.map(() => '---').join(' | ')} |`, ...block.rows.map(line)].join('\n')
}

export function reportMarkdown(model: ReportModel): string {
  const out: string[] = [
    `# ${model.title}`,
    '',
    `Created ${model.createdAt} from ${model.files.length} file${model.files.length === 1 ? '' : 's'}.`,
  ]
  for (const note of model.notes) out.push('', note)
  for (const section of model.sections) {
    out.push('', `## ${section.title}`)
    for (const paragraph of section.intro) out.push('', paragraph)
    for (const block of section.blocks) {
      const label = block.published ? ' (published)' : ''
      if (block.kind === 'chart') {
        out.push('', `Chart${label}: **${block.title}**: ${block.caption} (drawn in the HTML report)`)
        continue
      }
      out.push('', `### ${block.title}${label}`, '', block.caption, '', markdownTable(block))
    }
  }
  out.push('', '## Inputs', '', ...model.files.map((f) => `- \`${f}\``))
  return `${out.join('\n')}\n`
}
