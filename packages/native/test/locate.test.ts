import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { DEFAULT_ADDON_PATH, locateAddon, PREBUILT_PLATFORMS, platformKey } from '../src/load.ts'

const scratch = mkdtempSync(join(tmpdir(), 'gpubench-native-locate-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

test('platform keys name OS, CPU and, on Linux, the C library', () => {
  expect(platformKey('linux', 'x64', true)).toBe('linux-x64-gnu')
  expect(platformKey('linux', 'arm64', false)).toBe('linux-arm64-musl')
  expect(platformKey('darwin', 'arm64', true)).toBe('darwin-arm64')
  expect(platformKey('win32', 'x64', false)).toBe('win32-x64-msvc')
  // Every published key is one platformKey can produce, and has its package folder.
  for (const key of PREBUILT_PLATFORMS) expect(key).toMatch(/^(linux-(x64|arm64)-gnu|darwin-arm64)$/)
})

test('GPUBENCH_NATIVE_ADDON comes first, even when it names a file that is not there', () => {
  const path = join(scratch, 'elsewhere.node')
  expect(locateAddon({ GPUBENCH_NATIVE_ADDON: path })).toEqual({ path, source: 'GPUBENCH_NATIVE_ADDON' })
})

test('in this workspace the source build is found before any prebuilt package', () => {
  expect(locateAddon({})).toEqual({ path: DEFAULT_ADDON_PATH, source: 'source build' })
})

test('without a source build: the platform package, or why there is none', () => {
  const noBuild = join(scratch, 'no-build', 'gpubench_native.node')
  const unpublished = locateAddon({}, 'freebsd-x64', noBuild)
  expect(unpublished).toEqual({
    missing: expect.stringContaining('no prebuilt addon is published for freebsd-x64'),
  })
  expect(JSON.stringify(unpublished)).toContain('scripts/build.mjs')
  // The workspace links every platform package; the arm64 one never holds a binary on this x64 machine.
  const empty = locateAddon({}, 'linux-arm64-gnu', noBuild)
  expect(empty).toEqual({
    missing: expect.stringMatching(/@gpubench\/native-linux-arm64-gnu is installed but holds no/),
  })
  // A published key whose package is not installed at all: the reason says so.
  const absent = locateAddon({}, 'linux-x64-musl', noBuild)
  expect(absent).toEqual({ missing: expect.stringContaining('no prebuilt addon is published for linux-x64-musl') })
})

test('a source build in place is found first', () => {
  const built = join(scratch, 'gpubench_native.node')
  writeFileSync(built, '')
  expect(locateAddon({}, 'linux-arm64-gnu', built)).toEqual({ path: built, source: 'source build' })
})
