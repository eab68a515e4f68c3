/**
 * The device id of a WebGPU adapter. Core's `deviceId(parts)` (packages/core/src/device.ts) is the
 * one rule for every backend; until it is exported, this private slug follows the agreed rule
 * (lowercase [a-z0-9-], runs collapsed, at most 100 characters, never empty).
 */
export function deviceIdOf(parts: readonly string[]): string {
  const slug = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
    .replace(/-+$/, '')
  return slug === '' ? 'webgpu-unknown' : slug
}
