/**
 * Measurement in rounds: the two-level bootstrap of the pooled median (hierarchical-bootstrap.ts),
 * the pooled summary (summarizeRounds) and the engine's `measureRounds`, on a virtual clock.
 */
import { describe, expect, test } from 'vitest'
import type { DeviceDescription, Runnable } from '../src/backend.ts'
import { bootstrapMedianInterval, DEFAULT_SEED } from '../src/measure/bootstrap.ts'
import { measure, measureRounds } from '../src/measure/engine.ts'
import { hierarchicalMedianInterval } from '../src/measure/hierarchical-bootstrap.ts'
import { rng, variates } from '../src/measure/random.ts'
import { interpolate, type SortedSamples, sortSamples } from '../src/measure/sample.ts'
import { summarize, summarizeRounds, summarizeSorted } from '../src/measure/statistics.ts'
import { PAPER_METHOD } from '../src/measure/stopping-rule.ts'

const OPTIONS = { level: 0.95, resamples: 2000, seed: DEFAULT_SEED }

function logNormalRound(seed: number, n: number, scale: number, sigma: number): SortedSamples {
  const random = variates(rng(seed))
  return sortSamples(Array.from({ length: n }, () => scale * Math.exp(sigma * random.normal())))
}

/** The textbook two-level bootstrap: rounds with replacement, then samples within each, pooled median. */
function explicitTwoLevel(rounds: readonly SortedSamples[], resamples: number, seed: number) {
  const uniform = rng(seed)
  const medians = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    const pooled: number[] = []
    for (let j = 0; j < rounds.length; j++) {
      const round = rounds[Math.floor(uniform() * rounds.length)] as SortedSamples
      for (let i = 0; i < round.length; i++) pooled.push(round[Math.floor(uniform() * round.length)] as number)
    }
    pooled.sort((a, b) => a - b)
    medians[b] = interpolate(pooled, 0.5)
  }
  medians.sort()
  return { lowNs: interpolate(medians, 0.025), highNs: interpolate(medians, 0.975) }
}

