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
