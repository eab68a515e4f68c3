import { spawnSync } from 'node:child_process'
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { firstInvalidUtf8 } from '../src/store/baseline-store.ts'
import {
  type BaselineEntry,
  BaselineError,
  baselinePath,
  loadBaseline,
  MAX_RECORDED_RUNS,
  runSummaryOf,
  runsOf,
  updateBaseline,
} from '../src/store/index.ts'
import { sampleDevice, sampleEntry } from './fixtures/baseline-samples.ts'

const FIXTURES = fileURLToPath(new URL('./fixtures/baselines/', import.meta.url))
const ID = 'cpu-amd-epyc-2c'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gpubench-store-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The two entries of the committed fixture, built in code. */
function fixtureEntries(): Record<string, BaselineEntry> {
  return {
    'gemv-f32': {
      ...sampleEntry(168_000, 'gemv 2000x2000 f32'),
      workload: { kind: 'gemv', m: 2000, n: 2000, dtype: 'f32', trans: false },
      flopPerSecond: (2 * 2000 * 2000) / 168e-6,
      bytesPerSecond: (4 * 2000 * 2000) / 168e-6,
      coldNs: null,
      commit: null,
    },
    'bmm-f32': sampleEntry(680_000_000, 'gemm 8x2000x2000x2000 f32'),
  }
}

async function rejection(promise: Promise<unknown>): Promise<BaselineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaselineError)
  return error as BaselineError
}