describe('two-level bootstrap of the pooled median', () => {
  test('one round gives exactly the one-level interval, and summarizeRounds equals summarizeSorted', () => {
    const round = logNormalRound(1, 301, 1e6, 0.05)
    expect(hierarchicalMedianInterval([round], OPTIONS)).toEqual(bootstrapMedianInterval(round, OPTIONS))
    expect(summarizeRounds([round])).toEqual(summarizeSorted(round))
  })

  test('seeded: the same rounds give the same interval; another seed another one', () => {
    const rounds = [1, 2, 3].map((s) => logNormalRound(s, 200, 1e6 * (1 + 0.02 * s), 0.03))
    const a = hierarchicalMedianInterval(rounds, OPTIONS)
    expect(hierarchicalMedianInterval(rounds, OPTIONS)).toEqual(a)
    expect(hierarchicalMedianInterval(rounds, { ...OPTIONS, seed: 7 })).not.toEqual(a)
  })

  test('rounds in two performance modes widen the interval to span both; one-level pooling does not', () => {
    const rounds = [
      logNormalRound(4, 300, 1e6, 0.01),
      logNormalRound(5, 300, 1e6, 0.01),
      logNormalRound(6, 300, 1.3e6, 0.01),
    ]
    const pooled = sortSamples(rounds.flat())
    const naive = bootstrapMedianInterval(pooled, OPTIONS)
    const two = hierarchicalMedianInterval(rounds, OPTIONS)
    expect((naive.highNs - naive.lowNs) / 1e6).toBeLessThan(0.01)
    expect(two.lowNs).toBeLessThan(1.01e6)
    expect(two.highNs).toBeGreaterThan(1.25e6)
  })

  test('agrees with explicit resampling of rounds and samples (the linearised second level)', () => {
    const rounds = [
      logNormalRound(8, 250, 1e6, 0.05),
      logNormalRound(9, 250, 1.03e6, 0.05),
      logNormalRound(10, 250, 1.06e6, 0.05),
      logNormalRound(11, 250, 1.01e6, 0.05),
    ]
    const fast = hierarchicalMedianInterval(rounds, OPTIONS)
    const slow = explicitTwoLevel(rounds, 2000, 99)
    const width = slow.highNs - slow.lowNs
    expect(width).toBeGreaterThan(0.02e6)
    expect(Math.abs(fast.lowNs - slow.lowNs)).toBeLessThan(0.15 * width)
    expect(Math.abs(fast.highNs - slow.highNs)).toBeLessThan(0.15 * width)
  })

  test('rounds of one distribution: about the pooled interval, at most the √2 of the double-counted within-round noise', () => {
    const rounds = [12, 13, 14, 15].map((s) => logNormalRound(s, 400, 1e6, 0.05))
    const naive = bootstrapMedianInterval(sortSamples(rounds.flat()), OPTIONS)
    const two = hierarchicalMedianInterval(rounds, OPTIONS)
    const ratio = (two.highNs - two.lowNs) / (naive.highNs - naive.lowNs)
    expect(ratio).toBeGreaterThan(0.6)
    expect(ratio).toBeLessThan(2.2)
  })

  test('summarizeRounds: every field of all samples pooled but the interval, which holds the median', () => {
    const rounds = [logNormalRound(16, 100, 1e6, 0.02), logNormalRound(17, 120, 1.2e6, 0.02)]
    const stats = summarizeRounds(rounds)
    const pooled = summarize(rounds.flat())
    expect({ ...stats, ciLowNs: 0, ciHighNs: 0 }).toEqual({ ...pooled, ciLowNs: 0, ciHighNs: 0 })
    expect(stats.n).toBe(220)
    expect(stats.ciLowNs).toBeLessThanOrEqual(stats.medianNs)
    expect(stats.ciHighNs).toBeGreaterThanOrEqual(stats.medianNs)
    expect(stats.ciHighNs - stats.ciLowNs).toBeGreaterThan(pooled.ciHighNs - pooled.ciLowNs)
  })

  test('short rounds far apart: the interval stays within the samples (the linear shift is held to their range)', () => {
    const fast = sortSamples([1, 1, 1, 1, 1, 1, 1, 1, 1, 1.1])
    const slow = sortSamples([50, 60, 70, 80, 90, 100, 110, 120, 130, 1000])
    const ci = hierarchicalMedianInterval([fast, fast, slow], OPTIONS)
    expect(ci.lowNs).toBeGreaterThanOrEqual(1)
    expect(ci.highNs).toBeLessThanOrEqual(1000)
    expect(ci.highNs).toBeGreaterThan(50) // the slow round is in reach
    expect(summarizeRounds([fast, fast, slow]).ciLowNs).toBeGreaterThan(0)
  })

  test('refuses no rounds, and a bad level, naming the problem', () => {
    expect(() => summarizeRounds([])).toThrow(/no rounds/)
    expect(() => hierarchicalMedianInterval([], OPTIONS)).toThrow(/no rounds/)
    const rounds = [logNormalRound(1, 10, 1, 0.1), logNormalRound(2, 10, 1, 0.1)]
    expect(() => hierarchicalMedianInterval(rounds, { ...OPTIONS, level: 1 })).toThrow(/ciLevel must be in \(0, 1\)/)
  })
})

const device: DeviceDescription = { id: 'fake-gpu-1', backend: 'cuda', name: 'Fake GPU', details: {} }

/** A factory of runnables on one virtual clock; round k's runs last duration(k, i) ns. */
function factory(duration: (round: number, i: number) => number, coldNs = 5e6) {
  const clock = { ns: 0 }
  const log: string[] = []
  const calls: number[][] = []
  let prepared = 0
  const prepare = async (): Promise<Runnable> => {
    const round = prepared++
    let runs = 0
    calls.push([])
    log.push(`prepare ${round}`)
    return {
      target: { kind: 'function', name: 'fake', fn: () => undefined },
      device,
      timing: 'cuda-events',
      notes: [],
      async cold() {
        log.push(`cold ${round}`)
        clock.ns += coldNs + round
        return coldNs + round
      },
      async run(n: number) {
        calls[round]?.push(n)
        const out: number[] = []
        for (let i = 0; i < n; i++) out.push(duration(round, runs++))
        clock.ns += 10e3 + out.reduce((a, b) => a + b, 0)
        return out
      },
      async verify() {
        throw new Error('not used')
      },
      async dispose() {
        log.push(`dispose ${round}`)
      },
    }
  }
  return { prepare, now: () => clock.ns, log, calls, prepared: () => prepared }
}

