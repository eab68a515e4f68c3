/**
 * Runs the project's own Vitest in a child process: the CLI's commands each measure in separate
 * processes, so that per-process effects (the core a process settles on, its heap) are sampled
 * rather than shared. The Vitest found is the one the project at `cwd` resolves, as `npx vitest` would.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

export class CliError extends Error {
  override name = 'CliError'
}

/** The path of `vitest.mjs` in the nearest `node_modules/vitest` at or above `cwd`, as Node would resolve it. */
export function findVitest(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', 'vitest', 'vitest.mjs')
    if (existsSync(bin)) return bin
    if (dirname(dir) === dir) break
  }
  throw new CliError(`vitest is not installed in ${cwd} (or a folder above it): install vitest 5.1 or later`)
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
