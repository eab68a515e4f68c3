/**
 * The published figures (data/published.json): the paper's Tables 1, 4, 5 and 6 and the blog's
 * four charts as printed, with their sources and caveats. Reports show them as reference rows and
 * bars labelled as published, always apart from measured figures.
 *
 * The file is checked when read (format, version, every row's fields and units), so a wrong edit
 * fails loudly rather than drawing a wrong reference bar.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export const PUBLISHED_PATH = fileURLToPath(new URL('../../../data/published.json', import.meta.url))

export interface PublishedSource {
  readonly title: string
  readonly reference: string
  readonly software: string
  readonly caveats: readonly string[]
}

export type SourceId = 'paper' | 'blog'

interface Rows<T> {
  readonly source: SourceId
  readonly title: string
  readonly rows: readonly T[]
}

export interface Published {
  readonly sources: Readonly<Record<SourceId, PublishedSource>>
  readonly table1: Rows<{ device: string; ramGB: number; fp32Tflops: number; launchPriceUsd: number }>
  readonly table4: Rows<{ device: string; framework: string; batch: number; secondsPerPass: number }>
  readonly table5: Rows<{ device: string; joulesPerIteration: number }>
  readonly table6: Rows<{ device: string; framework: string; coldMs: number; followUpMs: number }> & {
    readonly definition: string
  }
  readonly blog: {
    readonly source: SourceId
    readonly timeFp32: Rows<{ device: string; framework: string; seconds: number; note?: string }>
    readonly speedupVsCpu: Rows<{ device: string; framework: string; speedup: number }>
    readonly fp16VsFp32: Rows<{ device: string; framework: string; fp32Seconds: number; fp16Seconds: number }>
    readonly relativeGainFp16: Rows<{ device: string; framework: string; gain: number }>
  }
}

export class PublishedDataError extends Error {
  override name = 'PublishedDataError'
}

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(pointer: string, text: string): never {
  throw new PublishedDataError(`published figures (${PUBLISHED_PATH}) at ${pointer}: ${text}`)
}

/** Checks `value[pointer]` is a table: a source id, a title and rows whose listed fields have the listed types. */
function checkRows(value: unknown, pointer: string, fields: Readonly<Record<string, 'string' | 'number'>>): void {
  if (!isObject(value)) fail(pointer, 'expected an object')
  if (value.source !== undefined && value.source !== 'paper' && value.source !== 'blog') {
    fail(`${pointer}/source`, `unknown source ${JSON.stringify(value.source)}`)
  }
  if (typeof value.title !== 'string') fail(`${pointer}/title`, 'expected a string')
  if (!Array.isArray(value.rows) || value.rows.length === 0) fail(`${pointer}/rows`, 'expected a non-empty array')
  value.rows.forEach((row: unknown, index: number) => {
    if (!isObject(row)) fail(`${pointer}/rows/${index}`, 'expected an object')
    for (const [field, type] of Object.entries(fields)) {
      const v = row[field]
      const ok =
        type === 'number' ? typeof v === 'number' && Number.isFinite(v) && v > 0 : typeof v === 'string' && v !== ''
      if (!ok)
        fail(`${pointer}/rows/${index}/${field}`, `expected a ${type === 'number' ? 'positive number' : 'string'}`)
    }
  })
}

/** Validates parsed published data. Exported for tests. */
export function validatePublished(value: unknown): Published {
  if (!isObject(value) || value.format !== 'gpubench-published') fail('', "expected format 'gpubench-published'")
  if (value.version !== 1) fail('/version', `unsupported version ${JSON.stringify(value.version)}`)
  if (!isObject(value.sources)) fail('/sources', 'expected an object')
  for (const id of ['paper', 'blog']) {
    const source = value.sources[id]
    if (!isObject(source)) fail(`/sources/${id}`, 'missing')
    for (const field of ['title', 'reference', 'software']) {
      if (typeof source[field] !== 'string') fail(`/sources/${id}/${field}`, 'expected a string')
    }
    if (!Array.isArray(source.caveats)) fail(`/sources/${id}/caveats`, 'expected an array of strings')
  }
  const device = { device: 'string' } as const
  checkRows(value.table1, '/table1', { ...device, ramGB: 'number', fp32Tflops: 'number', launchPriceUsd: 'number' })
  checkRows(value.table4, '/table4', { ...device, framework: 'string', batch: 'number', secondsPerPass: 'number' })
  checkRows(value.table5, '/table5', { ...device, joulesPerIteration: 'number' })
  checkRows(value.table6, '/table6', { ...device, framework: 'string', coldMs: 'number', followUpMs: 'number' })
  if (typeof (value.table6 as Json).definition !== 'string') fail('/table6/definition', 'expected a string')
  if (!isObject(value.blog)) fail('/blog', 'expected an object')
  const framework = { ...device, framework: 'string' } as const
  checkRows(value.blog.timeFp32, '/blog/timeFp32', { ...framework, seconds: 'number' })
  checkRows(value.blog.speedupVsCpu, '/blog/speedupVsCpu', { ...framework, speedup: 'number' })
  checkRows(value.blog.fp16VsFp32, '/blog/fp16VsFp32', { ...framework, fp32Seconds: 'number', fp16Seconds: 'number' })
  checkRows(value.blog.relativeGainFp16, '/blog/relativeGainFp16', { ...framework, gain: 'number' })
  return value as unknown as Published
}

export async function loadPublished(path = PUBLISHED_PATH): Promise<Published> {
  return validatePublished(JSON.parse(await readFile(path, 'utf8')))
}

/** "published: <title> (<reference>), <software>" — the label every reference row and bar carries. */
export function publishedLabel(published: Published, source: SourceId): string {
  const s = published.sources[source]
  return `published: ${s.title} (${s.reference}); ${s.software}`
}
