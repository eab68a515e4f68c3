/**
 * The bar the regression verdict must hold, shown by seeded simulations (see
 * scripts/verdict-model.ts for the models).
 * 1. The engine's intervals, from the real engine (`measureRounds`, DEFAULT_STOPPING_RULE: 4
 *    rounds of independent prepares), one run against one run: at most 1% of A/A intervals
 *    beyond the tolerance, at least 95% of a 10% slowdown's, for the calibration models.
 * 2. The gate per run: 51 benchmarks, Holm at 1%, baselines of K separate runs: at most 1% of
 *    runs of unchanged code fail, for every run-level model (modes, spells, drift, ...).
 * For the per-prepare mode model (each prepare 1.0x or 1.3x) the false-alarm bar holds too, while
 * detection is low by nature: a 30% spread between prepares hides a 10% slowdown, and the verdict
 * says so (inconclusive) instead of guessing. 200 trials per model keep the file under 30 s;
 * `node scripts/verdict-simulation.ts` prints the same figures for 1000 trials.
 */
import { describe, expect, test } from 'vitest'
import {
  CALIBRATION_MODELS,
  NOISE_MODELS,
  PER_RUN_MODEL,
  RUN_NOISE_MODELS,
  simulateRunLevel,
  simulateVerdicts,
} from '../scripts/verdict-model.ts'
import { DEFAULT_STOPPING_RULE } from '../src/measure/stopping-rule.ts'

const TRIALS = 200
const KERNEL_NS = 1e6 // 1 ms per run: the default rule's 0.5 s minimum time then asks for 500 samples

describe('verdict simulation at the default sample budget (1 ms runs)', () => {
  CALIBRATION_MODELS.forEach((model, index) => {
    test(`${model.name}: <= 1% of A/A intervals beyond the tolerance, >= 95% of a 10% slowdown's`, async () => {
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
      expect(aa.beyondToleranceRate).toBeLessThanOrEqual(0.01)
      expect(slower.beyondToleranceRate).toBeGreaterThanOrEqual(0.95)
      // one run against one: the spread between runs is unknown, so none of these is 'regressed'
      expect(slower.regressedRate).toBeLessThan(0.5)
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
    expect(aa.beyondToleranceRate).toBeLessThanOrEqual(0.01)
    expect(aa.regressedRate).toBe(0)
    // one prepare per measurement would call about half of these A/A pairs "regressed" or "faster";
    // with rounds, most pairs are inconclusive: the interval spans the modes
    expect(aa.counts.inconclusive).toBeGreaterThanOrEqual(TRIALS / 2)
    // most measurements stop because the rounds disagree, not at the time cap
    expect(aa.stoppedBy['round-spread']).toBeGreaterThanOrEqual(TRIALS / 2)
    expect(aa.stoppedBy['max-time']).toBe(0)
    // detection is not the bar here (see the file's comment), but it is not zero either
    expect(slower.beyondToleranceRate).toBeGreaterThan(0)
  }, 60_000)
})

describe('the gate per run: 51 benchmarks, Holm at 1%, baselines of K separate runs', () => {
  const RUN_TRIALS = 200

  RUN_NOISE_MODELS.forEach((model, index) => {
    test(`${model.name}: at most 1% of unchanged runs fail, with K = 3 and 10 baseline runs`, () => {
      for (const k of [3, 10]) {
        const result = simulateRunLevel(model, {
          trials: RUN_TRIALS,
          baselineRuns: k,
          slowdowns: [2],
          seed: 5000 + 100 * index + k,
        })
        expect(result.trials).toBe(RUN_TRIALS)
        expect(result.falseFailureRate, `${model.name}, K = ${k}`).toBeLessThanOrEqual(0.01)
      }
    }, 60_000)
  })

  test('without the run-level procedure (each comparison at 1% alone, no run-wide shift), slow spells fail runs', () => {
    const spells = RUN_NOISE_MODELS.find((m) => m.name === 'spells')!
    const options = { trials: 200, baselineRuns: 5, slowdowns: [], seed: 6001 }
    expect(simulateRunLevel(spells, { ...options, correction: 'none' }).falseFailureRate).toBeGreaterThan(0.03)
    expect(simulateRunLevel(spells, options).falseFailureRate).toBeLessThanOrEqual(0.01)
  })

  test('a dedicated machine with 5 baseline runs catches 25% and 2x in one benchmark of 51', () => {
    const dedicated = RUN_NOISE_MODELS.find((m) => m.name === 'dedicated')!
    const result = simulateRunLevel(dedicated, { trials: 100, baselineRuns: 5, slowdowns: [1.25, 2], seed: 6002 })
    expect(result.detection.map((d) => d.rate)).toEqual([1, 1])
    expect(result.medianDetectableRatio).toBeLessThan(1.25)
  })

  test('a one-run baseline claims nothing it cannot know: no 2x is called a regression at 51 benchmarks', () => {
    const perRun = RUN_NOISE_MODELS.find((m) => m.name === 'per-run 10%')!
    const result = simulateRunLevel(perRun, { trials: 50, baselineRuns: 1, slowdowns: [2], seed: 6003 })
    expect(result.falseFailureRate).toBe(0)
    expect(result.medianDetectableRatio).toBeGreaterThan(10)
  })

  test('refuses a baseline run count that is not a positive integer', async () => {
    expect(() =>
      simulateRunLevel(RUN_NOISE_MODELS[0]!, { trials: 1, baselineRuns: 0, slowdowns: [], seed: 1 }),
    ).toThrow(/baselineRuns must be >= 1, got 0/)
    await expect(
      simulateVerdicts(PER_RUN_MODEL, { trials: 1, slowdowns: [1], seed: 1, baselineRuns: 0 }),
    ).rejects.toThrow(/baselineRuns must be an integer >= 1, got 0/)
  })
})
