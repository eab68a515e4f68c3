import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'
import { gpubench } from './packages/vitest-plugin/src/node/config.ts'

// This project's own runners are 2-vCPU Linux VMs whose CPU type changes from job to job (AMD
// EPYC or Intel Xeon): they share the pool `vm-2c` (baselines/<backend>-vm-2c.json, runs of both
// types), so the gate is never blind on either. Any other machine keeps its own device id.
// GPUBENCH_DEVICE_ALIAS overrides (an empty value is refused, so unset it to opt out).
const sharedVm = process.platform === 'linux' && availableParallelism() === 2

// `vitest run`: the unit tests of every package. `vitest bench`: the suites, measured by gpubench,
// compared with this machine's (or pool's) baseline files (`vitest bench -u` records them).
export default defineConfig({
  plugins: [
    gpubench({
      baselineDir: 'baselines',
      ...(sharedVm && !process.env.GPUBENCH_DEVICE_ALIAS ? { deviceAlias: 'vm-2c' } : {}),
    }),
  ],
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    benchmark: { include: ['suites/**/*.bench.ts'] },
  },
})
