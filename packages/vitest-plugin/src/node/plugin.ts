/**
 * `gpubench()`: the Vite plugin. Thin by design: for each benchmark project (the project Vitest
 * creates for `vitest bench`) it adds the runtime setup file, hands the validated options and the
 * update flag (`-u`) to the workers with `provide`, and registers the reporter that writes
 * baselines and prints the report. Unit-test projects are left untouched.
 *
 * Node loads this module itself when Vitest reads the config (type stripping only), so it imports
 * nothing from core at run time; what needs core is loaded through Vite's module runner, which
 * transforms TypeScript fully and keeps the config independent of core's modules.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vitest/config'
import type { TestProject, Vitest } from 'vitest/node'
import { type GpubenchOptions, PROVIDE_KEY, type RuntimeConfig, resolveOptions, updateModeFrom } from '../options.ts'
import { checkAssertionLiterals, type LiteralParsers } from './literal-check.ts'
import { ProgressReporter, wantsProgress } from './progress.ts'

// Sources in this repository (.ts), built JavaScript in an installed copy (.js): the sibling modules
// have this module's own extension.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const SETUP_FILE = fileURLToPath(new URL(`../runtime/setup${EXT}`, import.meta.url))
const MAIN_PROCESS_MODULE = fileURLToPath(new URL(`./main-process${EXT}`, import.meta.url))
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function pluginVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  const version = (JSON.parse(text) as { version?: unknown }).version
  return typeof version === 'string' ? version : '0.0.0'
}

export function gpubench(options: GpubenchOptions = {}): Plugin {
  const resolved = resolveOptions(options)
  const version = pluginVersion()
  let parsers: LiteralParsers | null = null
  return {
    name: 'gpubench',
    // Before other transforms, so line and column are those of the file the user wrote.
    enforce: 'pre',
    // Rate and duration literals of the assertions are checked when a file is loaded, not after
    // its benchmarks have measured (see literal-check.ts). Files of dependencies and of this
    // package are left alone.
    transform(code, id) {
      const file = id.split('?')[0] ?? id
      if (parsers && !file.includes('/node_modules/') && !file.startsWith(PACKAGE_ROOT)) {
        checkAssertionLiterals(code, file, parsers)
      }
      return null
    },
    async configureVitest({ vitest, project }: { vitest: Vitest; project: TestProject }) {
      if (!project.config.benchmark.enabled) return
      const main = await vitest.import<typeof import('./main-process.ts')>(MAIN_PROCESS_MODULE)
      parsers = main.literalParsers
      main.checkOptionsWithCore(resolved)
      const baselineDir = resolve(project.config.root, resolved.baselineDir)
      const update = updateModeFrom(vitest.config.update)
      const runtime: RuntimeConfig = {
        backends: resolved.backends,
        baselineDir,
        tolerance: resolved.tolerance,
        strict: resolved.strict,
        stoppingRule: resolved.stoppingRule,
        verify: resolved.verify,
        confirmRegressions: resolved.confirmRegressions,
        confirmPauseMs: resolved.confirmPauseMs,
        deviceAlias: resolved.deviceAlias,
        update,
        gpubenchVersion: version,
      }
      if (!project.config.setupFiles.includes(SETUP_FILE)) project.config.setupFiles.push(SETUP_FILE)
      project.provide(PROVIDE_KEY, runtime)
      const registered = vitest.config.reporters.some(
        (r) => r instanceof main.GpubenchReporter && r.projectName === project.name,
      )
      if (registered) return
      vitest.config.reporters.push(
        new main.GpubenchReporter({ options: resolved, root: vitest.config.root, projectName: project.name, update }),
      )
      if (wantsProgress(process.env, process.stdout.isTTY)) {
        vitest.config.reporters.push(new ProgressReporter({ projectName: project.name }))
      }
    },
  }
}
