/**
 * A project whose vitest.config.ts lacks gpubench(): `bench.gpu` must say to add the plugin,
 * rather than fail with `TypeError: bench.gpu is not a function`. Runs `vitest bench` on the
 * fixture in a temporary copy whose node_modules link to this workspace's packages.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, expect, test } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const PLUGIN_DIR = resolve(here, '..')
const dir = mkdtempSync(join(tmpdir(), 'gpubench-no-plugin-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('without gpubench() in the config, bench.gpu() names the missing plugin', () => {
  cpSync(join(here, 'fixtures', 'no-plugin'), dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n')
  mkdirSync(join(dir, 'node_modules', '@gpubench'), { recursive: true })
  const vitestDir = realpathSync(join(PLUGIN_DIR, 'node_modules', 'vitest'))
  symlinkSync(vitestDir, join(dir, 'node_modules', 'vitest'))
  symlinkSync(PLUGIN_DIR, join(dir, 'node_modules', '@gpubench', 'vitest-plugin'))
  symlinkSync(resolve(PLUGIN_DIR, '..', 'core'), join(dir, 'node_modules', '@gpubench', 'core'))
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: '' }
  for (const key of Object.keys(env)) if (/^(VITEST|GPUBENCH_)/.test(key) || key === 'NODE_ENV') delete env[key]
  const run = spawnSync(process.execPath, [join(vitestDir, 'vitest.mjs'), 'bench', '--run'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  })
  const output = stripVTControlCharacters(`${run.stdout}${run.stderr}`)
  expect(run.status, output).toBe(1)
  expect(output).toContain("bench.gpu() needs the gpubench plugin: add gpubench() from '@gpubench/vitest-plugin'")
  expect(output).not.toContain('is not a function')
})
