/**
 * A plain Node script that benchmarks on WebGPU must exit by itself when it ends: Dawn can keep a
 * process alive while its instance is referenced, which would hang CI after a run.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { unavailable } from './adapter.ts'

const script = fileURLToPath(new URL('./fixtures/exit-script.ts', import.meta.url))

describe.skipIf(unavailable)('process exit', () => {
  for (const mode of ['dispose', 'no-dispose', 'no-shutdown']) {
    it(`a script exits by itself (${mode})`, () => {
      const child = spawnSync(process.execPath, ['--experimental-transform-types', '--no-warnings', script, mode], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      })
      expect(child.error).toBeUndefined() // a timeout (ETIMEDOUT) means the process hung
      expect(child.status, child.stderr).toBe(0)
      expect(child.stdout).toMatch(/ran 3 samples on webgpu-/)
    }, 40_000)
  }
})
