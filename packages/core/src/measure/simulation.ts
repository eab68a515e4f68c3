/**
 * Seeded simulation of measurements, to calibrate the regression verdict (verdict.ts) and to
 * show the bar it holds: at most 1% "regressed" on identical distributions (A/A) and at least
 * 95% "regressed" on a 10% slowdown.
 *
 * Nothing here is a shortcut around production code: a simulated runnable returns durations
 * drawn from a noise model and advances a virtual clock by what it "ran" (plus a fixed cost per
 * call), and the real `measure()` samples it under the real stopping rule, bootstrap included;
 * the verdict is the real `compareToBaseline`. The virtual clock only makes a 15 s measurement
 * take milliseconds of CPU.
 *
 * Noise models, each a multiplier on the kernel's nominal duration:
 * - log-normal:   exp(0.05·Z), a 5% spread (a noisy CPU rather than a quiet GPU);
 * - heavy-tailed: exp(0.02·Z), and one sample in ten hit by interference that adds
 *                 20%·Pareto(α = 1.2) (a tail whose variance is infinite);
 * - bimodal:      exp(0.02·Z), and three samples in ten 25% slower (two clock states);
 * - drift:        exp(0.02·Z) within the run, and the whole current run multiplied by a factor
 *                 drawn uniformly in [0.97, 1.03] relative to the baseline run;
 * - per-prepare mode: exp(0.02·Z) within a round, and each round (each prepare of a fresh
 *                 runnable) 1.0 or 1.3 times slower with equal probability, as when new buffers
 *                 and thread placement land in one of two performance modes.
 * - per-run mode: exp(0.02·Z) within a run, and each whole run (each process) exp(0.10·Z)
 *                 slower or faster: a process's memory placement, or a shared machine's
 *                 neighbours, that every round of the run shares. With `baselineRuns` set, every
 *                 baseline run draws its own factor too, and the verdict sees the baseline's runs.
 *
 * Measurements go through `measureRounds` under the rule given (DEFAULT_STOPPING_RULE: several
 * rounds), each round a freshly "prepared" simulated runnable on one shared virtual clock.
 */
import type { Runnable } from '../backend.ts'
import { rng } from '../reference.ts'
import { type Measurement, measureRounds } from './engine.ts'
import { type Variates, variates } from './random.ts'
import type { StoppingRule } from './stopping-rule.ts'
import { compareToBaseline, type VerdictKind } from './verdict.ts'

export interface NoiseModel {
  readonly name: string
  readonly description: string
  /** One sample's multiplier on the nominal duration (> 0). */
  sample(random: Variates): number
  /** The multiplier of a whole run relative to the baseline run (1 when the model has no drift). */
  runFactor(random: Variates): number
  /** The multiplier of one prepare (one round) of the runnable (1 when prepares do not differ). */
  prepareFactor(random: Variates): number
}

const noDrift = (): number => 1
const samePrepares = (): number => 1

/** Whole runs differ by a log-normal factor of 10%: what the baseline's separate runs are for. */
export const PER_RUN_MODEL: NoiseModel = Object.freeze({
  name: 'per-run',
  description: 'exp(0.02·Z), each run x exp(0.10·Z)',
  sample: (r: Variates) => Math.exp(0.02 * r.normal()),
  runFactor: (r: Variates) => Math.exp(0.1 * r.normal()),
  prepareFactor: samePrepares,
})