/** A pid that surely belongs to no running process: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

describe('baselinePath', () => {
  it('is <dir>/<device-id>.json', () => {
    expect(baselinePath('baselines', ID)).toBe(path.join('baselines', `${ID}.json`))
  })

  it('refuses ids that are not safe file names', () => {
    for (const id of ['', '../cpu', 'a/b', 'a\\b', 'CPU', 'con', 'cpu.x', 'a'.repeat(101)]) {
      expect(() => baselinePath(dir, id), id).toThrow(BaselineError)
      expect(() => baselinePath(dir, id), id).toThrow(/unsafe device id/)
    }
  })
})

describe('updateBaseline: format', () => {
  it('writes the canonical file: schema field order, sorted keys, 2-space indentation, trailing newline', async () => {
    // Fields and keys given in a scrambled order.
    const device = sampleDevice()
    const scrambled = {
      details: { memoryBytes: 25276063744, gemm: 'openblas', cores: 2 },
      architecture: device.architecture,
      vendor: device.vendor,
      name: device.name,
      backend: device.backend,
      id: device.id,
    }
    const entries = fixtureEntries()
    const reversed = Object.fromEntries(
      Object.entries(entries).map(([key, entry]) => [key, Object.fromEntries(Object.entries(entry).reverse())]),
    ) as Record<string, BaselineEntry>
    await updateBaseline(dir, scrambled, reversed)
    const written = await readFile(baselinePath(dir, ID), 'utf8')
    expect(written).toBe(await readFile(path.join(FIXTURES, `${ID}.json`), 'utf8'))
    expect(written.endsWith('}\n')).toBe(true)
    expect(written).toBe(`${JSON.stringify(JSON.parse(written), null, 2)}\n`)
  })

  it('sorts integer-like keys as strings, unlike a JavaScript object', async () => {
    await updateBaseline(dir, sampleDevice(), { '10': sampleEntry(), '9': sampleEntry(), b: sampleEntry() })
    const written = await readFile(baselinePath(dir, ID), 'utf8')
    const entriesText = written.slice(written.indexOf('"entries"'))
    const keys = [...entriesText.matchAll(/^ {4}"([^"]+)": \{$/gm)].map((m) => m[1])
    expect(keys).toEqual(['10', '9', 'b'])
  })

  it('drops optional fields passed as undefined and device fields outside the schema', async () => {
    const device = { ...sampleDevice(), vendor: undefined, driver: undefined, peak: { bytesPerSecond: 1e11 } }
    const written = await updateBaseline(dir, device as never, { a: sampleEntry() })
    expect(Object.keys(written.device)).toEqual(['id', 'backend', 'name', 'architecture', 'details'])
    const text = await readFile(baselinePath(dir, ID), 'utf8')
    expect(text).not.toMatch(/vendor|driver|peak/)
  })
})

describe('updateBaseline: merging', () => {
  it('sets the given entries and keeps the others', async () => {
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry(100), b: sampleEntry(200) })
    const result = await updateBaseline(dir, sampleDevice(), { b: sampleEntry(250), c: sampleEntry(300) })
    const loaded = await loadBaseline(dir, ID)
    expect(loaded).toEqual(result)
    expect(Object.keys(loaded!.entries)).toEqual(['a', 'b', 'c'])
    expect(loaded!.entries.a!.stats.medianNs).toBe(100)
    expect(loaded!.entries.b!.stats.medianNs).toBe(250)
    expect(loaded!.entries.c!.stats.medianNs).toBe(300)
  })

  it('changes only the lines of the entry that changed', async () => {
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    const before = (await readFile(baselinePath(dir, ID), 'utf8')).split('\n')
    await updateBaseline(dir, sampleDevice(), { 'gemv-f32': { ...fixtureEntries()['gemv-f32']!, coldNs: 5000 } })
    const after = (await readFile(baselinePath(dir, ID), 'utf8')).split('\n')
    expect(after.length).toBe(before.length)
    const changed = after.filter((line, i) => line !== before[i])
    expect(changed).toEqual(['      "coldNs": 5000,'])
  })

  it('does not write at all when the content is identical: bytes, inode and mtime unchanged, no lock taken', async () => {
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    const file = baselinePath(dir, ID)
    const past = new Date('2026-01-01T00:00:00Z')
    await utimes(file, past, past)
    const before = await stat(file)
    const bytes = await readFile(file)
    const result = await updateBaseline(dir, sampleDevice(), { 'bmm-f32': fixtureEntries()['bmm-f32']! })
    const after = await stat(file)
    expect(after.mtimeMs).toBe(past.getTime())
    expect(after.ino).toBe(before.ino)
    expect(await readFile(file)).toEqual(bytes)
    expect(Object.keys(result.entries)).toEqual(['bmm-f32', 'gemv-f32'])
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })

  it('rewrites a valid file that is not in canonical form', async () => {
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    const file = baselinePath(dir, ID)
    const canonical = await readFile(file, 'utf8')
    await writeFile(file, JSON.stringify(JSON.parse(canonical)))
    await updateBaseline(dir, sampleDevice(), {})
    expect(await readFile(file, 'utf8')).toBe(canonical)
  })

  it('writes only the device own file; other devices files stay untouched', async () => {
    const other = sampleDevice('webgpu-vulkan-llvmpipe')
    await updateBaseline(dir, other, { a: sampleEntry(1) })
    const otherFile = baselinePath(dir, other.id)
    const past = new Date('2026-01-01T00:00:00Z')
    await utimes(otherFile, past, past)
    const otherBytes = await readFile(otherFile)
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry(2) })
    expect(await readFile(otherFile)).toEqual(otherBytes)
    expect((await stat(otherFile)).mtimeMs).toBe(past.getTime())
    expect((await loadBaseline(dir, ID))!.entries.a!.stats.medianNs).toBe(2)
    expect((await readdir(dir)).sort()).toEqual([`${ID}.json`, 'webgpu-vulkan-llvmpipe.json'])
  })

  it('creates the directory when needed', async () => {
    const nested = path.join(dir, 'a', 'baselines')
    await updateBaseline(nested, sampleDevice(), { a: sampleEntry() })
    expect(await loadBaseline(nested, ID)).not.toBeNull()
  })
})

describe('updateBaseline: runs', () => {
  const at = (minute: number): string => `2026-12-02T20:${String(minute).padStart(2, '0')}:00.000Z`
  const run = (medianNs: number, minute: number): BaselineEntry => ({
    ...sampleEntry(medianNs),
    recordedAt: at(minute),
  })

  it('replaces by default: the runs are the given entry own', async () => {
    await updateBaseline(dir, sampleDevice(), { a: { ...run(100, 0), runs: [runSummaryOf(run(100, 0))] } })
    await updateBaseline(dir, sampleDevice(), { a: { ...run(120, 1), runs: [runSummaryOf(run(120, 1))] } })
    const entry = (await loadBaseline(dir, ID))!.entries.a!
    expect(entry.runs!.map((r) => r.medianNs)).toEqual([120])
  })

  it('adds the run to the stored ones with appendRuns, oldest first, the entry itself the latest', async () => {
    await updateBaseline(dir, sampleDevice(), { a: run(100, 0), b: run(7, 0) }) // stored without a list: one run
    await updateBaseline(dir, sampleDevice(), { a: run(110, 1) }, { appendRuns: true })
    await updateBaseline(dir, sampleDevice(), { a: run(90, 2), c: run(5, 2) }, { appendRuns: true })
    const loaded = (await loadBaseline(dir, ID))!
    const a = loaded.entries.a!
    expect(a.runs!.map((r) => [r.medianNs, r.recordedAt])).toEqual([
      [100, at(0)],
      [110, at(1)],
      [90, at(2)],
    ])
    expect(a.stats.medianNs).toBe(90)
    expect(a.recordedAt).toBe(at(2))
    expect(runsOf(a)).toHaveLength(3)
    // A new entry starts its list; an entry this update did not carry is untouched.
    expect(loaded.entries.c!.runs!.map((r) => r.medianNs)).toEqual([5])
    expect(loaded.entries.b!.runs).toBeUndefined()
    expect(runsOf(loaded.entries.b!).map((r) => r.medianNs)).toEqual([7])
  })

  it(`keeps the latest ${MAX_RECORDED_RUNS} runs`, async () => {
    await updateBaseline(dir, sampleDevice(), { a: run(1000, 0) })
    for (let i = 1; i <= MAX_RECORDED_RUNS + 2; i++) {
      await updateBaseline(dir, sampleDevice(), { a: run(1000 + i, i) }, { appendRuns: true })
    }
    const runs = (await loadBaseline(dir, ID))!.entries.a!.runs!
    expect(runs).toHaveLength(MAX_RECORDED_RUNS)
    expect(runs[0]!.medianNs).toBe(1003)
    expect(runs.at(-1)!.medianNs).toBe(1000 + MAX_RECORDED_RUNS + 2)
  })

  it('refuses to add a run of another target, backend or timing, and writes nothing', async () => {
    await updateBaseline(dir, sampleDevice(), { a: run(100, 0) })
    const before = await readFile(baselinePath(dir, ID), 'utf8')
    const other = { ...run(100, 1), target: 'gemm 8x1000x1000x1000 f32' }
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: other }, { appendRuns: true }))
    expect(error.pointer).toBe('/entries/a')
    expect(error.message).toMatch(
      /refusing to add a run: the stored entry measured "gemm 8x2000x2000x2000 f32".*record it afresh with -u/,
    )
    const timing = { ...run(100, 1), timing: 'webgpu-timestamps' }
    await rejection(updateBaseline(dir, sampleDevice(), { a: timing }, { appendRuns: true }))
    expect(await readFile(baselinePath(dir, ID), 'utf8')).toBe(before)
  })

  it('refuses a file whose runs are malformed, naming the pointer', async () => {
    const bad = { ...run(100, 0), runs: [{ ...runSummaryOf(run(100, 0)), medianNs: 0 }] } as unknown as BaselineEntry
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: bad }))
    expect(error.pointer).toBe('/entries/a/runs/0/medianNs')
  })
})

describe('updateBaseline: refusals leave the file as it was', () => {
  it('refuses to merge into a file named for this device that holds another device', async () => {
    const file = baselinePath(dir, ID)
    const foreign = JSON.parse(await readFile(path.join(FIXTURES, `${ID}.json`), 'utf8'))
    foreign.device.id = 'cpu-intel-core-i7-8700-12c'
    const text = `${JSON.stringify(foreign, null, 2)}\n`
    await writeFile(file, text)
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }))
    expect(error.file).toBe(file)
    expect(error.pointer).toBe('/device/id')
    expect(error.message).toMatch(/holds device "cpu-intel-core-i7-8700-12c" but is named for device "cpu-amd-epyc-2c"/)
    expect(await readFile(file, 'utf8')).toBe(text)
  })

  it('refuses to merge into an invalid or unsupported file', async () => {
    const file = baselinePath(dir, ID)
    await writeFile(file, '{"schemaVersion": 2}')
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }))
    expect(error.message).toMatch(/unsupported schemaVersion 2; this version of gpubench reads schemaVersion 1/)
    await writeFile(file, '{"schemaVersion": 1,')
    const malformed = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }))
    expect(malformed.message).toMatch(/malformed JSON: .* at line 1, column 21/)
    expect(await readFile(file, 'utf8')).toBe('{"schemaVersion": 1,')
  })

  it('refuses an unsafe device id before touching the disk', async () => {
    const error = await rejection(updateBaseline(dir, sampleDevice('../escape'), { a: sampleEntry() }))
    expect(error.pointer).toBe('/device/id')
    expect(error.message).toMatch(/unsafe device id "..\/escape"/)
    expect(await readdir(dir)).toEqual([])
  })

  it('refuses bad entries, naming the field by its JSON pointer', async () => {
    await updateBaseline(dir, sampleDevice(), { keep: sampleEntry() })
    const file = baselinePath(dir, ID)
    const before = await readFile(file, 'utf8')
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { 'bmm-f32': { ...sampleEntry(), stats: { ...sampleEntry().stats, medianNs: -3 } } },
        '/entries/bmm-f32/stats/medianNs',
        /refusing to write: must be >= 0.000001, got -3/,
      ],
      [
        { 'bmm-f32': { ...sampleEntry(), stats: { ...sampleEntry().stats, p99Ns: Number.NaN } } },
        '/entries/bmm-f32/stats/p99Ns',
        /refusing to write NaN: not a finite number/,
      ],
      [
        { 'bmm-f32': { ...sampleEntry(), flopPerSecond: Number.POSITIVE_INFINITY } },
        '/entries/bmm-f32/flopPerSecond',
        /not a finite number/,
      ],
      [{ 'bmm-f32': { ...sampleEntry(), extra: 1 } }, '/entries/bmm-f32/extra', /unknown field/],
      [
        { 'bmm-f32': { ...sampleEntry(), recordedAt: new Date() } },
        '/entries/bmm-f32/recordedAt',
        /instance of Date: only plain objects/,
      ],
      [
        { 'bmm-f32': { ...sampleEntry(), workload: { kind: 'gemm', m: 10n } } },
        '/entries/bmm-f32/workload/m',
        /refusing to write a bigint/,
      ],
      [{ 'bmm-f32': undefined }, '/entries/bmm-f32', /the entry is undefined/],
      [{ '': sampleEntry() }, '/entries/', /invalid key "": keys must be non-empty strings/],
    ]
    for (const [entries, pointer, problem] of cases) {
      const error = await rejection(updateBaseline(dir, sampleDevice(), entries as Record<string, BaselineEntry>))
      expect(error.file, pointer).toBe(file)
      expect(error.pointer, pointer).toBe(pointer)
      expect(error.message, pointer).toMatch(problem)
    }
    const cyclic: Record<string, unknown> = { kind: 'gemm' }
    cyclic.self = cyclic
    const error = await rejection(
      updateBaseline(dir, sampleDevice(), { x: { ...sampleEntry(), workload: cyclic } } as Record<
        string,
        BaselineEntry
      >),
    )
    expect(error.message).toMatch(/cyclic/)
    expect(await readFile(file, 'utf8')).toBe(before)
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })

  it('refuses entries or a device that are not objects', async () => {
    expect((await rejection(updateBaseline(dir, sampleDevice(), [] as never))).message).toMatch(
      /entries must be a plain object/,
    )
    expect((await rejection(updateBaseline(dir, null as never, {}))).message).toMatch(/device must be an object/)
  })
})

describe('medians and intervals that cannot be', () => {
  /** A valid file of two entries, then `edit` applied to its text. */
  async function fileWith(edit: (text: string) => string): Promise<string> {
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    const file = baselinePath(dir, ID)
    await writeFile(file, edit(await readFile(file, 'utf8')))
    return file
  }
  /** Replaces the value of `field` in the entry `key` (the first occurrence after the key). */
  function setField(text: string, key: string, field: string, value: string): string {
    const at = text.indexOf(`"${key}": {`)
    const fieldAt = text.indexOf(`"${field}": `, at)
    const end = text.slice(fieldAt).search(/[,\n]/) + fieldAt
    return `${text.slice(0, fieldAt)}"${field}": ${value}${text.slice(end)}`
  }

  const cases: Array<[string, string, string, string, RegExp]> = [
    ['medianNs', '0', 'zero', '/entries/bmm-f32/stats/medianNs', /must be >= 0.000001, got 0/],
    ['medianNs', '-0', 'negative zero', '/entries/bmm-f32/stats/medianNs', /must be >= 0.000001, got 0/],
    ['medianNs', '1e-400', 'denormal-tiny (reads as 0)', '/entries/bmm-f32/stats/medianNs', /must be >= 0.000001/],
    ['medianNs', '5e-324', 'the smallest denormal', '/entries/bmm-f32/stats/medianNs', /must be >= 0.000001/],
    ['medianNs', '-680000000', 'negative', '/entries/bmm-f32/stats/medianNs', /must be >= 0.000001/],
    ['ciLowNs', '0', 'a zero bound', '/entries/bmm-f32/stats/ciLowNs', /must be >= 0.000001, got 0/],
    ['medianNs', '1e300', 'beyond any duration', '/entries/bmm-f32/stats/medianNs', /must be <= 1000000000000000/],
    [
      'ciLowNs',
      '690000000',
      'ciLowNs above the median',
      '/entries/bmm-f32/stats/ciLowNs',
      /ciLowNs 690000000 is above medianNs 680000000: a confidence interval must contain its median/,
    ],
    [
      'ciHighNs',
      '670000000',
      'an interval below its median',
      '/entries/bmm-f32/stats/ciHighNs',
      /ciHighNs 670000000 is below medianNs 680000000/,
    ],
  ]
  it.each(cases)(
    'loadBaseline refuses %s = %s (%s) with the file and pointer',
    async (field, value, _what, pointer, problem) => {
      const file = await fileWith((text) => setField(text, 'bmm-f32', field, value))
      const error = await rejection(loadBaseline(dir, ID))
      expect(error.file).toBe(file)
      expect(error.pointer).toBe(pointer)
      expect(error.message).toMatch(problem)
      expect(error.message.startsWith(`${file} at ${pointer}: `)).toBe(true)
    },
  )

  it('refuses an inverted interval in a run, naming the run', async () => {
    const entry: BaselineEntry = {
      ...sampleEntry(1000),
      runs: [runSummaryOf(sampleEntry(900)), runSummaryOf(sampleEntry(1000))],
    }
    await updateBaseline(dir, sampleDevice(), { a: entry })
    const file = baselinePath(dir, ID)
    const document = JSON.parse(await readFile(file, 'utf8'))
    document.entries.a.runs[0].ciHighNs = 800 // below the first run's median, 900
    await writeFile(file, JSON.stringify(document))
    const error = await rejection(loadBaseline(dir, ID))
    expect(error.pointer).toBe('/entries/a/runs/0/ciHighNs')
    expect(error.message).toMatch(/ciHighNs 800 is below medianNs 900/)
  })

  it('updateBaseline replaces an invalid entry it is given, and keeps the others', async () => {
    const file = await fileWith((text) => setField(text, 'bmm-f32', 'medianNs', '0'))
    const written = await updateBaseline(dir, sampleDevice(), { 'bmm-f32': sampleEntry(700_000_000) })
    expect(written.entries['bmm-f32']?.stats.medianNs).toBe(700_000_000)
    expect(Object.keys(written.entries).sort()).toEqual(['bmm-f32', 'gemv-f32'])
    expect((await loadBaseline(dir, ID))?.entries['gemv-f32']?.stats.medianNs).toBe(168_000)
    expect(await readFile(file, 'utf8')).not.toMatch(/"medianNs": 0\b/)
  })

  it('updateBaseline still refuses a file whose fault lies in an entry it is not given, and writes nothing', async () => {
    const file = await fileWith((text) => setField(text, 'gemv-f32', 'ciLowNs', '999999999'))
    const before = await readFile(file, 'utf8')
    const error = await rejection(updateBaseline(dir, sampleDevice(), { 'bmm-f32': sampleEntry() }))
    expect(error.pointer).toBe('/entries/gemv-f32/stats/ciLowNs')
    expect(await readFile(file, 'utf8')).toBe(before)
    // Both faulty entries given: both replaced.
    await writeFile(file, setField(before, 'bmm-f32', 'medianNs', '-1'))
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    expect((await loadBaseline(dir, ID))?.entries['gemv-f32']?.stats.ciLowNs).toBeLessThan(168_000)
  })

  it('refuses to add runs to an invalid entry', async () => {
    await fileWith((text) => setField(text, 'bmm-f32', 'medianNs', '0'))
    const error = await rejection(
      updateBaseline(dir, sampleDevice(), { 'bmm-f32': sampleEntry() }, { appendRuns: true }),
    )
    expect(error.pointer).toBe('/entries/bmm-f32/stats/medianNs')
  })
})

