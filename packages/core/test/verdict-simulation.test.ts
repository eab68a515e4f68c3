/**
 * The bar the regression verdict must hold, shown by a seeded simulation of the real engine under
 * DEFAULT_STOPPING_RULE (see src/measure/simulation.ts for the noise models): over 1000 trials per
 * model, at most 1% "regressed" on identical distributions (A/A) and at least 95% "regressed" on
 * a 10% slowdown. `node scripts/verdict-simulation.ts` prints the same figures.
 */
import { describe, expect, test } from 'vitest'
import { NOISE_MODELS, simulateVerdicts } from '../src/measure/simulation.ts'
import { DEFAULT_STOPPING_RULE } from '../src/measure/stopping-rule.ts'

const TRIALS = 1000
const KERNEL_NS = 1e6 // 1 ms per run: the default rule's 0.5 s minimum time then asks for 500 samples

describe('verdict simulation at the default sample budget (1 ms runs)', () => {
  NOISE_MODELS.forEach((model, index) => {
    test(`${model.name}: <= 1% false alarms (A/A), >= 95% detection of a 10% slowdown`, async () => {
      const [aa, slower] = await simulateVerdicts(model, {
        trials: TRIALS,
        slowdowns: [1, 1.1],
        seed: 1000 + index,
        kernelNs: KERNEL_NS,
      })
      if (!aa || !slower) throw new Error('simulateVerdicts returned fewer results than slowdowns')
      expect(aa.trials).toBe(TRIALS)
      expect(slower.trials).toBe(TRIALS)
      expect(Object.values(aa.counts).reduce((a, b) => a + b)).toBe(TRIALS)
      expect(aa.regressedRate).toBeLessThanOrEqual(0.01)
      expect(slower.regressedRate).toBeGreaterThanOrEqual(0.95)
      // the runs really are what the default rule collects: at least the minimum time's worth
      const minSamples = DEFAULT_STOPPING_RULE.minTimeNs / KERNEL_NS
      expect(aa.meanSamples).toBeGreaterThanOrEqual(minSamples * 0.75) // heavy tails spend the minimum time sooner
      expect(aa.stoppedBy.noise + aa.stoppedBy['max-time'] + aa.stoppedBy['max-samples']).toBe(TRIALS)
    }, 120_000)
  })
})
