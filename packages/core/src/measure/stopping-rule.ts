/**
 * When a measurement stops. The defaults follow nvbench's (min-samples 10, min-time 0.5 s,
 * max-noise 0.5%, timeout 15 s): enough samples and enough measured time to see the noise, then
 * stop as soon as the median is known to within the noise target, or when the time cap is hit.
 *
 * A rule whose minSamples equals maxSamples is a fixed count: exactly that many samples are
 * taken (unless the time cap hits first) and noise and minimum time are not consulted.
 *
 * Rounds: `measureRounds` splits the budget across `rounds` independent prepares of the target
 * (see engine.ts), because a fresh prepare can land in a different performance mode that no
 * number of samples from one prepare reveals. Each round gets minSamples/rounds (rounded up),
 * minTimeNs/rounds, maxSamples/rounds (rounded down; a fixed count is split exactly) and an equal
 * share of the time left; the noise target applies to the pooled median (see engine.ts).
 */
import { StoppingRuleError } from './errors.ts'

export interface StoppingRule {
  /** Samples always taken before the noise target is consulted (integer, 1 to 1e6). Default 10. */
  minSamples: number
  /** Device time (sum of the samples) always measured before the noise target is consulted. Default 0.5 s. */
  minTimeNs: number
  /**
   * Relative noise target, judged on the half-width of the median's confidence interval relative
   * to the median (see statistics.ts). Default 0.005 (0.5%). Infinity: no target.
   */
  maxNoise: number
  /** Cap on the wall time of the whole measurement, cold run and warm-up included. Default 15 s. Infinity: no cap. */
  maxTimeNs: number
  /** Hard cap on the number of samples (integer, minSamples to 1e6). Default 10 000. */
  maxSamples: number
  /** Runs made and discarded after the cold run, before sampling (integer, 0 to 10 000; not bounded by maxTimeNs). Default 2. */
  warmupRuns: number
  /**
   * Runs per `runnable.run(n)` call (integer, 1 to 100 000), or 'auto': sized from the measured wall time
   * per run so that one call takes about 10 ms, which keeps the cost of a JS call and of the
   * promise per call out of short runs while the rule is still checked often.
   */
  batch: number | 'auto'
  /**
   * Independent prepares the budget is split across (integer, 1 to 100 and <= maxSamples), each with its
   * own cold run, warm-up and samples; the median's interval then includes the spread between
   * them. Default 4. `measure(runnable)` has one runnable and always measures one round.
   */
  rounds: number
}

export const DEFAULT_STOPPING_RULE: StoppingRule = Object.freeze({
  minSamples: 10,
  minTimeNs: 0.5e9,
  maxNoise: 0.005,
  maxTimeNs: 15e9,
  maxSamples: 10_000,
  warmupRuns: 2,
  batch: 'auto',
  rounds: 4,
})

/**
 * The paper's fixed method: one prepare, 10 warm-up launches, then exactly 100 launches back to
 * back (one call), no noise target and no time cap. Report the mean (SampleStats.meanNs) beside
 * the median.
 */
export const PAPER_METHOD: StoppingRule = Object.freeze({
  minSamples: 100,
  minTimeNs: 0,
  maxNoise: Number.POSITIVE_INFINITY,
  maxTimeNs: Number.POSITIVE_INFINITY,
  maxSamples: 100,
  warmupRuns: 10,
  batch: 100,
  rounds: 1,
})

/**
 * Upper bounds of the counts, so a typo (`warmupRuns: 1e9`) is refused at once rather than
 * running out of memory or time: warm-up runs are not bounded by maxTimeNs, one `run(batch)`
 * call returns an array of `batch` durations, and every sample is kept (8 bytes each) and
 * resampled by the bootstrap (time O(samples x resamples)).
 */
export const STOPPING_RULE_LIMITS = Object.freeze({
  /** minSamples and maxSamples: one million samples (8 MB, a bootstrap of seconds). */
  maxSamples: 1_000_000,
  /** Warm-up runs: ten thousand. */
  warmupRuns: 10_000,
  /** Runs per run(n) call: one hundred thousand. */
  batch: 100_000,
  /** Independent prepares: one hundred. */
  rounds: 100,
  /** minTimeNs, and maxTimeNs unless Infinity: one day. */
  timeNs: 86_400e9,
})