describe('files that are not regular UTF-8 files', () => {
  it.skipIf(process.platform === 'win32')(
    'refuses a named pipe in place of a baseline at once, naming it, without waiting for a writer (which would hang the test)',
    async () => {
      const file = baselinePath(dir, ID)
      expect(spawnSync('mkfifo', [file]).status).toBe(0)
      const error = await rejection(loadBaseline(dir, ID))
      expect(error.file).toBe(file)
      expect(error.message).toMatch(/not a regular file but a named pipe \(FIFO\)/)
      const write = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }))
      expect(write.message).toMatch(/named pipe/)
    },
  )

  it('refuses a directory in place of a baseline', async () => {
    await mkdir(baselinePath(dir, ID))
    expect((await rejection(loadBaseline(dir, ID))).message).toMatch(/not a regular file but a directory/)
  })

  it('refuses invalid UTF-8 with the byte and line, and -u leaves the bytes as they were', async () => {
    await updateBaseline(dir, sampleDevice(), fixtureEntries())
    const file = baselinePath(dir, ID)
    const text = await readFile(file, 'utf8')
    const at = Buffer.byteLength(text.slice(0, text.indexOf('AMD EPYC')))
    const bytes = Buffer.concat([
      Buffer.from(text.slice(0, text.indexOf('AMD EPYC'))),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(text.slice(text.indexOf('AMD EPYC'))),
    ])
    await writeFile(file, bytes)
    const line = text.slice(0, text.indexOf('AMD EPYC')).split('\n').length
    const error = await rejection(loadBaseline(dir, ID))
    expect(error.file).toBe(file)
    expect(error.message).toContain(`not valid UTF-8: bad byte sequence at byte ${at} (line ${line}): ff fe`)
    await rejection(updateBaseline(dir, sampleDevice(), { 'bmm-f32': sampleEntry(1) }))
    expect(Buffer.compare(await readFile(file), bytes)).toBe(0)
  })

  it('finds the first invalid UTF-8 sequence (overlong, surrogate, beyond U+10FFFF, cut short)', () => {
    const cases: Array<[number[], number]> = [
      [[0x61, 0xc3, 0xa9, 0x62], 4], // "aéb": valid
      [[0xf0, 0x9f, 0x98, 0x80], 4], // an emoji: valid
      [[0x61, 0xc0, 0x80], 1], // overlong NUL
      [[0xe0, 0x80, 0x80], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // beyond U+10FFFF
      [[0x61, 0x62, 0xe2, 0x82], 2], // cut short
      [[0x80], 0], // a lone continuation byte
    ]
    for (const [bytes, offset] of cases) expect(firstInvalidUtf8(Uint8Array.from(bytes)), String(bytes)).toBe(offset)
  })
})

