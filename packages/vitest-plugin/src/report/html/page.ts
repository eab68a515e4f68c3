/**
 * The report as one self-contained HTML page: inline CSS, charts as inline SVG rendered in Node
 * (svg.ts), no script, no external resource, so it opens offline and as a CI artifact. Each chart
 * is a `<figure data-chart data-marks>` (marks: the bars it must draw), each table a
 * `<table data-table>`; published blocks carry the class `published` and say so in their title.
 */
import type { Block, ReportModel } from './model.ts'
import { renderSvg } from './svg.ts'

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em 4em; color: #1b1b1b; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; padding-bottom: 0.2em; }
.meta, figcaption, .caption { color: #555; font-size: 0.92em; }
nav ul { padding-left: 1.2em; columns: 2; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.published { background: repeating-linear-gradient(135deg, #fafafa, #fafafa 8px, #f1f1f1 8px, #f1f1f1 16px); }
.published th { background: #e9e9e9; }
.tag { display: inline-block; font-size: 0.75em; font-weight: 600; padding: 0 0.5em; border-radius: 3px; margin-left: 0.5em; vertical-align: middle; }
.tag.measured { background: #dcebf7; color: #1f4e79; } .tag.published { background: #e6e6e6; color: #444; border: 1px dashed #888; }
figure { margin: 0.6em 0 1.4em; overflow-x: auto; } figure.published { padding: 0.4em; border: 1px dashed #aaa; }
h3 { font-size: 1em; margin-bottom: 0.2em; }
`

function tag(published: boolean): string {
  return published ? '<span class="tag published">published</span>' : '<span class="tag measured">measured</span>'
}

async function blockHtml(block: Block): Promise<string> {
  const cls = block.published ? ' class="published"' : ''
  if (block.kind === 'chart') {
    const svg = await renderSvg(block.spec)
    return `<figure data-chart="${escapeHtml(block.id)}" data-marks="${block.marks}"${cls}>
<h3>${escapeHtml(block.title)}${tag(block.published)}</h3>
${svg}
<figcaption>${escapeHtml(block.caption)}</figcaption>
</figure>`
  }
  const head = block.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')
  const body = block.rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n')
  return `<h3>${escapeHtml(block.title)}${tag(block.published)}</h3>
<p class="caption">${escapeHtml(block.caption)}</p>
<table data-table="${escapeHtml(block.id)}"${cls}>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>`
}

export async function reportHtml(model: ReportModel): Promise<string> {
  const parts: string[] = []
  for (const section of model.sections) {
    const blocks: string[] = []
    for (const block of section.blocks) blocks.push(await blockHtml(block))
    parts.push(`<section id="${escapeHtml(section.id)}">
<h2>${escapeHtml(section.title)}</h2>
${section.intro.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${blocks.join('\n')}
</section>`)
  }
  const nav = model.sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a></li>`).join('')
  const files = model.files.map((f) => `<li><code>${escapeHtml(f)}</code></li>`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(model.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(model.title)}</h1>
<p class="meta">Created ${escapeHtml(model.createdAt)}. Measured figures come from the inputs below; figures marked <span class="tag published">published</span> come from the sources they name and are never mixed with measured ones.</p>
${model.notes.map((n) => `<p class="meta">${escapeHtml(n)}</p>`).join('\n')}
<nav><ul>${nav}</ul></nav>
${parts.join('\n')}
<section id="inputs"><h2>Inputs</h2><ul>${files}</ul></section>
</body>
</html>
`
}
