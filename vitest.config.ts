import { defineConfig } from 'vitest/config'
import { gpubench } from './packages/vitest-plugin/src/node/config.ts'

// `vitest run`: the unit tests of every package. `vitest bench`: the suites, measured by gpubench,
// compared with baselines/<device-id>.json (`vitest bench -u` records this device's entries).
export default defineConfig({
  plugins: [gpubench({ baselineDir: 'baselines' })],
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    benchmark: { include: ['suites/**/*.bench.ts'] },
  },
})
