import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  BASELINE_SCHEMA_PATH,
  BASELINE_SCHEMA_VERSION,
  BaselineError,
  loadBaseline,
  SUPPORTED_SCHEMA_VERSIONS,
} from '../src/store/index.ts'
import { JsonSyntaxError, MAX_DEPTH, parseJson } from '../src/store/parse-json.ts'

/** A parsed document that the tests below mutate freely to make it invalid. */
// biome-ignore lint/suspicious/noExplicitAny: the point is to write values the types forbid
type MutableJson = Record<string, any>

const FIXTURES = fileURLToPath(new URL('./fixtures/baselines/', import.meta.url))
const ID = 'cpu-amd-epyc-2c'

interface Schema {
  definitions: Record<
    string,
    { required: string[]; properties: Record<string, Record<string, unknown>>; additionalProperties: unknown }
  >
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gpubench-schema-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The valid fixture as a mutable plain object. */
async function validDocument(): Promise<MutableJson> {
  return JSON.parse(await readFile(path.join(FIXTURES, `${ID}.json`), 'utf8'))
}

/** Writes `text` as this device's file and returns the error loading it raises. */
async function loadError(text: string, id = ID): Promise<BaselineError> {
  await writeFile(path.join(dir, `${id}.json`), text)
  try {
    await loadBaseline(dir, id)
  } catch (error) {
    expect(error).toBeInstanceOf(BaselineError)
    return error as BaselineError
  }
  throw new Error('loadBaseline accepted an invalid file')
}

async function mutatedError(mutate: (doc: MutableJson) => void): Promise<BaselineError> {
  const doc = await validDocument()
  mutate(doc)
  return loadError(JSON.stringify(doc, null, 2))
}

describe('the baseline schema file', () => {
  it('is version 1, the only version read', async () => {
    const schema = JSON.parse(await readFile(BASELINE_SCHEMA_PATH, 'utf8'))
    expect(BASELINE_SCHEMA_VERSION).toBe(1)
    expect(SUPPORTED_SCHEMA_VERSIONS).toEqual([1])
    expect(schema.properties.schemaVersion.const).toBe(BASELINE_SCHEMA_VERSION)
    expect(schema.required).toEqual(['schemaVersion', 'device', 'entries'])
  })

  it('describes SampleStats exactly: every field required, ns fields >= 0 (median and interval 1e-6 to 1e15), n an integer >= 1, ciLevel in (0, 1)', async () => {
    const schema: Schema = JSON.parse(await readFile(BASELINE_SCHEMA_PATH, 'utf8'))
    const stats = schema.definitions.SampleStats!
    const fields = [
      'n',
      'medianNs',
      'meanNs',
      'sdNs',
      'madNs',
      'minNs',
      'maxNs',
      'p25Ns',
      'p75Ns',
      'p99Ns',
      'ciLowNs',
      'ciHighNs',
      'ciLevel',
    ]
    expect(Object.keys(stats.properties)).toEqual(fields)
    expect(stats.required).toEqual(fields)
    expect(stats.additionalProperties).toBe(false)
    expect(stats.properties.n).toMatchObject({ type: 'integer', minimum: 1 })
    expect(stats.properties.ciLevel).toMatchObject({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 })
    const interval = ['medianNs', 'ciLowNs', 'ciHighNs']
    for (const field of fields.filter((f) => f.endsWith('Ns'))) {
      expect(stats.properties[field], field).toMatchObject(
        interval.includes(field) ? { type: 'number', minimum: 1e-6, maximum: 1e15 } : { type: 'number', minimum: 0 },
      )
    }
    for (const field of interval) {
      expect(schema.definitions.RunSummary!.properties[field], field).toMatchObject({ minimum: 1e-6, maximum: 1e15 })
    }
  })

  it('states the unit of every duration and rate in its description', async () => {
    const schema: Schema = JSON.parse(await readFile(BASELINE_SCHEMA_PATH, 'utf8'))
    for (const definition of Object.values(schema.definitions)) {
      for (const [field, property] of Object.entries(definition.properties)) {
        const description = String(property.description ?? '')
        if (field.endsWith('Ns')) expect(description, field).toMatch(/\bns\b|nanoseconds/)
        if (field === 'flopPerSecond') expect(description).toMatch(/floating-point operations per second/)
        if (field === 'bytesPerSecond') expect(description).toMatch(/bytes per second/)
      }
    }
  })
})

describe('loadBaseline: a valid file', () => {
  it('loads the committed fixture', async () => {
    const baseline = await loadBaseline(FIXTURES, ID)
    expect(baseline?.device.id).toBe(ID)
    expect(Object.keys(baseline?.entries ?? {})).toEqual(['bmm-f32', 'gemv-f32'])
    expect(baseline?.entries['bmm-f32']?.stats.medianNs).toBe(680_000_000)
  })

  it('returns null when the device has no file', async () => {
    expect(await loadBaseline(dir, 'cuda-nvidia-h100-80gb-hbm3')).toBeNull()
    expect(await loadBaseline(path.join(dir, 'missing-directory'), ID)).toBeNull()
  })
})

describe('loadBaseline: a bad value is reported with the file and its JSON pointer', () => {
  const cases: Array<[string, (doc: MutableJson) => void, string, RegExp]> = [
    [
      'a negative duration',
      (d) => {
        d.entries['bmm-f32'].stats.medianNs = -1
      },
      '/entries/bmm-f32/stats/medianNs',
      /must be >= 0.000001, got -1/,
    ],
    [
      'a string for a number',
      (d) => {
        d.entries['bmm-f32'].stats.meanNs = '10'
      },
      '/entries/bmm-f32/stats/meanNs',
      /must be number, got "10"/,
    ],
    [
      'a fractional sample count',
      (d) => {
        d.entries['gemv-f32'].stats.n = 1.5
      },
      '/entries/gemv-f32/stats/n',
      /must be integer/,
    ],
    [
      'no samples',
      (d) => {
        d.entries['gemv-f32'].stats.n = 0
      },
      '/entries/gemv-f32/stats/n',
      /must be >= 1/,
    ],
    [
      'a confidence level of 1',
      (d) => {
        d.entries['bmm-f32'].stats.ciLevel = 1
      },
      '/entries/bmm-f32/stats/ciLevel',
      /must be < 1/,
    ],
    [
      'a confidence level of 0',
      (d) => {
        d.entries['bmm-f32'].stats.ciLevel = 0
      },
      '/entries/bmm-f32/stats/ciLevel',
      /must be > 0/,
    ],
    [
      'a missing statistic',
      (d) => {
        delete d.entries['bmm-f32'].stats.p99Ns
      },
      '/entries/bmm-f32/stats/p99Ns',
      /required field is missing/,
    ],
    [
      'a missing coldNs (null is required when not measured)',
      (d) => {
        delete d.entries['bmm-f32'].coldNs
      },
      '/entries/bmm-f32/coldNs',
      /required field is missing/,
    ],
    [
      'an unknown field',
      (d) => {
        d.entries['bmm-f32'].stats.medianMs = 1
      },
      '/entries/bmm-f32/stats/medianMs',
      /unknown field/,
    ],
    [
      'a date that is not ISO 8601',
      (d) => {
        d.entries['bmm-f32'].recordedAt = 'yesterday'
      },
      '/entries/bmm-f32/recordedAt',
      /must match pattern/,
    ],
    [
      'a commit that is not hexadecimal',
      (d) => {
        d.entries['bmm-f32'].commit = 'HEAD'
      },
      '/entries/bmm-f32/commit',
      /must match pattern/,
    ],
    [
      'a negative throughput',
      (d) => {
        d.entries['gemv-f32'].flopPerSecond = -5
      },
      '/entries/gemv-f32/flopPerSecond',
      /must be >= 0/,
    ],
    [
      'an object in device details',
      (d) => {
        d.device.details.peak = { f32: 1 }
      },
      '/device/details/peak',
      /must be string,number,boolean/,
    ],
    [
      'an unsafe device id',
      (d) => {
        d.device.id = '../cpu'
      },
      '/device/id',
      /not a safe device id/,
    ],
    [
      'an empty entry key',
      (d) => {
        d.entries[''] = d.entries['bmm-f32']
      },
      '/entries/',
      /keys must be non-empty strings/,
    ],
    [
      "a run's device id that is no device id",
      (d) => {
        const run = { ...d.entries['bmm-f32'].stats, recordedAt: d.entries['bmm-f32'].recordedAt, deviceId: 'CPU AMD' }
        const { medianNs, ciLowNs, ciHighNs, ciLevel, n, recordedAt, deviceId } = run
        d.entries['bmm-f32'].runs = [{ medianNs, ciLowNs, ciHighNs, ciLevel, n, recordedAt, deviceId }]
      },
      '/entries/bmm-f32/runs/0/deviceId',
      /must match pattern/,
    ],
    [
      'a bad value under a key holding / and ~ (escaped in the pointer)',
      (d) => {
        d.entries['suite/bmm~f32'] = { ...d.entries['bmm-f32'], timing: 'Steady Clock' }
      },
      '/entries/suite~1bmm~0f32/timing',
      /must match pattern/,
    ],
  ]

  for (const [what, mutate, pointer, problem] of cases) {
    it(what, async () => {
      const error = await mutatedError(mutate)
      const file = path.join(dir, `${ID}.json`)
      expect(error.file).toBe(file)
      expect(error.pointer).toBe(pointer)
      expect(error.message).toContain(file)
      expect(error.message).toContain(` at ${pointer}: `)
      expect(error.message).toMatch(problem)
    })
  }

  it('an unsupported schemaVersion, naming the supported ones', async () => {
    const error = await mutatedError((d) => {
      d.schemaVersion = 2
      d.newField = true
    })
    expect(error.pointer).toBe('/schemaVersion')
    expect(error.message).toMatch(/unsupported schemaVersion 2; this version of gpubench reads schemaVersion 1/)
    const asString = await mutatedError((d) => {
      d.schemaVersion = '1'
    })
    expect(asString.message).toMatch(/unsupported schemaVersion "1"/)
  })

  it('a missing schemaVersion', async () => {
    const error = await mutatedError((d) => {
      delete d.schemaVersion
    })
    expect(error.pointer).toBe('/schemaVersion')
    expect(error.message).toMatch(/missing schemaVersion; supported versions: 1/)
  })

  it('a document that is not an object', async () => {
    expect((await loadError('[]')).message).toMatch(/must be a JSON object, got an array/)
    expect((await loadError('null')).message).toMatch(/must be a JSON object, got null/)
  })

  it('a file named for another device', async () => {
    const doc = await validDocument()
    await writeFile(path.join(dir, 'cpu-intel-core-i7-8700-12c.json'), JSON.stringify(doc))
    const error = await loadBaseline(dir, 'cpu-intel-core-i7-8700-12c').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BaselineError)
    expect((error as BaselineError).pointer).toBe('/device/id')
    expect((error as BaselineError).message).toMatch(
      /holds device "cpu-amd-epyc-2c" but is named for device "cpu-intel-core-i7-8700-12c"/,
    )
  })
})

