import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  describeTrain,
  QUICK_MODEL,
  type TrainingSession,
  type TrainStepRecord,
  train,
  trainFigureNotes,
  trainFigures,
} from '@gpubench/core'
import { afterAll, describe, expect, test, vi } from 'vitest'
import { main } from '../src/cli/commands.ts'
import { parseReportArgs } from '../src/cli/report.ts'
import { CliError } from '../src/cli/vitest-process.ts'
import { writeReportFile } from '../src/node/report-files.ts'
import { resolveOptions } from '../src/options.ts'
import { buildModel } from '../src/report/html/build.ts'
import { f16Twin, timeOf } from '../src/report/html/figures.ts'
import { markdownPathFor, renderReport, writeReport } from '../src/report/html/index.ts'
import { type Measurement, mergeContents, type ReportInputs, readInputs } from '../src/report/html/inputs.ts'
import type { ReportModel, TableBlock } from '../src/report/html/model.ts'
import { loadPublished, PUBLISHED_PATH, validatePublished } from '../src/report/html/published.ts'
import { writeRunReport } from '../src/report/html/run-report.ts'
import { chooseHeadline } from '../src/report/html/sections/blog.ts'
import { trainingNotes } from '../src/report/html/training-notes.ts'
import { jsonReport } from '../src/report/json.ts'
import { markdownTables, modelTables } from './html-report-tables.ts'
import { collected, measuredRecord } from './records.ts'

const FIXTURES = fileURLToPath(new URL('./fixtures/html-report/', import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), 'gpubench-html-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function rawBaseline(name: string): {
  device: Record<string, unknown>
  entries: Record<string, Record<string, unknown>>
} {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))
}

function tableById(model: ReportModel, id: string): TableBlock {
  const found = modelTables(model).find((t) => t.id === id)
  if (!found) throw new Error(`no table ${id}`)
  return found
}

