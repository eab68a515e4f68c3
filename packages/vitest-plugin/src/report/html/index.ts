/**
 * `gpubench report` and the `htmlReport` option: inputs → model → an HTML page and its markdown
 * twin, written side by side (`report.html` and `report.md`).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { buildModel, type ReportOptions } from './build.ts'
import { ReportInputError, type ReportInputs, readInputs } from './inputs.ts'
import { reportMarkdown } from './markdown.ts'
import type { ReportModel } from './model.ts'
import { reportHtml } from './page.ts'
import { loadPublished } from './published.ts'
import { BlogOptionError } from './sections/blog.ts'

export type { ReportOptions } from './build.ts'

export interface RenderedReport {
  readonly model: ReportModel
  readonly html: string
  readonly markdown: string
}

export async function renderReport(inputs: ReportInputs, options: ReportOptions = {}): Promise<RenderedReport> {
  const model = buildModel(inputs, await loadPublished(), options)
  return { model, html: await reportHtml(model), markdown: reportMarkdown(model) }
}

/** The markdown file beside an HTML file: its path with `.md` for `.html`/`.htm` (appended otherwise). */
export function markdownPathFor(htmlPath: string): string {
  return /\.html?$/i.test(htmlPath) ? htmlPath.replace(/\.html?$/i, '.md') : `${htmlPath}.md`
}

/** Reads the inputs and writes the page and its markdown twin; returns both paths. */
export async function writeReport(
  paths: readonly string[],
  htmlPath: string,
  options: ReportOptions = {},
): Promise<{ html: string; markdown: string; report: RenderedReport }> {
  const report = await renderReport(await readInputs(paths), options)
  const markdown = markdownPathFor(htmlPath)
  await mkdir(dirname(htmlPath), { recursive: true })
  await writeFile(htmlPath, report.html)
  await writeFile(markdown, report.markdown)
  return { html: htmlPath, markdown, report }
}

/** A mistake in what the user gave (an unreadable input, an unknown benchmark or device), as opposed to a bug. */
export function isInputError(error: unknown): boolean {
  return error instanceof ReportInputError || error instanceof BlogOptionError
}
