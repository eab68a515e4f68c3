import { gpubench } from '@gpubench/vitest-plugin'
import { defineConfig } from 'vitest/config'

// A user's project: the plugin from its installed package, a short stopping rule for a 2-core machine.
export default defineConfig({
  plugins: [
    gpubench({
      baselineDir: 'baselines',
      backends: ['host', 'cpu', 'webgpu'],
      tolerance: 0.1,
      stoppingRule: { minSamples: 30, minTimeNs: 0.2e9, maxNoise: 0.02, maxTimeNs: 2e9, rounds: 2 },
    }),
  ],
  test: { benchmark: { include: ['bench/**/*.bench.ts'] } },
})
