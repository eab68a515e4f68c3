/**
 * Checks the rate and duration strings written as literals in the floor and ceiling assertions
 * of `expectThroughput(result)` when Vite transforms a file, so a typo (`50 GFLOPS/s`, `2 sec`)
 * fails the file at once, before its benchmarks spend a minute measuring. Strings computed at run
 * time are still checked by the assertion itself. Comments are not read. Pure: the parsers are
 * passed in (core's, from the main process).
 *
 * Time: O(length of the file) per file that mentions an assertion; other files are not scanned.
 */

export interface LiteralParsers {
  readonly rate: (text: string) => unknown
  readonly duration: (text: string) => unknown
}

/** The assertion methods that take a literal, and which parser reads it. */
const METHODS = { toBeAtLeast: 'rate', toTakeAtMost: 'duration' } as const

// `.toBeAtLeast('...')`, `.toTakeAtMost("...")`, or a template literal without substitutions.
const CALL = /\.(toBeAtLeast|toTakeAtMost)\(\s*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`([^`$\\]*)`)\s*[,)]/g

export class AssertionLiteralError extends Error {
  override name = 'AssertionLiteralError'
}

/**
 * The code with its comments blanked (newlines kept, so positions stay). Strings and template
 * literals are skipped over; a `${...}` inside a template is treated as text, which at worst
 * leaves a comment-like sequence in it unblanked.
 */
export function blankComments(code: string): string {
  const out = code.split('')
  let quote: string | null = null
  for (let i = 0; i < code.length; i++) {
    const c = code[i]
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = null
      continue
    }
    if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === '/' && code[i + 1] === '/') {
      while (i < code.length && code[i] !== '\n') out[i++] = ' '
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2)
      const stop = end < 0 ? code.length : end + 2
      for (; i < stop; i++) if (code[i] !== '\n') out[i] = ' '
      i--
    }
  }
  return out.join('')
}

/** Throws an AssertionLiteralError naming file, line and column of the first literal that does not parse. */
export function checkAssertionLiterals(source: string, file: string, parsers: LiteralParsers): void {
  if (!source.includes('.toBeAtLeast(') && !source.includes('.toTakeAtMost(')) return
  const code = blankComments(source)
  for (const match of code.matchAll(CALL)) {
    const method = match[1] as keyof typeof METHODS
    const text = match[2] ?? match[3] ?? match[4] ?? ''
    try {
      parsers[METHODS[method]](text)
    } catch (error) {
      const before = code.slice(0, match.index)
      const line = before.split('\n').length
      const column = match.index - before.lastIndexOf('\n')
      const why = error instanceof Error ? error.message : String(error)
      throw new AssertionLiteralError(`${file}:${line}:${column}: ${method}(${JSON.stringify(text)}): ${why}`)
    }
  }
}
