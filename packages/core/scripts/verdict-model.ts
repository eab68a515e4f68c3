/**
 * Seeded simulation of measurements, to calibrate the regression verdict (verdict.ts) and to
 * show the bars it holds: one run against one run, at most 1% of A/A intervals beyond the
 * tolerance and at least 95% of a 10% slowdown's (`simulateVerdicts`, on the real engine); and
 * per run of many benchmarks, at most 1% of runs of unchanged code with any `regressed`
 * (`simulateRunLevel`, below).
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
import type { Runnable } from '../src/backend.ts'
import { type Measurement, measureRounds } from '../src/measure/engine.ts'
import { rng, type Variates, variates } from '../src/measure/random.ts'
import { judgeRun, singleRegressionLevel } from '../src/measure/run-level.ts'
import type { StoppingRule } from '../src/measure/stopping-rule.ts'
import {
  compareToBaseline,
  DEFAULT_RUN_ERROR_RATE,
  detectableRatio,
  deviceRunNoisePrior,
  type RunStats,
  type VerdictKind,
} from '../src/measure/verdict.ts'

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
  /**
   * Fraction of trials whose interval lies beyond the tolerance (ratioLow > 1 + tolerance): the
   * claim the engine's intervals make about one run against one run. Whether that is a
   * `regressed` also depends on how whole runs differ (verdict.ts, steps 7-9), which these
   * models, measured against one baseline run, do not sample; see `simulateRunLevel`.
   */
  beyondToleranceRate: number
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
    beyondToleranceRate: 0,
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
      const verdict = compareToBaseline(current.stats, baseline.stats, verdictOptions)
      result.counts[verdict.kind]++
      if (verdict.ratioLow > 1 + verdict.tolerance) result.beyondToleranceRate += 1 / options.trials
      result.stoppedBy[current.stoppedBy]++
      result.meanSamples += current.stats.n / options.trials
      result.meanRounds += current.rounds / options.trials
    }
  }
  for (const result of results) result.regressedRate = result.counts.regressed / options.trials
  return results
}

/**
 * The run-level simulation: whole runs of many benchmarks, with the noise measured between
 * separate processes on shared machines, to show what the gate promises per run (at most 1% of
 * runs of unchanged code with any `regressed`) and what it can detect in one benchmark.
 *
 * One run of a benchmark is drawn as its summary (median and 95% interval, n = 500), not sample
 * by sample: the engine's part (the median's interval of one run) is calibrated by
 * `simulateVerdicts` above; what matters here is how whole runs differ, which no sample of one
 * run shows. Each run of each benchmark is the nominal duration times the model's factor for that
 * run and benchmark, times a within-run error exp(0.005·Z) that its interval (±1% at 95%) covers.
 * The verdict is the real `compareToBaseline`, and the run's decision the real `holmRejections`.
 */
export interface RunNoiseModel {
  readonly name: string
  readonly description: string
  /**
   * Factors of one whole run, one per benchmark (> 0). `index` is the run's place in time: the
   * baseline's runs are 0 to K - 1, the current run comes later (for drift).
   */
  run(random: Variates, benchmarks: number, index: number): number[]
}

const each = (benchmarks: number, f: () => number): number[] => Array.from({ length: benchmarks }, f)

/** The run-level models: a dedicated machine, and what was measured on shared 2-core VMs. */
export const RUN_NOISE_MODELS: readonly RunNoiseModel[] = Object.freeze([
  {
    name: 'dedicated',
    description: 'each run x exp(0.01·Z) per benchmark (a dedicated GPU machine)',
    run: (r: Variates, m: number) => each(m, () => Math.exp(0.01 * r.normal())),
  },
  {
    name: 'per-run 10%',
    description: 'each run x exp(0.10·Z) per benchmark',
    run: (r: Variates, m: number) => each(m, () => Math.exp(0.1 * r.normal())),
  },
  {
    name: 'modes',
    description: 'each process lands in one of 3 modes per benchmark: x1, x1.15, x1.3',
    run: (r: Variates, m: number) => each(m, () => [1, 1.15, 1.3][Math.min(2, Math.floor(3 * r.uniform()))]!),
  },
  {
    name: 'modes 2x',
    description: 'each process lands in one of 2 modes per benchmark: x1 or x1.8 (3 in 10)',
    run: (r: Variates, m: number) => each(m, () => (r.uniform() < 0.3 ? 1.8 : 1)),
  },
  {
    name: 'spells',
    description:
      'exp(0.05·Z) per benchmark; 1 run in 10 in a slow spell: every benchmark x (1 + 0.2·Pareto(2)·U[0.5, 1.5])',
    run: (r: Variates, m: number) => {
      const spell = r.uniform() < 0.1 ? 0.2 * (1 - r.uniform()) ** (-1 / 2) : 0
      return each(m, () => Math.exp(0.05 * r.normal()) * (1 + spell * (0.5 + r.uniform())))
    },
  },
  {
    name: 'drift',
    description: 'exp(0.03·Z) per benchmark, and the machine 0.5% slower with each run recorded since',
    run: (r: Variates, m: number, index: number) => each(m, () => Math.exp(0.03 * r.normal() + 0.005 * index)),
  },
])

