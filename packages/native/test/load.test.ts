import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test, vi } from 'vitest'
import { DEFAULT_ADDON_PATH, loadAddon, loadAddonFrom } from '../src/load.ts'

const scratch = mkdtempSync(join(tmpdir(), 'gpubench-native-load-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function findCompiler(): string | null {
  for (const cxx of [process.env.CXX, 'c++', 'g++', 'clang++']) {
    if (!cxx) continue
    try {
      execFileSync(cxx, ['--version'], { stdio: 'ignore' })
      return cxx
    } catch {}
  }
  return null
}

test('the built addon loads (child process first) and its build flags match build-info.json', async () => {
  const load = await loadAddon()
  if (!load.ok) throw new Error(load.reason)
  expect(load.path).toBe(process.env.GPUBENCH_NATIVE_ADDON || DEFAULT_ADDON_PATH)
  const info = JSON.parse(readFileSync(join(load.path, '..', 'build-info.json'), 'utf8'))
  expect(load.addon.build.cuda).toBe(info.cuda.built)
  expect(load.addon.build.metal).toBe(info.metal.built)
  expect(load.addon.build.napiVersion).toBe(8)
  expect(typeof load.addon.cudaProbe).toBe(info.cuda.built ? 'function' : 'undefined')
})

test('a missing addon is a reason, not an exception', async () => {
  const load = await loadAddonFrom(join(scratch, 'absent.node'))
  expect(load.ok).toBe(false)
  expect(!load.ok && load.reason).toMatch(/the native addon is missing \(.*absent\.node\)/)
})

test('a file that is no shared library fails in the child process, with its error', async () => {
  const bogus = join(scratch, 'bogus.node')
  writeFileSync(bogus, 'not a shared object\n')
  const load = await loadAddonFrom(bogus)
  expect(!load.ok && load.reason).toMatch(
    /failed in a child process \(exit 1\).*(invalid ELF header|not a mach-o|file too short|slice is not valid)/i,
  )
})

const cxx = findCompiler()
test.skipIf(!cxx)('an addon that crashes while loading takes down only the child process', async () => {
  if (!cxx) throw new Error('no C++ compiler')
  const source = join(scratch, 'crash.cpp')
  const crash = join(scratch, 'crash.node')
  writeFileSync(
    source,
    '#include <csignal>\n__attribute__((constructor)) static void boom() { std::raise(SIGSEGV); }\n',
  )
  execFileSync(cxx, ['-shared', '-fPIC', '-o', crash, source])
  expect(existsSync(crash)).toBe(true)
  const load = await loadAddonFrom(crash)
  expect(!load.ok && load.reason).toMatch(/crashed a child process \(SIGSEGV\)/)
})

test('when the addon cannot load, every native backend is unavailable with that reason', async () => {
  vi.resetModules()
  const saved = process.env.GPUBENCH_NATIVE_ADDON
  process.env.GPUBENCH_NATIVE_ADDON = join(scratch, 'nowhere.node')
  try {
    const fresh = await import('../src/index.ts')
    for (const backend of fresh.nativeBackends) {
      const probe = await backend.probe()
      expect(probe.available ? `${backend.kind} available` : probe.reason).toMatch(
        /addon is missing \(.*nowhere\.node\)/,
      )
    }
    const { gemm } = await import('@gpubench/core')
    await expect(fresh.cpuBackend.prepare(gemm({ m: 2, n: 2, k: 2 }))).rejects.toThrow(
      /cpu backend unavailable: .*missing/,
    )
  } finally {
    if (saved === undefined) delete process.env.GPUBENCH_NATIVE_ADDON
    else process.env.GPUBENCH_NATIVE_ADDON = saved
    vi.resetModules()
  }
})
