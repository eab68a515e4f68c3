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

/** Where scripts/build.mjs puts the addon. */
export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../build/gpubench_native.node', import.meta.url))

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
      reason: `the native addon is not built (${path} is missing; run 'pnpm install' or 'node packages/native/scripts/build.mjs')`,
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

/** The addon of this package (or the file GPUBENCH_NATIVE_ADDON names), loaded once per process. */
export function loadAddon(): Promise<AddonLoad> {
  cached ??= loadAddonFrom(process.env.GPUBENCH_NATIVE_ADDON || DEFAULT_ADDON_PATH)
  return cached
}