export const NOISE_MODELS: readonly NoiseModel[] = Object.freeze([
  {
    name: 'log-normal',
    description: 'exp(0.05·Z)',
    sample: (r: Variates) => Math.exp(0.05 * r.normal()),
    runFactor: noDrift,
    prepareFactor: samePrepares,
  },
  {
    name: 'heavy-tailed',
    description: 'exp(0.02·Z), 10% of samples + 20%·Pareto(1.2)',
    sample: (r: Variates) => {
      const base = Math.exp(0.02 * r.normal())
      return r.uniform() < 0.1 ? base * (1 + 0.2 * (1 - r.uniform()) ** (-1 / 1.2)) : base
    },
    runFactor: noDrift,
    prepareFactor: samePrepares,
  },
  {
    name: 'bimodal',
    description: 'exp(0.02·Z), 30% of samples 25% slower',
    sample: (r: Variates) => Math.exp(0.02 * r.normal()) * (r.uniform() < 0.3 ? 1.25 : 1),
    runFactor: noDrift,
    prepareFactor: samePrepares,
  },
  {
    name: 'drift',
    description: 'exp(0.02·Z), whole run x U[0.97, 1.03]',
    sample: (r: Variates) => Math.exp(0.02 * r.normal()),
    runFactor: (r: Variates) => 0.97 + 0.06 * r.uniform(),
    prepareFactor: samePrepares,
  },
  {
    name: 'per-prepare',
    description: 'exp(0.02·Z), each prepare x1.0 or x1.3',
    sample: (r: Variates) => Math.exp(0.02 * r.normal()),
    runFactor: noDrift,
    prepareFactor: (r: Variates) => (r.uniform() < 0.5 ? 1 : 1.3),
  },
])

/** The models the verdict's bar is held to; 'per-prepare' is reported beside them. */
export const CALIBRATION_MODELS: readonly NoiseModel[] = Object.freeze(
  NOISE_MODELS.filter((m) => m.name !== 'per-prepare'),
)

export interface SimulatedRunOptions {
  /** Nominal duration of one run, ns. */
  kernelNs: number
  /** Multiplier of the whole run (the slowdown times any drift). */
  factor: number
  seed: number
  /** Host cost of one run(n) call, added to the virtual clock; default 20 µs. */
  callOverheadNs?: number
}

/** A virtual clock in ns, shared by the runnables of one simulated measurement. */
export interface VirtualClock {
  ns: number
}

/**
 * A runnable whose durations come from a noise model, with the virtual clock it advances (a new
 * clock unless one is given: the rounds of one measurement share theirs).
 */
export function simulatedRunnable(
  model: NoiseModel,
  options: SimulatedRunOptions,
  clock: VirtualClock = { ns: 0 },
): { runnable: Runnable; now: () => number } {
  const random = variates(rng(options.seed))
  const overheadNs = options.callOverheadNs ?? 20e3
  const scale = options.kernelNs * options.factor
  const runnable: Runnable = {
    target: { kind: 'function', name: `simulated ${model.name}`, fn: () => undefined },
    device: {
      id: 'simulated',
      backend: 'host',
      name: `simulated (${model.description})`,
      details: { simulated: true },
    },
    timing: 'steady-clock',
    notes: ['simulated durations'],
    async cold() {
      const d = 5 * scale * model.sample(random)
      clock.ns += d + overheadNs
      return d
    },
    async run(n: number) {
      const out = new Array<number>(n)
      let total = overheadNs
      for (let i = 0; i < n; i++) {
        const d = scale * model.sample(random)
        out[i] = d
        total += d
      }
      clock.ns += total
      return out
    },
    async verify() {
      throw new Error('a simulated runnable has nothing to verify')
    },
    async dispose() {},
  }
  return { runnable, now: () => clock.ns }
}

/**
 * Measures one simulated run with the real engine (`measureRounds`): each round prepares a new
 * simulated runnable with its own seed and its own prepare factor drawn from the model.
 */
export function simulateMeasurement(
  model: NoiseModel,
  options: SimulatedRunOptions,
  rule?: Partial<StoppingRule>,
): Promise<Measurement> {
  const clock: VirtualClock = { ns: 0 }
  const seeds = rng(options.seed)
  const prepare = async (): Promise<Runnable> => {
    const seed = Math.floor(seeds() * 2 ** 32)
    const factor = options.factor * model.prepareFactor(variates(rng(seed ^ 0x5bd1e995)))
    return simulatedRunnable(model, { ...options, factor, seed }, clock).runnable
  }
  return measureRounds(prepare, rule, { now: () => clock.ns })
}

