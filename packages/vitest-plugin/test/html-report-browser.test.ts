/**
 * The HTML report as a person sees it: rendered from the committed fixtures (baseline files of
 * three devices), opened in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core, no browser download), and checked there: no console error, nothing fetched,
 * every chart drawn with its bars, the same tables as the markdown version. A full-page screenshot
 * is kept under .gpubench/artifacts/ for CI to collect.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); without it the test is skipped with that reason.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { afterAll, expect, test } from 'vitest'
import { writeReport } from '../src/report/html/index.ts'
import { markdownTables, modelTables } from './html-report-tables.ts'

const CHROMIUM = '/usr/bin/chromium'
const FIXTURES = fileURLToPath(new URL('./fixtures/html-report/', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../../../.gpubench/artifacts/', import.meta.url))
const SKIP_REASON = `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to check the report in a browser`

const scratch = mkdtempSync(join(tmpdir(), 'gpubench-html-browser-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

if (!existsSync(CHROMIUM)) console.warn(`html-report-browser: skipped: ${SKIP_REASON}`)

interface ChartInPage {
  readonly id: string
  readonly expected: number
  readonly published: boolean
  readonly svgs: number
  /** Bars drawn (paths of the SVG's rect marks) and how many of them have an area on screen. */
  readonly bars: number
  readonly visibleBars: number
}

test.skipIf(!existsSync(CHROMIUM))(
  'the report in a headless browser: no errors, every chart drawn, the markdown tables',
  { timeout: 120_000 },
  async () => {
    const { html, markdown, report } = await writeReport([FIXTURES], join(scratch, 'report.html'))
    expect(report.model.files.length).toBeGreaterThanOrEqual(3)

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } })
      const problems: string[] = []
      const requests: string[] = []
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
          problems.push(`${message.type()}: ${message.text()}`)
      })
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
      page.on('request', (request) => requests.push(request.url()))
      const url = pathToFileURL(html).href
      await page.goto(url, { waitUntil: 'load' })

      const charts: ChartInPage[] = await page.$$eval('figure[data-chart]', (figures) =>
        figures.map((figure) => {
          const paths = [...figure.querySelectorAll('svg g.mark-rect.role-mark > path')]
          return {
            id: figure.getAttribute('data-chart') ?? '',
            expected: Number(figure.getAttribute('data-marks')),
            published: figure.classList.contains('published'),
            svgs: figure.querySelectorAll('svg').length,
            bars: paths.length,
            visibleBars: paths.filter((p) => {
              const box = p.getBoundingClientRect()
              return box.width > 0 && box.height > 0
            }).length,
          }
        }),
      )
      const pageTables: string[][][] = await page.$$eval('table[data-table]', (tables) =>
        tables.map((table) =>
          [...table.querySelectorAll('tr')].map((tr) =>
            [...tr.querySelectorAll('th, td')].map((c) => c.textContent ?? ''),
          ),
        ),
      )
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'html-report.png'), fullPage: true })

      expect(problems).toEqual([])
      // Nothing is fetched: the page is the only request.
      expect(requests).toEqual([url])

      // Every chart of the model is on the page, with one SVG and one visible bar per datum.
      const modelCharts = report.model.sections.flatMap((s) => s.blocks.filter((b) => b.kind === 'chart'))
      expect(charts.map((c) => c.id)).toEqual(modelCharts.map((c) => c.id))
      expect(charts.some((c) => c.published)).toBe(true)
      for (const chart of charts) {
        expect(chart.svgs, chart.id).toBe(1)
        expect(chart.expected, chart.id).toBeGreaterThan(0)
        expect(chart.bars, chart.id).toBe(chart.expected)
        expect(chart.visibleBars, chart.id).toBe(chart.expected)
      }

      // The page's tables are the markdown version's, cell for cell, and the model's.
      const md = markdownTables(readFileSync(markdown, 'utf8'))
      expect(pageTables).toEqual(md)
      expect(pageTables).toEqual(modelTables(report.model).map((t) => [[...t.columns], ...t.rows.map((r) => [...r])]))
    } finally {
      await browser.close()
    }
  },
)