describe('loadBaseline: malformed JSON is reported with line, column and pointer', () => {
  it('a trailing comma', async () => {
    const text = (await readFile(path.join(FIXTURES, `${ID}.json`), 'utf8')).replace(
      '"gemm": "openblas",\n      "memoryBytes": 25276063744\n',
      '"gemm": "openblas",\n      "memoryBytes": 25276063744,\n',
    )
    const error = await loadError(text)
    expect(error.message).toContain(path.join(dir, `${ID}.json`))
    expect(error.message).toMatch(/malformed JSON: unexpected "}", expected a double-quoted key at line 13, column 5/)
    expect(error.pointer).toBe('/device/details')
  })

  it('a truncated file', async () => {
    const text = await readFile(path.join(FIXTURES, `${ID}.json`), 'utf8')
    const error = await loadError(text.slice(0, text.indexOf('"p99Ns"') + 12))
    expect(error.message).toMatch(/malformed JSON: unexpected end of input, expected ',' or '}' at line 40, column 21/)
    expect(error.pointer).toBe('/entries/bmm-f32/stats')
  })

  it('an empty file', async () => {
    expect((await loadError('')).message).toMatch(/unexpected end of input, expected a value at line 1, column 1/)
  })

  it('a duplicate key (a bad merge)', async () => {
    const error = await loadError('{\n  "schemaVersion": 1,\n  "schemaVersion": 1\n}\n')
    expect(error.message).toMatch(/duplicate key "schemaVersion" at line 3, column 3/)
    expect(error.pointer).toBe('/schemaVersion')
  })
})

