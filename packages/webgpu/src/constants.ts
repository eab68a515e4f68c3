/**
 * WebGPU's numeric flags, as the specification fixes them. Kept here rather than read from
 * `globalThis.GPUBufferUsage` so that loading this package never touches globals and the values
 * exist even when `webgpu` failed to load (the backend then reports itself unavailable).
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const

export const ShaderStage = { COMPUTE: 0x4 } as const

/** A query set holds at most this many queries (WebGPU's limit), so one resolve covers 2048 timed passes. */
export const MAX_QUERIES_PER_SET = 4096

/** Rounds a byte count up to the 4-byte multiple WebGPU requires of buffer sizes, copies and writes. */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4
}