describe('inputs', () => {
  test('a folder of baseline files reads every device and entry, figures unchanged', async () => {
    const inputs = await readInputs([FIXTURES])
    // The folder also holds a JSON report (run-report.json) of two more devices.
    expect(inputs.files.map((f) => f.slice(FIXTURES.length))).toContain('run-report.json')
    const files = [
      'cpu-intel-xeon-f6-m167-2c.json',
      'host-node24-intel-xeon-f6-m167-2c.json',
      'webgpu-vulkan-llvmpipe-intel-xeon-f6-m167-2c.json',
    ]
    expect(inputs.devices.map((d) => d.id)).toEqual(expect.arrayContaining(files.map((f) => f.replace(/\.json$/, ''))))
    let entries = 0
    for (const file of files) {
      const raw = rawBaseline(file)
      for (const [key, entry] of Object.entries(raw.entries)) {
        entries++
        const m = inputs.measurements.find((x) => x.deviceId === raw.device.id && x.key === key)
        expect(m?.stats.medianNs).toBe((entry.stats as { medianNs: number }).medianNs)
        expect(m?.flopPerSecond).toBe(entry.flopPerSecond)
      }
    }
    const run = JSON.parse(readFileSync(join(FIXTURES, 'run-report.json'), 'utf8')) as {
      benchmarks: Array<{
        record: {
          status: string
          key: string
          device?: { id: string }
          notes?: string[]
          entry?: { stats: { medianNs: number } }
        }
      }>
    }
    const measured = run.benchmarks.map((b) => b.record).filter((r) => r.status === 'measured')
    expect(run.benchmarks.length).toBeGreaterThan(measured.length) // skipped backends carry no figures
    for (const r of measured) {
      const m = inputs.measurements.find((x) => x.deviceId === r.device?.id && x.key === r.key)
      expect(m?.stats.medianNs).toBe(r.entry?.stats.medianNs)
      expect(m?.notes).toEqual(r.notes)
    }
    expect(inputs.measurements).toHaveLength(entries + measured.length)
    expect(inputs.devices).toHaveLength(3 + new Set(measured.map((r) => r.device?.id)).size)
  })

  test('a JSON report is read; the later recording of one device and benchmark wins', async () => {
    const raw = rawBaseline('cpu-intel-xeon-f6-m167-2c.json')
    const [key, entry] = Object.entries(raw.entries)[0]!
    const later = {
      ...entry,
      recordedAt: '2099-01-01T00:00:00.000Z',
      stats: { ...(entry.stats as { meanNs: number }), medianNs: 1234 },
    }
    const report = {
      format: 'gpubench-report',
      version: 1,
      benchmarks: [
        { record: { status: 'skipped', key, backend: 'cuda', reason: 'no driver' } },
        {
          record: {
            status: 'measured',
            key,
            backend: 'cpu',
            device: raw.device,
            peak: { bytesPerSecond: 5e10 },
            entry: later,
            stoppedBy: 'fixed-count',
            notes: ['launch: something own'],
          },
        },
      ],
    }
    const file = join(scratch, 'report.json')
    writeFileSync(file, JSON.stringify(report))
    const inputs = await readInputs([join(FIXTURES, 'cpu-intel-xeon-f6-m167-2c.json'), file])
    const m = inputs.measurements.find((x) => x.key === key)!
    expect(m.stats.medianNs).toBe(1234)
    expect(m.stoppedBy).toBe('fixed-count')
    expect(timeOf(m)).toEqual({ ns: later.stats.meanNs, statistic: 'mean' })
    expect(inputs.replaced).toBe(1)
    // The report's peak reaches the device facts (a baseline file never has one).
    expect(inputs.devices[0]?.peak).toEqual({ bytesPerSecond: 5e10 })
  })

  test('a bad input is refused with its path and pointer', async () => {
    const bad = join(scratch, 'bad.json')
    writeFileSync(
      bad,
      JSON.stringify({
        format: 'gpubench-report',
        version: 1,
        benchmarks: [
          {
            record: {
              status: 'measured',
              key: 'k',
              device: { id: 'd', backend: 'cpu', name: 'n' },
              entry: { backend: 'cpu', target: 't', timing: 'x', stats: { medianNs: -1 } },
            },
          },
        ],
      }),
    )
    await expect(readInputs([bad])).rejects.toThrow(/bad\.json at \/benchmarks\/0\/record\/entry\/stats\/medianNs/)
    writeFileSync(bad, '{"hello": 1}')
    await expect(readInputs([bad])).rejects.toThrow(/neither a gpubench JSON report/)
    await expect(readInputs([join(scratch, 'missing.json')])).rejects.toThrow(/no such file or folder/)
    await expect(readInputs([])).rejects.toThrow(/no input/)
  })
})

describe('published figures', () => {
  test('the data file is valid and names its sources and caveats', async () => {
    const published = await loadPublished()
    expect(published.sources.paper.reference).toMatch(/arXiv/)
    expect(published.sources.blog.caveats.length).toBeGreaterThan(0)
    expect(published.table6.rows.length).toBeGreaterThan(0)
  })

  test('a wrong edit fails with its pointer', () => {
    const data = JSON.parse(readFileSync(PUBLISHED_PATH, 'utf8'))
    data.table6.rows[1].coldMs = '0.9'
    expect(() => validatePublished(data)).toThrow(/\/table6\/rows\/1\/coldMs/)
    expect(() => validatePublished({ ...data, version: 2 })).toThrow(/version/)
  })
})

