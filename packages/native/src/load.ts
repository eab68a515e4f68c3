/**
 * Loads the native addon, and says what loaded and why not. The addon is first loaded in a child
 * process, which also probes every device: a broken driver or a bad build that crashes while
 * loading takes down the child, not the test runner, and the crash becomes the reason every native
 * backend reports. Only after the child came back clean is the addon loaded in this process.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NativeAddon, NativeBuildInfo } from './addon-types.ts'

export type AddonLoad =
  | {
      readonly ok: true
      readonly addon: NativeAddon
      readonly path: string
      readonly buildInfo: NativeBuildInfo | null
    }
  | { readonly ok: false; readonly reason: string; readonly path: string }

/** Where a source build (scripts/build.mjs) puts the addon. */
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../build/gpubench_native.node', import.meta.url))

/** The platforms a prebuilt addon is published for, each as the package `@gpubench/native-<key>`. */
export const PREBUILT_PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-arm64'] as const

/**
 * This process's platform key (`linux-x64-gnu`, `darwin-arm64`, ...): OS, CPU and, on Linux, the C
 * library, since a glibc build does not load on musl. Arguments for tests.
 */
export function platformKey(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  glibc: boolean = isGlibc(),
): string {
  if (platform === 'linux') return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return typeof report?.header?.glibcVersionRuntime === 'string'
}

export type AddonLocation = { readonly path: string; readonly source: string } | { readonly missing: string }

/**
 * Where the addon is, in order: the file `GPUBENCH_NATIVE_ADDON` names; a source build of this
 * package (`build/`, made by `node scripts/build.mjs`); the prebuilt binary of this platform's
 * optional package `@gpubench/native-<key>`. Never throws: what was looked for is the reason.
 */
export function locateAddon(
  env: NodeJS.ProcessEnv = process.env,
  key: string = platformKey(),
  sourceBuild: string = DEFAULT_ADDON_PATH,
): AddonLocation {
  if (env.GPUBENCH_NATIVE_ADDON) return { path: env.GPUBENCH_NATIVE_ADDON, source: 'GPUBENCH_NATIVE_ADDON' }
  if (existsSync(sourceBuild)) return { path: sourceBuild, source: 'source build' }
  const name = `@gpubench/native-${key}`
  try {
    const manifest = createRequire(import.meta.url).resolve(`${name}/package.json`)
    const path = join(dirname(manifest), 'gpubench_native.node')
    if (existsSync(path)) return { path, source: name }
    return { missing: `${name} is installed but holds no gpubench_native.node (${path})` }
  } catch {
    const known = (PREBUILT_PLATFORMS as readonly string[]).includes(key)
    return {
      missing: known
        ? `no prebuilt addon: the optional package ${name} is not installed (was it omitted, e.g. npm --omit=optional?), and there is no source build at ${sourceBuild}`
        : `no prebuilt addon is published for ${key}; build it from source with 'node node_modules/@gpubench/native/scripts/build.mjs' (a C++17 compiler is needed)`,
    }
  }
}

/** What the child process runs: load, probe every part, print the outcome as JSON. CommonJS, so `require` exists. */
const CHILD_SCRIPT = `
try {
  const addon = require(process.argv[1]);
  const report = { build: addon.build, cpu: addon.cpuDescribe() };
  if (typeof addon.cudaProbe === 'function') report.cuda = addon.cudaProbe();
  if (typeof addon.metalProbe === 'function') report.metal = addon.metalProbe();
  process.stdout.write(JSON.stringify(report));
} catch (error) {
  process.stderr.write(String((error && error.message) || error).split('\\n')[0] + '\\n');
  process.exit(1);
}
`

function readBuildInfo(path: string): NativeBuildInfo | null {
  const file = join(dirname(path), 'build-info.json')
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NativeBuildInfo
  } catch {
    return null
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ')
}

/** Loads the child first; resolves with why it failed, or null when it came back clean. */
function checkInChild(path: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-e', CHILD_SCRIPT, path],
      { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (!error) {
          try {
            JSON.parse(stdout)
            resolve(null)
          } catch {
            resolve(`the addon loaded in a child process but printed no report: ${lastLines(`${stdout}${stderr}`, 2)}`)
          }
          return
        }
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: unknown }
        if (e.killed && e.signal === 'SIGKILL')
          resolve(`loading the addon in a child process took longer than ${timeoutMs} ms`)
        else if (e.signal) resolve(`loading the addon crashed a child process (${e.signal}): ${lastLines(stderr, 2)}`)
        else resolve(`loading the addon failed in a child process (exit ${String(e.code)}): ${lastLines(stderr, 3)}`)
      },
    )
  })
}

function shapeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'the addon exports no object'
  const a = value as Record<string, unknown>
  if (typeof a.Runnable !== 'function') return "the addon exports no 'Runnable' class"
  if (typeof a.cpuDescribe !== 'function') return "the addon exports no 'cpuDescribe' function"
  if (typeof a.build !== 'object' || a.build === null) return "the addon exports no 'build' flags"
  return null
}

/** Loads the addon at `path` (child process first). Never throws: a failure is a reason. */
export async function loadAddonFrom(path: string, options: { timeoutMs?: number } = {}): Promise<AddonLoad> {
  if (!existsSync(path)) {
    return {
      ok: false,
      path,
      reason: `the native addon is missing (${path}); build it with 'node scripts/build.mjs' in @gpubench/native, or install its prebuilt package`,
    }
  }
  const childFailure = await checkInChild(path, options.timeoutMs ?? 60_000)
  if (childFailure) return { ok: false, path, reason: childFailure }
  try {
    const addon: unknown = createRequire(import.meta.url)(path)
    const problem = shapeProblem(addon)
    if (problem) return { ok: false, path, reason: `${problem} (${path}): rebuild it` }
    return { ok: true, addon: addon as NativeAddon, path, buildInfo: readBuildInfo(path) }
  } catch (error) {
    return {
      ok: false,
      path,
      reason: `loading the addon failed: ${error instanceof Error ? error.message : String(error)}`,
    }
  }
}

let cached: Promise<AddonLoad> | undefined

/** The addon `locateAddon()` finds, loaded once per process; when none is found, why not. */
export function loadAddon(): Promise<AddonLoad> {
  if (!cached) {
    const where = locateAddon()
    cached =
      'missing' in where
        ? Promise.resolve({ ok: false as const, path: DEFAULT_ADDON_PATH, reason: where.missing })
        : loadAddonFrom(where.path)
  }
  return cached
}
