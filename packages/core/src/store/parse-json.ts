/**
 * A strict JSON parser (RFC 8259) for baseline files, used instead of JSON.parse because a
 * baseline file is edited by hand and merged by git, and its reader must:
 * - say where a syntax error is: line, column and the JSON pointer of the value being read;
 * - refuse duplicate keys (a bad merge) instead of silently keeping the last one;
 * - build every object with a null prototype, so keys such as `__proto__`, `constructor` or
 *   `prototype` are ordinary own properties and can never reach Object.prototype, whatever code
 *   later copies them.
 * A leading byte order mark is skipped. Nesting deeper than MAX_DEPTH is refused rather than
 * risking the stack. Time: O(length of the text).
 */
import { pointerOf } from './json-pointer.ts'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export const MAX_DEPTH = 200

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError'
  /** 1-based line of the error. */
  readonly line: number
  /** 1-based column (UTF-16 code units) of the error. */
  readonly column: number
  /** JSON pointer of the value that was being read. */
  readonly pointer: string

  constructor(problem: string, line: number, column: number, pointer: string) {
    super(`${problem} at line ${line}, column ${column}`)
    this.line = line
    this.column = column
    this.pointer = pointer
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

/** Parses JSON text into plain values with null-prototype objects; throws JsonSyntaxError. */
export function parseJson(text: string): JsonValue {
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const path: Array<string | number> = []

  function fail(problem: string, at: number = index): never {
    let line = 1
    let lineStart = 0
    for (let i = 0; i < at && i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        line++
        lineStart = i + 1
      }
    }
    throw new JsonSyntaxError(problem, line, at - lineStart + 1, pointerOf(path))
  }

  function describe(at: number): string {
    if (at >= text.length) return 'end of input'
    return JSON.stringify(text[at])
  }

  function skipWhitespace(): void {
    for (;;) {
      const c = text.charCodeAt(index)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) index++
      else return
    }
  }

  function parseString(): string {
    // index is at the opening quote
    const start = index
    index++
    let out = ''
    let chunkStart = index
    for (;;) {
      if (index >= text.length) fail('unterminated string', start)
      const c = text.charCodeAt(index)
      if (c === 0x22) {
        out += text.slice(chunkStart, index)
        index++
        return out
      }
      if (c < 0x20) fail(`control character U+${c.toString(16).padStart(4, '0')} in a string (escape it)`)
      if (c === 0x5c) {
        out += text.slice(chunkStart, index)
        const e = text[index + 1]
        if (e === 'u') {
          const hex = text.slice(index + 2, index + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('malformed \\u escape: expected four hexadecimal digits')
          out += String.fromCharCode(Number.parseInt(hex, 16))
          index += 6
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          out += ESCAPES[e]
          index += 2
        } else {
          fail(`invalid escape \\${e ?? ''} in a string`)
        }
        chunkStart = index
        continue
      }
      index++
    }
  }

  function parseValue(depth: number): JsonValue {
    if (depth >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`)
    skipWhitespace()
    const c = text[index]
    if (c === '{') return parseObject(depth)
    if (c === '[') return parseArray(depth)
    if (c === '"') return parseString()
    if (c === 't' && text.startsWith('true', index)) {
      index += 4
      return true
    }
    if (c === 'f' && text.startsWith('false', index)) {
      index += 5
      return false
    }
    if (c === 'n' && text.startsWith('null', index)) {
      index += 4
      return null
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = index
      const match = NUMBER.exec(text)
      if (match === null) fail('malformed number')
      const value = Number(match[0])
      if (!Number.isFinite(value)) fail(`number ${match[0]} is out of range`)
      index += match[0].length
      return value
    }
    return fail(`unexpected ${describe(index)}, expected a value`)
  }

  function parseObject(depth: number): JsonValue {
    index++ // {
    const object: { [key: string]: JsonValue } = Object.create(null)
    skipWhitespace()
    if (text[index] === '}') {
      index++
      return object
    }
    for (;;) {
      skipWhitespace()
      if (text[index] !== '"') fail(`unexpected ${describe(index)}, expected a double-quoted key`)
      const keyAt = index
      const key = parseString()
      if (Object.hasOwn(object, key)) {
        path.push(key)
        fail(`duplicate key ${JSON.stringify(key)}`, keyAt)
      }
      skipWhitespace()
      if (text[index] !== ':') fail(`unexpected ${describe(index)}, expected ':' after a key`)
      index++
      path.push(key)
      // Object.create(null) has no __proto__ setter: this defines an own property for any key.
      object[key] = parseValue(depth + 1)
      path.pop()
      if (closes('}')) return object
    }
  }

  /** After a member or element: true when `close` ends its container, false after a comma; anything else fails. */
  function closes(close: '}' | ']'): boolean {
    skipWhitespace()
    const next = text[index]
    if (next !== ',' && next !== close) fail(`unexpected ${describe(index)}, expected ',' or '${close}'`)
    index++
    return next === close
  }

  function parseArray(depth: number): JsonValue {
    index++ // [
    const array: JsonValue[] = []
    skipWhitespace()
    if (text[index] === ']') {
      index++
      return array
    }
    for (;;) {
      path.push(array.length)
      array.push(parseValue(depth + 1))
      path.pop()
      if (closes(']')) return array
    }
  }

  const value = parseValue(0)
  skipWhitespace()
  if (index < text.length) fail(`unexpected ${describe(index)} after the end of the document`)
  return value
}