describe('the model', () => {
  let inputs: ReportInputs
  let model: ReportModel

  test('sections appear where the fixtures have data; training is absent without training records', async () => {
    inputs = await readInputs([FIXTURES])
    model = buildModel(inputs, await loadPublished(), { createdAt: '2026-12-03T00:00:00.000Z' })
    expect(model.sections.map((s) => s.id)).toEqual(['devices', 'throughput', 'launch', 'training', 'blog', 'sources'])
    const untrained = { ...inputs, measurements: inputs.measurements.filter((m) => !m.key.startsWith('training/')) }
    expect(buildModel(untrained, await loadPublished()).sections.map((s) => s.id)).toEqual([
      'devices',
      'throughput',
      'launch',
      'blog',
      'sources',
    ])
    // The sources' caveats are shown, from the data file.
    const sources = tableById(model, 'sources-published')
    const published = await loadPublished()
    expect(sources.rows.map((r) => r[3])).toEqual([
      published.sources.paper.caveats.join(' '),
      published.sources.blog.caveats.join(' '),
    ])
    // Published bars never share a chart with measured ones: a measured chart's devices are the
    // inputs' devices, a published chart's are the sources' own.
    const ids = new Set(inputs.devices.map((d) => d.id))
    const charts = model.sections.flatMap((s) => s.blocks).filter((b) => b.kind === 'chart')
    expect(charts.filter((c) => c.published).length).toBeGreaterThan(0)
    for (const chart of charts) {
      const devices = (chart.spec as { data: { values: Array<{ device?: string }> } }).data.values
        .map((v) => v.device)
        .filter((d): d is string => d !== undefined)
      for (const device of devices) expect(ids.has(device), `${chart.id}: ${device}`).toBe(!chart.published)
    }
    // Published rows never share a table with measured ones.
    for (const t of modelTables(model).filter((x) => x.published)) expect(t.columns[0]).toMatch(/\(published\)/)
    for (const t of modelTables(model).filter((x) => !x.published)) {
      for (const row of t.rows)
        expect(inputs.devices.map((d) => d.id)).toContain(row.find((c) => inputs.devices.some((d) => d.id === c)))
    }
  })

  test('every launch row states what was timed on its backend', () => {
    const launch = tableById(model, 'launch-measured')
    const launches = inputs.measurements.filter((m) => m.workload?.kind === 'launch')
    expect(launch.rows).toHaveLength(launches.length)
    const what = launch.columns.indexOf('what was timed')
    expect(launch.rows.find((r) => r[1] === 'webgpu')?.[what]).toMatch(/dispatches .* one compute pass/)
    expect(launch.rows.find((r) => r[1] === 'cpu')?.[what]).toMatch(/helper thread/)
    // Where the record carries the backend's own note on its launch (JSON reports), the row quotes it.
    for (const m of launches.filter((x) => x.notes.some((n) => n.startsWith('launch:')))) {
      const note = m.notes
        .find((n) => n.startsWith('launch:'))!
        .slice('launch:'.length)
        .trim()
      expect(launch.rows.find((r) => r[0] === m.deviceId)?.[what]).toBe(note)
    }
  })

  test('the blog charts compare the headline benchmark, speed-ups against the CPU run, from the data', () => {
    const headline = chooseHeadline(inputs.measurements)!
    expect(headline).toMatch(/f32/)
    const f32 = inputs.measurements.filter((m) => m.key === headline)
    const blog = model.sections.find((s) => s.id === 'blog')!
    const speedup = blog.blocks.find((b) => b.id === 'blog-speedup')
    expect(speedup?.kind).toBe('chart')
    const values = (speedup as { spec: { data: { values: Array<{ device: string; speedup: number }> } } }).spec.data
      .values
    // A device of a JSON report is compared with the CPU run of that report (same machine, same
    // run); one from a baseline file with the first CPU device.
    const firstCpu = f32.find((m) => m.backend === 'cpu')!
    const reference = (m: Measurement) =>
      (m.sourceKind === 'report' ? f32.find((x) => x.backend === 'cpu' && x.source === m.source) : undefined) ??
      firstCpu
    for (const m of f32) {
      expect(values.find((v) => v.device === m.deviceId)?.speedup).toBeCloseTo(
        reference(m).stats.medianNs / m.stats.medianNs,
        12,
      )
    }
    const table = tableById(model, 'blog-speedup-table')
    const lavapipeOfRun = f32.find((m) => m.sourceKind === 'report' && m.backend === 'webgpu')!
    const cpuOfRun = f32.find((m) => m.sourceKind === 'report' && m.backend === 'cpu')!
    expect(cpuOfRun.deviceId).not.toBe(firstCpu.deviceId)
    expect(table.rows.find((r) => r[0] === lavapipeOfRun.deviceId)?.[1]).toBe(cpuOfRun.deviceId)
    const gains = tableById(model, 'blog-f16-table')
    for (const row of gains.rows) {
      const m32 = f32.find((m) => m.deviceId === row[0])!
      const m16 = inputs.measurements.find((m) => m.deviceId === row[0] && m.key === f16Twin(headline))!
      expect(Number(row[3])).toBeCloseTo(1 - m16.stats.medianNs / m32.stats.medianNs, 2)
      expect(Number(row[4])).toBeCloseTo(m32.stats.medianNs / m16.stats.medianNs, 2)
    }
  })

  test('the real training records of the JSON report: phases, tokens/s and why energy is missing', () => {
    const steps = inputs.measurements.filter((m) => m.key.startsWith('training/'))
    expect(steps.length).toBeGreaterThan(0)
    const t = tableById(model, 'training-memory-energy')
    for (const m of steps) {
      const row = t.rows.find((r) => r[1] === m.key && r[0] === m.deviceId)!
      const tokens = /([\d.]+) tokens\/s/.exec(m.notes.join('\n'))![1]!
      expect(Number(row[t.columns.indexOf('tokens/s')])).toBe(Math.round(Number(tokens)))
      const energy = m.notes.find((n) => n.startsWith('energy:'))!.slice('energy: '.length)
      if (energy.startsWith('unavailable')) expect(row[t.columns.indexOf('J per step')]).toBe(energy)
    }
    const phases = model.sections.flatMap((s) => s.blocks).find((b) => b.id === 'training-phases')
    expect(phases?.kind === 'chart' && phases.marks).toBe(steps.length * 3)
  })

  test('f16 speed-ups are split into compute-bound and memory-bound work', () => {
    const t = tableById(model, 'fp16-by-bound')
    expect(new Set(t.rows.map((r) => r[1]))).toEqual(new Set(['compute-bound', 'memory-bound']))
  })

  test('training records get their section: time per step, the phases, memory and energy from core’s notes', async () => {
    const measurements = inputs.measurements.filter((x) => !x.key.startsWith('training/'))
    const base = measurements[0]!
    const w = train({ model: QUICK_MODEL, batch: 8, seq: 64, dtype: 'f32' })
    const step = (i: number): TrainStepRecord => ({
      stepNs: 9e6 + i,
      forwardNs: 3e6,
      backwardNs: 5e6 + i,
      optimizerNs: 1e6,
      loss: 5 - i / 10,
      rssBytes: 2e8,
      minorFaults: 12,
      majorFaults: 0,
      lossScale: 1,
      skipped: false,
      energyJoules: 0.5,
    })
    const figures = trainFigures(w, [step(0), step(1), step(2)])
    const session = { energy: 'reported', peakRssBytes: () => 2.5e8 } as unknown as TrainingSession
    const key = `training/quick/${describeTrain(w)}`
    const record: Measurement = {
      ...base,
      key,
      target: describeTrain(w),
      workload: null,
      notes: trainFigureNotes(w, figures, session),
    }
    const withTraining = mergeContents([{ devices: [...inputs.devices], measurements: [...measurements, record] }], [])
    const m = buildModel(withTraining, await loadPublished())
    expect(m.sections.map((s) => s.id)).toContain('training')
    expect(tableById(m, 'training-measured').rows).toEqual([
      expect.arrayContaining([base.deviceId, key, '8', '64', 'f32']),
    ])
    const phases = m.sections.flatMap((s) => s.blocks).find((b) => b.id === 'training-phases')
    const values = (phases as { spec: { data: { values: Array<{ phase: string; ms: number }> } } }).spec.data.values
    // The notes print three significant digits.
    expect(values.map((v) => v.phase)).toEqual(['forward', 'backward', 'optimizer'])
    const medians = [figures.medianForwardNs, figures.medianBackwardNs, figures.medianOptimizerNs]
    for (const [i, v] of values.entries()) expect(Math.abs(v.ms / (medians[i]! / 1e6) - 1)).toBeLessThan(0.005)
    const [row] = tableById(m, 'training-memory-energy').rows
    const columns = tableById(m, 'training-memory-energy').columns
    const cell = (name: string) => row![columns.indexOf(name)]
    expect(Number(cell('J per step'))).toBeCloseTo(figures.joulesPerStep!, 3)
    // Cells print three significant digits.
    const near = (text: string | undefined, value: number) =>
      expect(Math.abs(Number(text) / value - 1)).toBeLessThan(0.005)
    near(cell('tokens per J'), (8 * 64) / figures.joulesPerStep!)
    expect(Number(cell('minor faults/step'))).toBe(figures.minorFaultsPerStep)
    near(cell('tokens/s'), figures.tokensPerSecond)
    expect(tableById(m, 'training-published').published).toBe(true)
    // A training record read from a baseline file has no notes: the time table only.
    const bare = buildModel(
      mergeContents([{ devices: [...inputs.devices], measurements: [{ ...record, notes: [] }] }], []),
      await loadPublished(),
    )
    expect(modelTables(bare).map((t) => t.id)).not.toContain('training-memory-energy')
  })

  test('energy a backend cannot measure is said with its reason', () => {
    const w = train({ model: QUICK_MODEL, batch: 8, seq: 64, dtype: 'f16' })
    const figures = trainFigures(w, [
      {
        stepNs: 1e6,
        forwardNs: 4e5,
        backwardNs: 5e5,
        optimizerNs: 1e5,
        loss: 1,
        rssBytes: 1e8,
        minorFaults: 1,
        majorFaults: 0,
        lossScale: 4096,
        skipped: false,
        energyJoules: null,
      },
    ])
    const session = { energy: 'unavailable: no RAPL counters', peakRssBytes: () => 1e8 } as unknown as TrainingSession
    const notes = trainingNotes(trainFigureNotes(w, figures, session))
    expect(notes.joulesPerStep).toBeNull()
    expect(notes.energyUnavailable).toBe('unavailable: no RAPL counters')
    expect(notes.forwardNs).toBeCloseTo(4e5, -3)
    expect(trainingNotes([])).toMatchObject({ forwardNs: null, rss: null, energyUnavailable: null })
  })
})

