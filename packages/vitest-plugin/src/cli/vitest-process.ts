/**
 * Runs the project's own Vitest in a child process: the CLI's commands each measure in separate
 * processes, so that per-process effects (the core a process settles on, its heap) are sampled
 * rather than shared. The Vitest found is the one the project at `cwd` resolves, as `npx vitest` would.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export class CliError extends Error {
  override name = 'CliError'
}

/** The path of `vitest.mjs` of the Vitest that the project at `cwd` resolves. */
export function findVitest(cwd: string): string {
  let manifest: string
  try {
    manifest = createRequire(join(cwd, 'package.json')).resolve('vitest/package.json')
  } catch {
    throw new CliError(`vitest is not installed in ${cwd} (or a folder above it): install vitest 5.1 or later`)
  }
  const bin = join(dirname(manifest), 'vitest.mjs')
  if (!existsSync(bin)) throw new CliError(`${bin} is missing: reinstall vitest`)
  return bin
}

export interface VitestRun {
  readonly status: number
  readonly seconds: number
}

/** `vitest <args>` in `cwd` with the current Node, output passed through; its exit status and duration. */
export function runVitest(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): VitestRun {
  const started = performance.now()
  const result = spawnSync(process.execPath, [findVitest(cwd), ...args], { cwd, stdio: 'inherit', env })
  const seconds = (performance.now() - started) / 1000
  if (result.error) throw new CliError(`could not start vitest: ${result.error.message}`)
  return { status: result.status ?? 1, seconds }
}
