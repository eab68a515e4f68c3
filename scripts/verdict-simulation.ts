/**
 * Prints the regression verdict's false-alarm rate (A/A: identical distributions, "regressed"
 * verdicts) and its detection rate (a 10% slowdown, "regressed" verdicts) per noise model, from
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
 * --baseline-runs (default 1,3,5) adds a section for the per-run mode model (each whole run
 * exp(0.10·Z) slower or faster): the baseline recorded from K separate runs, for each K listed,
 * with the A/A false-alarm rate and the detection of 10% and 2x slowdowns.
 *
 * --kernel-ms sets the nominal duration of one run: 1 ms (the default) gives the 500 samples the
 * rule's 0.5 s minimum time asks for; long runs (e.g. 300 ms) meet the 15 s time cap after about
 * 40 samples, the least the default rule ever collects, and show what that costs.
 */
import { NOISE_MODELS, PER_RUN_MODEL, simulateVerdicts } from '../packages/core/src/measure/simulation.ts'
import { DEFAULT_STOPPING_RULE } from '../packages/core/src/measure/stopping-rule.ts'

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
const baselineRunCounts = option('baseline-runs', '1,3,5').split(',').map(Number)
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
    ['model'.padEnd(13), 'A/A false alarms'.padEnd(17), '10% detection'.padEnd(14), 'samples', 'stopped by (A/A)'].join(
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
        percent(aa.regressedRate).padEnd(17),
        percent(slower.regressedRate).padEnd(14),
        aa.meanSamples.toFixed(0).padStart(7),
        `${stopped}  (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      ].join('  '),
    )
    console.log(
      `${''.padEnd(13)}  verdicts A/A ${JSON.stringify(aa.counts)}; slowdown ${JSON.stringify(slower.counts)}`,
    )
  }
}

const firstKernelMs = kernelsMs[0] ?? 1
console.log(
  `\nper-run modes (${PER_RUN_MODEL.description}), runs of ${firstKernelMs} ms: the baseline from K separate runs`,
)
console.log(['K'.padEnd(3), 'A/A false alarms'.padEnd(17), '10% detection'.padEnd(14), '2x detection'].join('  '))
for (const k of baselineRunCounts) {
  const started = performance.now()
  const [aa, slower, doubled] = await simulateVerdicts(PER_RUN_MODEL, {
    trials,
    slowdowns: [1, 1.1, 2],
    seed: seed * 1000 + 100 + k,
    kernelNs: firstKernelMs * 1e6,
    rule: { rounds },
    baselineRuns: k,
  })
  if (!aa || !slower || !doubled) throw new Error('simulateVerdicts returned fewer results than slowdowns')
  console.log(
    [
      String(k).padEnd(3),
      percent(aa.regressedRate).padEnd(17),
      percent(slower.regressedRate).padEnd(14),
      percent(doubled.regressedRate).padEnd(12),
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    ].join('  '),
  )
  console.log(`     verdicts A/A ${JSON.stringify(aa.counts)}; 2x ${JSON.stringify(doubled.counts)}`)
}