const FIELDS = Object.keys(DEFAULT_STOPPING_RULE) as readonly (keyof StoppingRule)[]

/** True when the rule takes a fixed number of samples (minSamples === maxSamples). */
export function isFixedCount(rule: StoppingRule): boolean {
  return rule.minSamples === rule.maxSamples
}

/**
 * The default rule with the given fields replaced, checked. Throws a StoppingRuleError naming
 * the field on an unknown field, a wrong type, or a value out of range. The result is frozen.
 */
export function stoppingRule(partial: Partial<StoppingRule> = {}): StoppingRule {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new StoppingRuleError(
      `stopping rule: expected an object of fields, got ${partial === null ? 'null' : typeof partial}`,
    )
  }
  for (const key of Object.keys(partial)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new StoppingRuleError(`stopping rule: unknown field '${key}'; the fields are ${FIELDS.join(', ')}`)
    }
  }
  const rule: StoppingRule = { ...DEFAULT_STOPPING_RULE }
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (rule as unknown as Record<string, unknown>)[key] = value
  }
  const limits = STOPPING_RULE_LIMITS
  integer(rule, 'minSamples', 1, limits.maxSamples)
  integer(rule, 'maxSamples', 1, limits.maxSamples)
  integer(rule, 'warmupRuns', 0, limits.warmupRuns)
  integer(rule, 'rounds', 1, limits.rounds)
  nonNegative(rule, 'minTimeNs')
  positive(rule, 'maxNoise')
  positive(rule, 'maxTimeNs')
  for (const field of ['minTimeNs', 'maxTimeNs'] as const) {
    const value = rule[field]
    if (Number.isFinite(value) && value > limits.timeNs) {
      throw new StoppingRuleError(
        `stopping rule: field '${field}' must be at most ${limits.timeNs} ns (one day)${field === 'maxTimeNs' ? ' or Infinity' : ''}, got ${value}`,
      )
    }
  }
  if (rule.batch !== 'auto') integer(rule, 'batch', 1, limits.batch, "or 'auto'")
  if (rule.maxSamples < rule.minSamples) {
    throw new StoppingRuleError(
      `stopping rule: field 'maxSamples' (${rule.maxSamples}) must be >= minSamples (${rule.minSamples})`,
    )
  }
  if (rule.rounds > rule.maxSamples) {
    throw new StoppingRuleError(
      `stopping rule: field 'rounds' (${rule.rounds}) must be <= maxSamples (${rule.maxSamples}): every round takes at least one sample`,
    )
  }
  if (rule.maxTimeNs < rule.minTimeNs) {
    throw new StoppingRuleError(
      `stopping rule: field 'maxTimeNs' (${rule.maxTimeNs} ns) must be >= minTimeNs (${rule.minTimeNs} ns): the minimum time could never be reached`,
    )
  }
  return Object.freeze(rule)
}

function got(value: unknown): string {
  return typeof value === 'number' ? String(value) : `${JSON.stringify(value) ?? String(value)} (${typeof value})`
}

function integer(rule: StoppingRule, field: keyof StoppingRule, min: number, max: number, alternative = ''): void {
  const value: unknown = rule[field]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const also = alternative ? ` ${alternative}` : ''
    throw new StoppingRuleError(
      `stopping rule: field '${field}' must be an integer from ${min} to ${max}${also}, got ${got(value)}`,
    )
  }
}

function nonNegative(rule: StoppingRule, field: keyof StoppingRule): void {
  const value: unknown = rule[field]
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new StoppingRuleError(`stopping rule: field '${field}' must be a finite number >= 0, got ${got(value)}`)
  }
}

function positive(rule: StoppingRule, field: keyof StoppingRule): void {
  const value: unknown = rule[field]
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new StoppingRuleError(
      `stopping rule: field '${field}' must be a number > 0 (Infinity allowed), got ${got(value)}`,
    )
  }
}
