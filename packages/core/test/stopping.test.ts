import { describe, expect, test } from 'vitest'
import { StoppingRuleError } from '../src/measure/errors.ts'
import {
  DEFAULT_STOPPING_RULE,
  isFixedCount,
  PAPER_METHOD,
  STOPPING_RULE_LIMITS,
  type StoppingRule,
  stoppingRule,
} from '../src/measure/stopping-rule.ts'

describe('stopping rules', () => {
  test("defaults follow nvbench's: 10 samples, 0.5 s, 0.5% noise, 15 s cap", () => {
    expect(DEFAULT_STOPPING_RULE).toEqual({
      minSamples: 10,
      minTimeNs: 0.5e9,
      maxNoise: 0.005,
      maxTimeNs: 15e9,
      maxSamples: 10_000,
      warmupRuns: 2,
      batch: 'auto',
      rounds: 4,
    })
    expect(stoppingRule()).toEqual(DEFAULT_STOPPING_RULE)
    expect(Object.isFrozen(DEFAULT_STOPPING_RULE)).toBe(true)
  })

  test("the paper's method: 10 warm-up runs, exactly 100 samples in one call", () => {
    expect(PAPER_METHOD).toMatchObject({ warmupRuns: 10, minSamples: 100, maxSamples: 100, batch: 100, rounds: 1 })
    expect(isFixedCount(PAPER_METHOD)).toBe(true)
    expect(isFixedCount(DEFAULT_STOPPING_RULE)).toBe(false)
    expect(stoppingRule(PAPER_METHOD)).toEqual(PAPER_METHOD)
  })

  test('replaces only the given fields; undefined keeps the default', () => {
    const rule = stoppingRule({ minSamples: 50, maxNoise: 0.01, batch: 8, warmupRuns: undefined })
    expect(rule).toEqual({ ...DEFAULT_STOPPING_RULE, minSamples: 50, maxNoise: 0.01, batch: 8 })
    expect(Object.isFrozen(rule)).toBe(true)
  })

  const bad: Array<[Partial<Record<keyof StoppingRule, unknown>>, RegExp]> = [
    [{ minSamples: 0 }, /field 'minSamples' must be an integer from 1 to 1000000, got 0/],
    [{ minSamples: 2.5 }, /field 'minSamples' must be an integer from 1 to 1000000, got 2.5/],
    [{ maxSamples: Number.NaN }, /field 'maxSamples' must be an integer from 1 to 1000000, got NaN/],
    [{ warmupRuns: -1 }, /field 'warmupRuns' must be an integer from 0 to 10000, got -1/],
    [{ minTimeNs: -5 }, /field 'minTimeNs' must be a finite number >= 0, got -5/],
    [{ minTimeNs: '1s' }, /field 'minTimeNs' must be a finite number >= 0, got "1s" \(string\)/],
    [{ maxNoise: 0 }, /field 'maxNoise' must be a number > 0/],
    [{ maxNoise: Number.NaN }, /field 'maxNoise' must be a number > 0/],
    [{ maxTimeNs: -1 }, /field 'maxTimeNs' must be a number > 0/],
    [{ batch: 0 }, /field 'batch' must be an integer from 1 to 100000 or 'auto', got 0/],
    [{ batch: 'fast' }, /field 'batch' must be an integer from 1 to 100000 or 'auto', got "fast"/],
    [{ minSamples: 20, maxSamples: 10 }, /field 'maxSamples' \(10\) must be >= minSamples \(20\)/],
    [{ minTimeNs: 2e9, maxTimeNs: 1e9 }, /field 'maxTimeNs' .* must be >= minTimeNs/],
    [{ rounds: 0 }, /field 'rounds' must be an integer from 1 to 100, got 0/],
    [{ rounds: 1.5 }, /field 'rounds' must be an integer from 1 to 100, got 1.5/],
    [{ rounds: 5, minSamples: 3, maxSamples: 4 }, /field 'rounds' \(5\) must be <= maxSamples \(4\)/],
    // Upper bounds: values that would run out of memory or never end are refused before any work.
    [{ warmupRuns: 1e9 }, /field 'warmupRuns' must be an integer from 0 to 10000, got 1000000000/],
    [{ batch: 1e9 }, /field 'batch' must be an integer from 1 to 100000 or 'auto', got 1000000000/],
    [{ maxSamples: 2 ** 31 - 1 }, /field 'maxSamples' must be an integer from 1 to 1000000/],
    [{ minSamples: 1e7, maxSamples: 1e7 }, /field 'minSamples' must be an integer from 1 to 1000000/],
    [{ rounds: 101 }, /field 'rounds' must be an integer from 1 to 100, got 101/],
    [{ minTimeNs: 1e15, maxTimeNs: Number.POSITIVE_INFINITY }, /field 'minTimeNs' must be at most 86400000000000 ns/],
    [{ maxTimeNs: 1e15 }, /field 'maxTimeNs' must be at most 86400000000000 ns \(one day\) or Infinity/],
  ]
  for (const [partial, message] of bad) {
    test(`refuses ${JSON.stringify(partial)}`, () => {
      expect(() => stoppingRule(partial as Partial<StoppingRule>)).toThrow(StoppingRuleError)
      expect(() => stoppingRule(partial as Partial<StoppingRule>)).toThrow(message)
    })
  }

  test('refuses an unknown field (a typo) and a non-object', () => {
    expect(() => stoppingRule({ minSample: 5 } as unknown as Partial<StoppingRule>)).toThrow(
      /unknown field 'minSample'; the fields are minSamples, /,
    )
    expect(() => stoppingRule(null as unknown as Partial<StoppingRule>)).toThrow(
      /expected an object of fields, got null/,
    )
  })

  test('accepts every bound itself', () => {
    const { maxSamples, warmupRuns, batch, rounds, timeNs } = STOPPING_RULE_LIMITS
    expect(
      stoppingRule({
        minSamples: maxSamples,
        maxSamples,
        warmupRuns,
        batch,
        rounds,
        minTimeNs: timeNs,
        maxTimeNs: timeNs,
      }),
    ).toMatchObject({ batch, rounds })
  })

  test('accepts Infinity as "no cap" and "no noise target"', () => {
    expect(stoppingRule({ maxTimeNs: Number.POSITIVE_INFINITY, maxNoise: Number.POSITIVE_INFINITY })).toMatchObject({
      maxTimeNs: Number.POSITIVE_INFINITY,
      maxNoise: Number.POSITIVE_INFINITY,
    })
  })
})