describe.skipIf(process.platform === 'win32')('updateBaseline: links and read-only files', () => {
  it('writes through a symbolic link to its target, and the link stays a link', async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'gpubench-target-'))
    try {
      const target = path.join(elsewhere, 'kept.json')
      await updateBaseline(elsewhere, sampleDevice(), { a: sampleEntry() })
      await rename(baselinePath(elsewhere, ID), target)
      await symlink(target, baselinePath(dir, ID))
      await updateBaseline(dir, sampleDevice(), { b: sampleEntry(2e6) })
      expect((await lstat(baselinePath(dir, ID))).isSymbolicLink()).toBe(true)
      const written = JSON.parse(await readFile(target, 'utf8'))
      expect(Object.keys(written.entries)).toEqual(['a', 'b'])
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    } finally {
      await rm(elsewhere, { recursive: true, force: true })
    }
  })

  it('refuses a link to a missing file, naming the link', async () => {
    await symlink(path.join(dir, 'nowhere.json'), baselinePath(dir, ID))
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }))
    expect(error.file).toBe(baselinePath(dir, ID))
    expect(error.message).toMatch(/symbolic link to a file that cannot be reached/)
  })

  it('refuses to replace a read-only file, and leaves it as it was', async () => {
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() })
    const file = baselinePath(dir, ID)
    await chmod(file, 0o444)
    const before = await readFile(file, 'utf8')
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry(2e6) }))
    expect(error.message).toMatch(/refusing to replace a read-only file: make it writable/)
    expect(await readFile(file, 'utf8')).toBe(before)
    // An update that changes nothing writes nothing, so it needs no permission.
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() })
  })
})