export interface VerdictSimulationOptions {
  trials: number
  /** True slowdowns of the current runs: 1 for A/A, 1.1 for a 10% slowdown. */
  slowdowns: readonly number[]
  seed: number
  /** Nominal duration of one run; default 1 ms. */
  kernelNs?: number
  rule?: Partial<StoppingRule>
  tolerance?: number
  ciLevel?: number
  /**
   * Unset: one baseline run at the model's nominal speed, and only the current runs drift (as the
   * first calibration did). A number K >= 1: the baseline is K separate runs, each with its own
   * run factor from the model, the latest as the baseline's statistics and all K as its runs.
   */
  baselineRuns?: number
}

export interface VerdictSimulationResult {
  model: string
  trials: number
  slowdown: number
  counts: Record<VerdictKind, number>
  /** Fraction of trials with the verdict "regressed". */
  regressedRate: number
  /** Mean sample count of the current runs. */
  meanSamples: number
  /** Mean number of rounds of the current runs. */
  meanRounds: number
  stoppedBy: Record<Measurement['stoppedBy'], number>
}

/**
 * Runs `trials` independent trials. Each trial measures a baseline run and, against it, one
 * current run per slowdown (e.g. [1, 1.1]: an A/A run and a 10% slower run), each with its own
 * seed and its own drift; trials are independent of each other, the runs of one trial share the
 * baseline (which halves the baseline measurements without changing any per-slowdown rate).
 */
export async function simulateVerdicts(
  model: NoiseModel,
  options: VerdictSimulationOptions,
): Promise<VerdictSimulationResult[]> {
  const kernelNs = options.kernelNs ?? 1e6
  const results: VerdictSimulationResult[] = options.slowdowns.map((slowdown) => ({
    model: model.name,
    trials: options.trials,
    slowdown,
    counts: { faster: 0, same: 0, slower: 0, regressed: 0, inconclusive: 0 },
    regressedRate: 0,
    meanSamples: 0,
    meanRounds: 0,
    stoppedBy: { noise: 0, 'max-time': 0, 'max-samples': 0, 'fixed-count': 0, 'round-spread': 0 },
  }))
  const seeds = rng(options.seed)
  const seed = (): number => Math.floor(seeds() * 2 ** 32)
  const k = options.baselineRuns
  if (k !== undefined && !(Number.isInteger(k) && k >= 1)) {
    throw new RangeError(`simulateVerdicts: baselineRuns must be an integer >= 1, got ${k}`)
  }
  for (let t = 0; t < options.trials; t++) {
    const baselineRuns: Measurement[] = []
    for (let i = 0; i < (k ?? 1); i++) {
      const factor = k === undefined ? 1 : model.runFactor(variates(rng(seed())))
      baselineRuns.push(await simulateMeasurement(model, { kernelNs, factor, seed: seed() }, options.rule))
    }
    const baseline = baselineRuns.at(-1)!
    const verdictOptions = {
      tolerance: options.tolerance,
      ciLevel: options.ciLevel,
      ...(k === undefined ? {} : { baselineRuns: baselineRuns.map((run) => run.stats) }),
    }
    for (const result of results) {
      const drift = model.runFactor(variates(rng(seed())))
      const factor = result.slowdown * drift
      const current = await simulateMeasurement(model, { kernelNs, factor, seed: seed() }, options.rule)
      result.counts[compareToBaseline(current.stats, baseline.stats, verdictOptions).kind]++
      result.stoppedBy[current.stoppedBy]++
      result.meanSamples += current.stats.n / options.trials
      result.meanRounds += current.rounds / options.trials
    }
  }
  for (const result of results) result.regressedRate = result.counts.regressed / options.trials
  return results
}