describe('the written report', () => {
  test('the markdown version has the same tables, cell for cell, as the model the page is written from', async () => {
    const { html, markdown, report } = await writeReport([FIXTURES], join(scratch, 'out', 'report.html'))
    expect(markdown).toBe(join(scratch, 'out', 'report.md'))
    const written = readFileSync(markdown, 'utf8')
    const tables = modelTables(report.model)
    expect(markdownTables(written)).toEqual(tables.map((t) => [[...t.columns], ...t.rows.map((r) => [...r])]))
    const page = readFileSync(html, 'utf8')
    // Self-contained: no script, no external resource.
    expect(page).not.toMatch(/<script|<link|\ssrc=|url\(/i)
    expect(page.match(/<table data-table=/g)).toHaveLength(tables.length)
  })

  test('markdown cells with pipes survive the round trip', async () => {
    const inputs = await readInputs([FIXTURES])
    const renamed = inputs.measurements.map((m) => ({
      ...m,
      deviceId: m.deviceId === inputs.devices[0]!.id ? 'a|b' : m.deviceId,
    }))
    const { model, markdown } = await renderReport({ ...inputs, measurements: renamed, devices: inputs.devices })
    expect(markdownTables(markdown)).toEqual(
      modelTables(model).map((t) => [[...t.columns], ...t.rows.map((r) => [...r])]),
    )
  })

  test('paths: the markdown twin sits beside the page', () => {
    expect(markdownPathFor('/x/r.html')).toBe('/x/r.md')
    expect(markdownPathFor('/x/r')).toBe('/x/r.md')
  })
})

describe('gpubench report arguments', () => {
  test('inputs, --out and the blog options', () => {
    expect(parseReportArgs(['a.json', '--out', 'o.html', '--headline=k f32', 'dir'], '/w')).toEqual({
      inputs: ['/w/a.json', '/w/dir'],
      out: '/w/o.html',
      headline: 'k f32',
    })
  })

  test('gpubench report writes both files; an unknown benchmark or input is one line and exit 2', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const out = join(scratch, 'cli', 'r.html')
      expect(await main(['report', FIXTURES, '--out', out, '--cpu-device', 'cpu-intel-xeon-f6-m167-2c'])).toBe(0)
      expect(readFileSync(out, 'utf8')).toMatch(/Speed-up against the CPU run \(cpu-intel-xeon-f6-m167-2c\)/)
      expect(readFileSync(join(scratch, 'cli', 'r.md'), 'utf8')).toMatch(/^# gpubench report/)
      expect(log.mock.calls.at(-1)?.[0]).toMatch(/^gpubench report: wrote .*r\.html and .*r\.md/)
      expect(await main(['report', FIXTURES, '--out', out, '--headline', 'no such f32'])).toBe(2)
      expect(error.mock.calls.at(-1)?.[0]).toMatch(/^gpubench report: no input measured the benchmark "no such f32"$/)
      expect(await main(['report', join(scratch, 'nothing-here')])).toBe(2)
      expect(error.mock.calls.at(-1)?.[0]).toMatch(/nothing-here: no such file or folder/)
    } finally {
      log.mockRestore()
      error.mockRestore()
    }
  })

  test('mistakes are CliErrors naming them', () => {
    expect(() => parseReportArgs(['--out'], '/w')).toThrow(CliError)
    expect(() => parseReportArgs(['--bogus', 'a'], '/w')).toThrow(/unknown option "--bogus"/)
    expect(() => parseReportArgs(['--out', 'a', '--out', 'b', 'x'], '/w')).toThrow(/twice/)
    expect(() => parseReportArgs([], scratch)).toThrow(/no input given/)
  })
})