describe('updateBaseline and loadBaseline: keys that could pollute prototypes are ordinary entries', () => {
  it('round-trips __proto__, constructor and prototype as entry keys, and a __proto__ inside a workload', async () => {
    const poisoned = { ...sampleEntry(), workload: JSON.parse('{"kind": "gemm", "__proto__": {"polluted": true}}') }
    const entries = JSON.parse('{"__proto__": {}, "constructor": {}, "prototype": {}}') as Record<string, unknown>
    for (const key of Object.keys(entries)) entries[key] = poisoned
    await updateBaseline(dir, sampleDevice(), entries as Record<string, BaselineEntry>)
    const text = await readFile(baselinePath(dir, ID), 'utf8')
    expect(text).toContain('"__proto__": {\n      "target"')
    expect(text).toContain('"__proto__": {\n          "polluted": true')

    const loaded = await loadBaseline(dir, ID)
    expect(Object.keys(loaded!.entries)).toEqual(['__proto__', 'constructor', 'prototype'])
    expect(Object.hasOwn(loaded!.entries, '__proto__')).toBe(true)
    const protoKey = '__proto__'
    expect(loaded!.entries[protoKey]!.target).toBe(sampleEntry().target)
    expect(Object.getPrototypeOf(loaded!.entries)).toBeNull()
    expect(Object.getPrototypeOf(loaded!.entries[protoKey]!.workload)).toBeNull()

    // Merging a new entry reads those keys back and writes them again: still no pollution.
    await updateBaseline(dir, sampleDevice(), { other: sampleEntry() })
    const merged = await loadBaseline(dir, ID)
    expect(Object.keys(merged!.entries)).toEqual(['__proto__', 'constructor', 'other', 'prototype'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('has no inherited entries: a missing key is undefined, even constructor', async () => {
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() })
    const loaded = await loadBaseline(dir, ID)
    expect(loaded!.entries.constructor).toBeUndefined()
    expect('toString' in loaded!.entries).toBe(false)
  })
})

describe('updateBaseline: the lock', () => {
  it('breaks a lock left by a process that no longer exists', async () => {
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry(1) })
    const file = baselinePath(dir, ID)
    const record = { pid: deadPid(), host: os.hostname(), token: 'abandoned', acquiredAtMs: Date.now() }
    await writeFile(`${file}.lock`, JSON.stringify(record))
    // A temporary file of a writer killed mid-write, and a lock record of one killed while locking.
    await writeFile(path.join(dir, `.${ID}.json.${record.pid}-0123abcd.tmp`), '{"schemaVer')
    await writeFile(path.join(dir, `.${ID}.json.lock.${record.pid}-0123abcd.tmp`), '{}')
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry(2) }, { lockTimeoutMs: 2000 })
    expect((await loadBaseline(dir, ID))!.entries.a!.stats.medianNs).toBe(2)
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })

  it('clears a break file left by a process killed while breaking a lock', async () => {
    const file = baselinePath(dir, ID)
    const record = { pid: deadPid(), host: os.hostname(), token: 'abandoned', acquiredAtMs: Date.now() }
    await writeFile(`${file}.lock`, JSON.stringify(record))
    await writeFile(`${file}.lock.break`, '')
    const past = new Date(Date.now() - 10_000)
    await utimes(`${file}.lock.break`, past, past)
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() }, { lockTimeoutMs: 2000 })
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })

  it('breaks an unreadable lock once it is older than the stale age', async () => {
    const file = baselinePath(dir, ID)
    await writeFile(`${file}.lock`, '')
    const past = new Date(Date.now() - 120_000)
    await utimes(`${file}.lock`, past, past)
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() }, { lockTimeoutMs: 2000 })
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })

  it('waits for a live holder, then gives up with an error naming the lock file and its holder', async () => {
    const file = baselinePath(dir, ID)
    const record = { pid: process.pid, host: os.hostname(), token: 'held', acquiredAtMs: Date.now() }
    await writeFile(`${file}.lock`, JSON.stringify(record))
    const started = Date.now()
    const error = await rejection(updateBaseline(dir, sampleDevice(), { a: sampleEntry() }, { lockTimeoutMs: 200 }))
    expect(Date.now() - started).toBeGreaterThanOrEqual(200)
    expect(error.file).toBe(file)
    expect(error.message).toContain(`${file}.lock`)
    expect(error.message).toMatch(new RegExp(`held by pid ${process.pid} on `))
    expect(error.message).toMatch(/delete the lock file/)
    // The holder's lock is not ours to remove; no baseline was written.
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8')).token).toBe('held')
    expect(await loadBaseline(dir, ID)).toBeNull()
  })

  it('takes the lock as soon as the holder releases it', async () => {
    const file = baselinePath(dir, ID)
    const record = { pid: process.pid, host: os.hostname(), token: 'held', acquiredAtMs: Date.now() }
    await writeFile(`${file}.lock`, JSON.stringify(record))
    setTimeout(() => void rm(`${file}.lock`), 100)
    await updateBaseline(dir, sampleDevice(), { a: sampleEntry() }, { lockTimeoutMs: 5000 })
    expect(await loadBaseline(dir, ID)).not.toBeNull()
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  })
})
