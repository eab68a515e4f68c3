/**
 * The `htmlReport` option: the HTML report (and its markdown twin) of the run that just ended,
 * from the run's JSON report object, written by the reporter after its other reports. A path that
 * cannot be written, or a report that cannot be drawn, is one line for the run's errors, never a
 * stack: the run's results stand whatever happens to its report.
 */
import type { JsonReport } from '../json.ts'
import { markdownPathFor, renderReport } from './index.ts'
import { mergeContents, readJsonReport } from './inputs.ts'

/** Writes `htmlPath` and its `.md` twin; returns problems as lines (empty when both were written). */
export async function writeRunReport(
  report: JsonReport,
  htmlPath: string,
  write: (file: string, text: string) => Promise<string | null>,
): Promise<string[]> {
  let rendered: Awaited<ReturnType<typeof renderReport>>
  try {
    const contents = readJsonReport('this run', report as unknown as Record<string, unknown>)
    rendered = await renderReport(mergeContents([contents], ['this run']), {
      title: 'gpubench report of this run',
      createdAt: report.createdAt,
    })
  } catch (error) {
    return [`gpubench: htmlReport: the report could not be drawn: ${(error as Error).message}`]
  }
  const problems: string[] = []
  for (const [file, text] of [
    [htmlPath, rendered.html],
    [markdownPathFor(htmlPath), rendered.markdown],
  ] as const) {
    const problem = await write(file, text)
    if (problem !== null) problems.push(problem)
  }
  return problems
}