describe('the htmlReport option', () => {
  test('from the option or $GPUBENCH_HTML_REPORT; a blank path is refused', () => {
    expect(resolveOptions({ htmlReport: 'out/r.html' }, {}).htmlReport).toBe('out/r.html')
    expect(resolveOptions({}, { GPUBENCH_HTML_REPORT: 'env.html' }).htmlReport).toBe('env.html')
    expect(resolveOptions({}, {}).htmlReport).toBeNull()
    expect(() => resolveOptions({ htmlReport: ' ' }, {})).toThrow(/htmlReport/)
  })

  test("a run's records become its report: the page and its markdown twin; an unwritable path is one line", async () => {
    const raw = rawBaseline('cpu-intel-xeon-f6-m167-2c.json')
    const records = Object.entries(raw.entries).map(([key, entry]) =>
      collected(
        measuredRecord({
          key,
          backend: 'cpu',
          device: raw.device as never,
          entry: entry as never,
          stoppedBy: 'noise',
        }),
      ),
    )
    const report = jsonReport(
      records.map((c) => ({ collected: c, outcome: { kind: 'not-requested' } as const })),
      { createdAt: '2026-12-03T00:00:00.000Z', update: 'none', commit: null, errors: [] },
    )
    const write = (file: string, text: string) => writeReportFile({ source: 'htmlReport', file, how: 'write' }, text)
    const html = join(scratch, 'run', 'report.html')
    expect(await writeRunReport(report, html, write)).toEqual([])
    const markdown = readFileSync(join(scratch, 'run', 'report.md'), 'utf8')
    expect(markdown).toMatch(/## Throughput per suite/)
    expect(markdown).toMatch(/## Kernel launch latency/)
    expect(readFileSync(html, 'utf8')).toMatch(/data-chart="throughput-matmul"/)
    // A folder where the file should be: one line naming the option and the path.
    const problems = await writeRunReport(report, scratch, write)
    expect(problems[0]).toMatch(/^gpubench: could not write htmlReport ".*gpubench-html-/)
  })
})
