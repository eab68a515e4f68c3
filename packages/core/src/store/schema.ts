/**
 * The baseline file's JSON Schema (packages/core/schema/baseline.schema.json) and its validator.
 * The schema is the single source of truth: the TypeScript types are generated from it, the
 * validator is compiled from it, and the writer takes its field order from it.
 *
 * Validation stops at the first error (ajv `allErrors: false`) and reports it as a BaselineError
 * naming the file and the JSON pointer of the bad value, with the value itself.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { BaselineFile } from './baseline.generated.ts'
import { BaselineError } from './errors.ts'
import { childPointer } from './json-pointer.ts'

/** The version this code writes. */
export const BASELINE_SCHEMA_VERSION = 1
/** The versions this code reads. A file of any other version is refused, never guessed at. */
export const SUPPORTED_SCHEMA_VERSIONS: readonly number[] = Object.freeze([1])

export const BASELINE_SCHEMA_PATH = fileURLToPath(new URL('../../schema/baseline.schema.json', import.meta.url))

/** A JSON Schema node, as far as this module reads one. */
export interface SchemaNode {
  readonly $ref?: string
  readonly type?: string | readonly string[]
  readonly properties?: Readonly<Record<string, SchemaNode>>
  readonly additionalProperties?: boolean | SchemaNode
  readonly items?: SchemaNode
  readonly definitions?: Readonly<Record<string, SchemaNode>>
  readonly pattern?: string
  readonly description?: string
}

let schemaCache: SchemaNode | undefined
let validatorCache: ValidateFunction | undefined

/** The parsed schema document (read once). */
export function baselineSchema(): SchemaNode {
  schemaCache ??= JSON.parse(readFileSync(BASELINE_SCHEMA_PATH, 'utf8')) as SchemaNode
  return schemaCache
}

function validator(): ValidateFunction {
  if (validatorCache === undefined) {
    // `tsType` is read by json-schema-to-typescript only; declared so strict mode accepts it.
    const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true, keywords: ['tsType'] })
    validatorCache = ajv.compile(baselineSchema())
  }
  return validatorCache
}

/** Resolves a local `#/definitions/Name` reference. */
export function resolveSchemaNode(node: SchemaNode): SchemaNode {
  if (node.$ref === undefined) return node
  const match = /^#\/definitions\/([^/]+)$/.exec(node.$ref)
  const target = match?.[1] === undefined ? undefined : baselineSchema().definitions?.[match[1]]
  if (target === undefined) throw new Error(`baseline schema: unresolvable $ref ${node.$ref}`)
  return target
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** Turns ajv's first error into a pointer and a sentence. */
function describeError(error: ErrorObject): { pointer: string; problem: string } {
  const params = error.params as Record<string, unknown>
  // An error inside `propertyNames` concerns a key; ajv names it on the error itself.
  if (error.propertyName !== undefined || error.keyword === 'propertyNames') {
    const key = error.propertyName ?? String(params.propertyName)
    return {
      pointer: childPointer(error.instancePath, key),
      problem: `invalid key ${JSON.stringify(key)}: keys must be non-empty strings`,
    }
  }
  switch (error.keyword) {
    case 'required':
      return {
        pointer: childPointer(error.instancePath, String(params.missingProperty)),
        problem: 'required field is missing',
      }
    case 'additionalProperties':
      return {
        pointer: childPointer(error.instancePath, String(params.additionalProperty)),
        problem: 'unknown field (not in the baseline schema)',
      }
    case 'pattern':
      if (error.instancePath === '/device/id') {
        return {
          pointer: error.instancePath,
          problem: `not a safe device id (lowercase letters, digits and single dashes, at most 100 characters, no reserved Windows name), got ${shown(error.data)}`,
        }
      }
      return { pointer: error.instancePath, problem: `${error.message ?? 'invalid'}, got ${shown(error.data)}` }
    default:
      return { pointer: error.instancePath, problem: `${error.message ?? 'invalid'}, got ${shown(error.data)}` }
  }
}

/**
 * Checks a parsed document against the schema; throws BaselineError for `file` at the pointer of
 * the first bad value. The version is checked first, so a file from a newer gpubench gets
 * "unsupported schemaVersion" rather than a confusing complaint about a field it added.
 */
export function validateBaseline(value: unknown, file: string, context = ''): BaselineFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
    throw new BaselineError(file, '', `${context}a baseline file must be a JSON object, got ${kind}`)
  }
  const supported = SUPPORTED_SCHEMA_VERSIONS.join(', ')
  const version = (value as Record<string, unknown>).schemaVersion
  if (version === undefined) {
    throw new BaselineError(file, '/schemaVersion', `${context}missing schemaVersion; supported versions: ${supported}`)
  }
  if (typeof version !== 'number' || !SUPPORTED_SCHEMA_VERSIONS.includes(version)) {
    throw new BaselineError(
      file,
      '/schemaVersion',
      `${context}unsupported schemaVersion ${shown(version)}; this version of gpubench reads schemaVersion ${supported}`,
    )
  }
  const validate = validator()
  if (!validate(value)) {
    const first = validate.errors?.[0]
    if (first === undefined) throw new BaselineError(file, '', `${context}does not match the baseline schema`)
    const { pointer, problem } = describeError(first)
    throw new BaselineError(file, pointer, `${context}${problem}`)
  }
  checkIntervals(value as BaselineFile, file, context)
  return value as BaselineFile
}

/**
 * What the schema cannot say across fields: each median lies inside its own confidence
 * interval (ciLowNs <= medianNs <= ciHighNs), in `stats` and in every run. A comparison takes
 * logarithms of medianNs / ciLowNs and ciHighNs / medianNs, so an inverted interval would break
 * it; the store refuses such a file here, with the pointer of the bound that is out of place.
 * Time: O(entries + runs).
 */
function checkIntervals(baseline: BaselineFile, file: string, context: string): void {
  const check = (
    at: string,
    interval: { readonly medianNs: number; readonly ciLowNs: number; readonly ciHighNs: number },
  ): void => {
    const { medianNs, ciLowNs, ciHighNs } = interval
    if (ciLowNs > medianNs) {
      throw new BaselineError(
        file,
        `${at}/ciLowNs`,
        `${context}ciLowNs ${ciLowNs} is above medianNs ${medianNs}: a confidence interval must contain its median`,
      )
    }
    if (ciHighNs < medianNs) {
      throw new BaselineError(
        file,
        `${at}/ciHighNs`,
        `${context}ciHighNs ${ciHighNs} is below medianNs ${medianNs}: a confidence interval must contain its median`,
      )
    }
  }
  for (const key of Object.keys(baseline.entries)) {
    const entry = baseline.entries[key]!
    const at = childPointer('/entries', key)
    check(`${at}/stats`, entry.stats)
    entry.runs?.forEach((run, index) => {
      check(`${at}/runs/${index}`, run)
    })
  }
}