export interface RunLevelOptions {
  trials: number
  /** Baseline runs per benchmark (K >= 1). */
  baselineRuns: number
  /** Benchmarks compared in a run; default 51. */
  benchmarks?: number
  /** Slowdowns of one benchmark to detect, e.g. [1.1, 1.25, 2]. */
  slowdowns: readonly number[]
  seed: number
  tolerance?: number
  /** Run-level error rate; default DEFAULT_RUN_ERROR_RATE. */
  alpha?: number
  /** Runs between the last baseline run and the current one (for drift); default 5. */
  gap?: number
  /**
   * The run-level procedure: 'holm' (default, the gate's), or 'none': each comparison at alpha
   * alone, with no run-wide shift, the per-benchmark testing this replaces (for comparison).
   */
  correction?: 'holm' | 'none'
}

export interface RunLevelResult {
  model: string
  baselineRuns: number
  trials: number
  /** Fraction of A/A runs with any `regressed` (the run fails). */
  falseFailureRate: number
  /** Per slowdown: the fraction of runs in which the slowed benchmark reads `regressed`. */
  detection: Array<{ slowdown: number; rate: number }>
  /** Median over benchmarks and trials of the slowdown detectable in one benchmark (ratio). */
  medianDetectableRatio: number
}

/**
 * Runs `trials` independent trials of one model: each records K baseline runs of every benchmark,
 * then one A/A run (unchanged code) and, per slowdown, one run where benchmark 0 alone is slowed;
 * every run's comparisons go through `compareToBaseline` and Holm at the run level.
 * Cost: O(trials · benchmarks · (K + slowdowns)) verdicts.
 */
export function simulateRunLevel(model: RunNoiseModel, options: RunLevelOptions): RunLevelResult {
  const m = options.benchmarks ?? 51
  const k = options.baselineRuns
  const alpha = options.alpha ?? DEFAULT_RUN_ERROR_RATE
  const gap = options.gap ?? 5
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`simulateRunLevel: baselineRuns must be >= 1, got ${k}`)
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`simulateRunLevel: benchmarks must be >= 1, got ${m}`)
  const random = variates(rng(options.seed))
  const holm = (options.correction ?? 'holm') === 'holm'
  const level = holm ? singleRegressionLevel(m, alpha) : alpha
  let failures = 0
  const caught = options.slowdowns.map(() => 0)
  const detectable: number[] = []
  const summary = (factor: number): RunStats => {
    const medianNs = 1e6 * factor * Math.exp(0.005 * random.normal())
    return { n: 500, medianNs, ciLowNs: medianNs * Math.exp(-0.01), ciHighNs: medianNs * Math.exp(0.01), ciLevel: 0.95 }
  }
  for (let t = 0; t < options.trials; t++) {
    const baselines: RunStats[][] = Array.from({ length: m }, () => [])
    for (let i = 0; i < k; i++) {
      model.run(random, m, i).forEach((factor, b) => {
        baselines[b]!.push(summary(factor))
      })
    }
    const prior = deviceRunNoisePrior(baselines)
    const decide = (slowdown: number): boolean[] => {
      const factors = model.run(random, m, k - 1 + gap)
      const verdicts = factors.map((factor, b) => {
        const runs = baselines[b]!
        return compareToBaseline(summary(factor * (b === 0 ? slowdown : 1)), runs.at(-1)!, {
          tolerance: options.tolerance,
          baselineRuns: runs,
          alpha: level,
          runNoisePrior: prior,
        })
      })
      if (slowdown === 1) for (const v of verdicts) detectable.push(detectableRatio(v, level))
      if (!holm) return verdicts.map((v) => v.kind === 'regressed')
      const comparisons = verdicts.map((verdict) => ({ verdict, group: 'device', enoughSamples: true }))
      return [...judgeRun(comparisons, alpha).regressed]
    }
    if (decide(1).some(Boolean)) failures++
    options.slowdowns.forEach((slowdown, i) => {
      if (decide(slowdown)[0]) caught[i]!++
    })
  }
  detectable.sort((a, b) => a - b)
  return {
    model: model.name,
    baselineRuns: k,
    trials: options.trials,
    falseFailureRate: failures / options.trials,
    detection: options.slowdowns.map((slowdown, i) => ({ slowdown, rate: caught[i]! / options.trials })),
    medianDetectableRatio: detectable[Math.floor(detectable.length / 2)] ?? Number.NaN,
  }
}