describe('parseJson', () => {
  it('parses what JSON.parse parses, into null-prototype objects', () => {
    const text = '\uFEFF{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9\\"\\\\\\/"], "b": {}, "c": []}'
    const value = parseJson(text) as Record<string, unknown>
    expect(value).toEqual(JSON.parse(text.slice(1)))
    expect(Object.getPrototypeOf(value)).toBeNull()
    expect(Object.getPrototypeOf(value.b)).toBeNull()
  })

  it('keeps __proto__, constructor and prototype as own keys without touching Object.prototype', () => {
    const value = parseJson('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}') as Record<
      string,
      unknown
    >
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor'])
    expect(Object.hasOwn(value, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(value)).toBeNull()
  })

  it('refuses what JSON refuses', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"a": 1,}', /expected a double-quoted key/],
      ['[1, 2,]', /expected a value/],
      ["{'a': 1}", /expected a double-quoted key/],
      ['{"a" 1}', /expected ':'/],
      ['01', /after the end of the document/],
      ['1.', /after the end of the document/],
      ['NaN', /expected a value/],
      ['"tab\there"', /control character U\+0009/],
      ['"\\x41"', /invalid escape/],
      ['"\\u12"', /malformed \\u escape/],
      ['"open', /unterminated string/],
      ['1e400', /out of range/],
      ['{} {}', /after the end of the document/],
    ]
    for (const [text, problem] of bad) {
      expect(() => parseJson(text), text).toThrow(JsonSyntaxError)
      expect(() => parseJson(text), text).toThrow(problem)
    }
  })

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = `${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`
    expect(() => parseJson(deep)).toThrow(/nesting deeper than/)
    const ok = `${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`
    expect(() => parseJson(ok)).not.toThrow()
  })

  it('reports line and column across CRLF line ends', () => {
    try {
      parseJson('{\r\n  "a": 1,\r\n  "b": x\r\n}')
      throw new Error('accepted')
    } catch (error) {
      expect(error).toBeInstanceOf(JsonSyntaxError)
      expect((error as JsonSyntaxError).line).toBe(3)
      expect((error as JsonSyntaxError).column).toBe(8)
      expect((error as JsonSyntaxError).pointer).toBe('/b')
    }
  })
})
