/**
 * Prints, first, the engine's intervals against one baseline run: how often the interval of the
 * ratio lies beyond the 5% tolerance on identical distributions (A/A) and on a 10% slowdown, per
 * within-run noise model, from
 * a seeded simulation of the real engine (`measureRounds`: each measurement is DEFAULT_STOPPING_RULE's
 * rounds of independent simulated prepares) under DEFAULT_STOPPING_RULE. The last model,
 * 'per-prepare', draws each prepare's speed from {1.0, 1.3}: the bar there is the false-alarm
 * rate only; its detection rate is reported as it is (a 30% spread between prepares hides a 10%
 * slowdown, and the verdict says inconclusive rather than guess).
 *
 *   node_modules/.bin/node scripts/verdict-simulation.ts [--trials 1000] [--kernel-ms 1,300] [--seed 1] [--rounds 4]
 *
 * --rounds replaces the rule's number of rounds (to compare, e.g., 1, 3 and 4).
 *
 * Then the gate per run (`simulateRunLevel`): for each run-level noise model (a dedicated machine,
 * per-process modes, whole-run slow spells, drift; see RUN_NOISE_MODELS) and each baseline of K
 * separate runs (--baseline-runs, default 1,3,5,10), --run-trials runs (default 1000) of
 * --benchmarks benchmarks (default 51): the fraction of runs of unchanged code that fail (any
 * `regressed` after Holm at 1%), the fraction in which one benchmark slowed by 10%, 25% or 2x
 * reads `regressed`, and the median detectable slowdown. Exits 1 when a model fails more than
 * 1% of its A/A runs.
 *
 * --kernel-ms sets the nominal duration of one run: 1 ms (the default) gives the 500 samples the
 * rule's 0.5 s minimum time asks for; long runs (e.g. 300 ms) meet the 15 s time cap after about
 * 40 samples, the least the default rule ever collects, and show what that costs.
 */
import {
  NOISE_MODELS,
  RUN_NOISE_MODELS,
  simulateRunLevel,
  simulateVerdicts,
} from '../packages/core/scripts/verdict-model.ts'
import { DEFAULT_STOPPING_RULE } from '../packages/core/src/measure/stopping-rule.ts'
import { DEFAULT_RUN_ERROR_RATE } from '../packages/core/src/measure/verdict.ts'

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? process.argv[i + 1] : undefined
  if (i >= 0 && value === undefined) throw new Error(`--${name} needs a value`)
  return value ?? fallback
}

const trials = Number(option('trials', '1000'))
const seed = Number(option('seed', '1'))
const kernelsMs = option('kernel-ms', '1').split(',').map(Number)
const rounds = Number(option('rounds', String(DEFAULT_STOPPING_RULE.rounds)))
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${rounds}`)
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${trials}`)
if (kernelsMs.some((ms) => !(ms > 0))) throw new Error(`--kernel-ms must be positive numbers, got ${kernelsMs}`)
const baselineRunCounts = option('baseline-runs', '1,3,5,10').split(',').map(Number)
const runTrials = Number(option('run-trials', '1000'))
const benchmarks = Number(option('benchmarks', '51'))
if (!Number.isInteger(runTrials) || runTrials < 1)
  throw new Error(`--run-trials must be a positive integer, got ${runTrials}`)
if (!Number.isInteger(benchmarks) || benchmarks < 1)
  throw new Error(`--benchmarks must be a positive integer, got ${benchmarks}`)
if (baselineRunCounts.some((k) => !(Number.isInteger(k) && k >= 1))) {
  throw new Error(`--baseline-runs must be positive integers, got ${baselineRunCounts}`)
}

const percent = (rate: number): string => `${(100 * rate).toFixed(1)}%`
console.log(
  `verdict simulation: ${trials} trials per model, DEFAULT_STOPPING_RULE with ${rounds} rounds, tolerance 5%, seed ${seed}`,
)
for (const kernelMs of kernelsMs) {
  console.log(`\nruns of ${kernelMs} ms`)
  console.log(
    ['model'.padEnd(13), 'A/A beyond tol.'.padEnd(17), '10%: beyond'.padEnd(14), 'samples', 'stopped by (A/A)'].join(
      '  ',
    ),
  )
  for (const [index, model] of NOISE_MODELS.entries()) {
    const started = performance.now()
    const [aa, slower] = await simulateVerdicts(model, {
      trials,
      slowdowns: [1, 1.1],
      seed: seed * 1000 + index,
      kernelNs: kernelMs * 1e6,
      rule: { rounds },
    })
    if (!aa || !slower) throw new Error('simulateVerdicts returned fewer results than slowdowns')
    const stopped = Object.entries(aa.stoppedBy)
      .filter(([, count]) => count > 0)
      .map(([why, count]) => `${why} ${count}`)
      .join(', ')
    console.log(
      [
        model.name.padEnd(13),
        percent(aa.beyondToleranceRate).padEnd(17),
        percent(slower.beyondToleranceRate).padEnd(14),
        aa.meanSamples.toFixed(0).padStart(7),
        `${stopped}  (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      ].join('  '),
    )
    console.log(
      `${''.padEnd(13)}  verdicts A/A ${JSON.stringify(aa.counts)}; slowdown ${JSON.stringify(slower.counts)}`,
    )
  }
}

console.log(
  `\nthe gate per run: ${benchmarks} benchmarks a run, Holm at a ${percent(DEFAULT_RUN_ERROR_RATE)} run-level error rate, ${runTrials} runs per line`,
)
console.log(
  [
    'model'.padEnd(12),
    'K'.padEnd(3),
    'runs failed (A/A)'.padEnd(18),
    'caught: +10%'.padEnd(12),
    '+25%'.padEnd(6),
    '2x'.padEnd(6),
    'median detectable',
  ].join('  '),
)
let worst = 0
for (const [index, model] of RUN_NOISE_MODELS.entries()) {
  for (const k of baselineRunCounts) {
    const result = simulateRunLevel(model, {
      trials: runTrials,
      baselineRuns: k,
      benchmarks,
      slowdowns: [1.1, 1.25, 2],
      seed: seed * 1000 + 100 * index + k,
    })
    worst = Math.max(worst, result.falseFailureRate)
    const caught = result.detection.map((d) => percent(d.rate))
    console.log(
      [
        model.name.padEnd(12),
        String(k).padEnd(3),
        percent(result.falseFailureRate).padEnd(18),
        (caught[0] ?? '').padEnd(12),
        (caught[1] ?? '').padEnd(6),
        (caught[2] ?? '').padEnd(6),
        `>= ${percent(result.medianDetectableRatio - 1)}`,
      ].join('  '),
    )
  }
}
console.log(`\nmodels: ${RUN_NOISE_MODELS.map((m) => `${m.name}: ${m.description}`).join('; ')}`)
console.log(`worst run-level false-failure rate: ${percent(worst)} (bar: ${percent(DEFAULT_RUN_ERROR_RATE)})`)
if (worst > DEFAULT_RUN_ERROR_RATE) process.exitCode = 1