describe('measureRounds', () => {
  test('prepares, measures and disposes each round in turn; only the first cold run is reported', async () => {
    const noise = variates(rng(20))
    const f = factory(() => 1e6 * Math.exp(0.01 * noise.normal()), 40e6)
    const seen: number[] = []
    const m = await measureRounds(f.prepare, { rounds: 3 }, { now: f.now, onRound: (_, k) => void seen.push(k) })
    expect(f.log).toEqual([
      'prepare 0',
      'cold 0',
      'dispose 0',
      'prepare 1',
      'cold 1',
      'dispose 1',
      'prepare 2',
      'cold 2',
      'dispose 2',
    ])
    expect(seen).toEqual([0, 1, 2])
    expect(m.coldNs).toBe(40e6)
    expect(m.samplesNs).not.toContain(40e6 + 1)
    expect(m.rounds).toBe(3)
    expect(m.roundMediansNs).toHaveLength(3)
    expect(m.stats.n).toBe(m.samplesNs.length)
    expect(m.wallTimeNs).toBe(f.now())
    // every round its warm-up, then its share of the minimum time (0.5 s / 3 of 1 ms runs)
    for (const calls of f.calls) expect(calls[0]).toBe(2)
    expect(m.stats.n).toBeGreaterThanOrEqual(3 * Math.ceil(0.5e9 / 3 / 1e6) - 3)
  })

  test('the onRound hook sees the live runnable; an error there disposes it and ends the measurement', async () => {
    const f = factory(() => 1e6)
    await expect(
      measureRounds(
        f.prepare,
        { rounds: 3 },
        {
          now: f.now,
          onRound: (_, k) => {
            if (k === 1) throw new Error('verification failed in round 1')
          },
        },
      ),
    ).rejects.toThrow('verification failed in round 1')
    expect(f.log.at(-1)).toBe('dispose 1')
    expect(f.prepared()).toBe(2)
  })

  test('one round equals measure() on one prepared runnable', async () => {
    const a = factory((_, i) => 1e6 + ((i * 7919) % 1000))
    const b = factory((_, i) => 1e6 + ((i * 7919) % 1000))
    const rounds = await measureRounds(a.prepare, { rounds: 1 }, { now: a.now })
    const single = await measure(await b.prepare(), { rounds: 1 }, { now: b.now })
    expect(rounds).toEqual(single)
    expect(rounds.rounds).toBe(1)
  })

  test('a fixed count is split exactly across rounds; the paper method stays one prepare', async () => {
    const f = factory((_, i) => 1e5 + i)
    const m = await measureRounds(
      f.prepare,
      { minSamples: 100, maxSamples: 100, batch: 100, rounds: 3 },
      { now: f.now },
    )
    expect(f.calls).toEqual([
      [2, 34],
      [2, 33],
      [2, 33],
    ])
    expect(m.stats.n).toBe(100)
    expect(m.stoppedBy).toBe('fixed-count')
    const p = factory((_, i) => 1e5 + i)
    const paper = await measureRounds(p.prepare, PAPER_METHOD, { now: p.now })
    expect(p.calls).toEqual([[10, 100]])
    expect(paper.rounds).toBe(1)
  })

  test('rounds in different modes: a wide interval, stopped as round-spread, well before the time cap', async () => {
    const noise = variates(rng(21))
    const modes = [1, 1.3, 1, 1.3]
    const f = factory((k, _) => 1e6 * (modes[k] as number) * Math.exp(0.01 * noise.normal()))
    const m = await measureRounds(f.prepare, { rounds: 4 }, { now: f.now })
    expect(m.stoppedBy).toBe('round-spread')
    expect(m.relativeNoise).toBeGreaterThan(0.05)
    expect(m.stats.ciLowNs).toBeLessThan(1.02e6)
    expect(m.stats.ciHighNs).toBeGreaterThan(1.28e6)
    expect(m.roundMediansNs.map((x) => Math.round(x / 1e5) / 10)).toEqual([1, 1.3, 1, 1.3])
    expect(m.wallTimeNs).toBeLessThan(2e9) // the 15 s cap is far away
  })

  test('rounds of one mode stop by noise, the pooled interval within the target', async () => {
    const noise = variates(rng(22))
    const f = factory(() => 1e6 * Math.exp(0.01 * noise.normal()))
    const m = await measureRounds(f.prepare, { rounds: 4 }, { now: f.now })
    expect(m.stoppedBy).toBe('noise')
    expect(m.relativeNoise).toBeLessThanOrEqual(0.005)
  })

  test('the time cap: the left time is shared by the rounds to come, and no round starts once it is spent', async () => {
    const f = factory(() => 100e6)
    const m = await measureRounds(f.prepare, { rounds: 4, maxTimeNs: 2e9, minTimeNs: 0 }, { now: f.now })
    expect(m.stoppedBy).toBe('max-time')
    expect(m.rounds).toBeLessThanOrEqual(4)
    expect(f.prepared()).toBe(m.rounds)
    expect(m.wallTimeNs).toBeLessThan(3e9)
    const g = factory(() => 3e9)
    const n = await measureRounds(g.prepare, { rounds: 4, maxTimeNs: 2e9, minTimeNs: 0, warmupRuns: 0 }, { now: g.now })
    expect(n.rounds).toBe(1)
    expect(n.stats.n).toBe(1)
  })
})
