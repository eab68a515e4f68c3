/**
 * The one way a baseline file is written, so that the same content always gives the same bytes
 * and a changed entry gives a small diff:
 * - fields of a described object (device, entry, stats) in the schema's `properties` order;
 * - keys of a map (entries, details) and of free-form objects (workload) sorted by UTF-16 code
 *   units, never by locale;
 * - 2-space indentation, `{}` / `[]` when empty, one trailing newline (as JSON.stringify(v, null, 2)
 *   lays out, but written here so integer-like keys keep the sorted order: JS objects would move
 *   them first).
 * The input must already be valid JSON data (finite numbers, no undefined); see toJsonData.
 */
import { BaselineError } from './errors.ts'
import { childPointer } from './json-pointer.ts'
import type { JsonValue } from './parse-json.ts'
import { resolveSchemaNode, type SchemaNode } from './schema.ts'

function sortedKeys(object: object): string[] {
  return Object.keys(object).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Keys of `object` in the order the schema node prescribes. */
function orderedKeys(object: object, node: SchemaNode | undefined): string[] {
  const properties = node?.properties
  if (properties === undefined) return sortedKeys(object)
  const present = Object.keys(properties).filter((key) => Object.hasOwn(object, key))
  // Keys the schema does not describe (only possible where it allows them) follow, sorted.
  const rest = sortedKeys(object).filter((key) => !Object.hasOwn(properties, key))
  return [...present, ...rest]
}

function childNode(node: SchemaNode | undefined, key: string): SchemaNode | undefined {
  if (node === undefined) return undefined
  const described = node.properties?.[key]
  if (described !== undefined) return resolveSchemaNode(described)
  const additional = node.additionalProperties
  return typeof additional === 'object' ? resolveSchemaNode(additional) : undefined
}

function write(value: JsonValue, node: SchemaNode | undefined, indent: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    out.push(JSON.stringify(value))
    return
  }
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]')
      return
    }
    const items = node?.items === undefined ? undefined : resolveSchemaNode(node.items)
    out.push('[\n')
    value.forEach((item, i) => {
      out.push(inner)
      write(item, items, inner, out)
      out.push(i === value.length - 1 ? '\n' : ',\n')
    })
    out.push(`${indent}]`)
    return
  }
  const keys = orderedKeys(value, node)
  if (keys.length === 0) {
    out.push('{}')
    return
  }
  out.push('{\n')
  keys.forEach((key, i) => {
    out.push(`${inner}${JSON.stringify(key)}: `)
    write(value[key] as JsonValue, childNode(node, key), inner, out)
    out.push(i === keys.length - 1 ? '\n' : ',\n')
  })
  out.push(`${indent}}`)
}

/** Serializes `value` laid out by `schema` (the root schema node), with a trailing newline. */
export function canonicalJson(value: JsonValue, schema: SchemaNode): string {
  const out: string[] = []
  write(value, resolveSchemaNode(schema), '', out)
  out.push('\n')
  return out.join('')
}

/**
 * Copies caller data into JSON data with null-prototype objects: properties whose value is
 * undefined are dropped (as JSON.stringify does, so optional fields may be passed as undefined);
 * anything JSON cannot hold (NaN, Infinity, functions, symbols, bigints, class instances such as
 * Date or Map, cycles) is refused with the pointer of the value.
 */
export function toJsonData(value: unknown, file: string, pointer: string, seen: Set<object> = new Set()): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new BaselineError(file, pointer, `refusing to write ${value}: not a finite number`)
    return value
  }
  if (typeof value !== 'object') {
    throw new BaselineError(file, pointer, `refusing to write a ${typeof value}: only JSON data can be stored`)
  }
  if (seen.has(value)) throw new BaselineError(file, pointer, 'refusing to write a cyclic structure')
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => toJsonData(item, file, childPointer(pointer, i), seen))
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'unknown'
      throw new BaselineError(
        file,
        pointer,
        `refusing to write an instance of ${name}: only plain objects can be stored`,
      )
    }
    const copy: { [key: string]: JsonValue } = Object.create(null)
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key]
      if (item === undefined) continue
      copy[key] = toJsonData(item, file, childPointer(pointer, key), seen)
    }
    return copy
  } finally {
    seen.delete(value)
  }
}
