/** JSON pointers (RFC 6901): '' is the whole document, `/a/b` the key b of the key a; `~` is written `~0`, `/` is `~1`. */

export function escapePointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1')
}

export function pointerOf(segments: ReadonlyArray<string | number>): string {
  return segments.map((segment) => `/${escapePointerSegment(segment)}`).join('')
}

export function childPointer(parent: string, segment: string | number): string {
  return `${parent}/${escapePointerSegment(segment)}`
}

/** The first segment below `parent` in `pointer`, unescaped: (`/entries/a~1b/stats`, `/entries`) -> `a/b`; undefined when `pointer` is not below `parent`. */
export function segmentBelow(pointer: string, parent: string): string | undefined {
  if (!pointer.startsWith(`${parent}/`)) return undefined
  const raw = pointer.slice(parent.length + 1).split('/')[0] ?? ''
  return raw.replace(/~1/g, '/').replace(/~0/g, '~')
}
