/**
 * The bar the regression verdict must hold, shown by a seeded simulation of the real engine
 * (`measureRounds`, DEFAULT_STOPPING_RULE: 4 rounds of independent prepares) on simulated noise
 * (see src/measure/simulation.ts for the models): at most 1% "regressed" on identical
 * distributions (A/A) and at least 95% "regressed" on a 10% slowdown, for the calibration models.
 * For the per-prepare mode model (each prepare 1.0x or 1.3x) the false-alarm bar holds too, while
 * detection is low by nature: a 30% spread between prepares hides a 10% slowdown, and the verdict
 * says so (inconclusive) instead of guessing. 200 trials per model keep the file under 30 s;
 * `node scripts/verdict-simulation.ts` prints the same figures for 1000 trials.
 */
import { describe, expect, test } from 'vitest'
import { CALIBRATION_MODELS, NOISE_MODELS, PER_RUN_MODEL, simulateVerdicts } from '../src/measure/simulation.ts'
import { DEFAULT_STOPPING_RULE } from '../src/measure/stopping-rule.ts'

const TRIALS = 200
const KERNEL_NS = 1e6 // 1 ms per run: the default rule's 0.5 s minimum time then asks for 500 samples

describe('verdict simulation at the default sample budget (1 ms runs)', () => {
  CALIBRATION_MODELS.forEach((model, index) => {
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
      // the runs really are what the default rule collects: at least the minimum time's worth, in every round
      const minSamples = DEFAULT_STOPPING_RULE.minTimeNs / KERNEL_NS
      expect(aa.meanSamples).toBeGreaterThanOrEqual(minSamples * 0.75) // heavy tails spend the minimum time sooner
      expect(aa.meanRounds).toBeCloseTo(DEFAULT_STOPPING_RULE.rounds, 9)
      expect(aa.stoppedBy['fixed-count']).toBe(0)
    }, 60_000)
  })

  test('per-prepare modes (1.0x or 1.3x per prepare): <= 1% false alarms; the rounds widen the interval', async () => {
    const model = NOISE_MODELS.find((m) => m.name === 'per-prepare')
    if (!model) throw new Error('the per-prepare model is missing')
    const [aa, slower] = await simulateVerdicts(model, {
      trials: TRIALS,
      slowdowns: [1, 1.1],
      seed: 2000,
      kernelNs: KERNEL_NS,
    })
    if (!aa || !slower) throw new Error('simulateVerdicts returned fewer results than slowdowns')
    expect(aa.regressedRate).toBeLessThanOrEqual(0.01)
    // one prepare per measurement would call about half of these A/A pairs "regressed" or "faster";
    // with rounds, most pairs are inconclusive: the interval spans the modes
    expect(aa.counts.inconclusive).toBeGreaterThanOrEqual(TRIALS / 2)
    // most measurements stop because the rounds disagree, not at the time cap
    expect(aa.stoppedBy['round-spread']).toBeGreaterThanOrEqual(TRIALS / 2)
    expect(aa.stoppedBy['max-time']).toBe(0)
    // detection is not the bar here (see the file's comment), but it is not zero either
    expect(slower.regressedRate).toBeGreaterThan(0)
  }, 60_000)
})

describe('verdict simulation with whole runs in different modes (each run x exp(0.10·Z))', () => {
  const PER_RUN_TRIALS = 100

  test('a baseline of one run raises false alarms; five separate runs bring them to <= 2% and still catch a 2x slowdown', async () => {
    const [oneAa] = await simulateVerdicts(PER_RUN_MODEL, {
      trials: PER_RUN_TRIALS,
      slowdowns: [1],
      seed: 3001,
      kernelNs: KERNEL_NS,
      baselineRuns: 1,
    })
    const [fiveAa, fiveDoubled] = await simulateVerdicts(PER_RUN_MODEL, {
      trials: PER_RUN_TRIALS,
      slowdowns: [1, 2],
      seed: 3005,
      kernelNs: KERNEL_NS,
      baselineRuns: 5,
    })
    if (!oneAa || !fiveAa || !fiveDoubled) throw new Error('simulateVerdicts returned fewer results than slowdowns')
    // Two runs 10% apart in log-sd differ beyond 5% in most pairs, with tight intervals each.
    expect(oneAa.regressedRate).toBeGreaterThanOrEqual(0.2)
    expect(fiveAa.regressedRate).toBeLessThanOrEqual(0.02)
    expect(fiveDoubled.regressedRate).toBeGreaterThanOrEqual(0.95)
  }, 120_000)

  test('refuses a baseline run count that is not a positive integer', async () => {
    await expect(
      simulateVerdicts(PER_RUN_MODEL, { trials: 1, slowdowns: [1], seed: 1, baselineRuns: 0 }),
    ).rejects.toThrow(/baselineRuns must be an integer >= 1, got 0/)
  })
})
