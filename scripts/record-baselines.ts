/**
 * Records this machine's baselines from several separate runs of the suites, so the verdict can
 * weigh how much whole runs differ (see packages/core/src/measure/verdict.ts, steps 5-6): the
 * first run is `vitest bench --run -u` (each entry's list of runs starts afresh), each further
 * run `GPUBENCH_RECORD=add-run vitest bench --run -u` (its run is added). Between runs nothing
 * else should load the machine.
 *
 *   node scripts/record-baselines.ts [--runs 5] [-- <more vitest arguments, e.g. a file filter>]
 *   pnpm bench:record -- --runs 5
 *
 * Exits with the first failing run's status (a failed run's entries are not written).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const argv = process.argv.slice(2)
const dashes = argv.indexOf('--')
const own = dashes >= 0 ? argv.slice(0, dashes) : argv
const passed = dashes >= 0 ? argv.slice(dashes + 1) : []
const runsAt = own.indexOf('--runs')
const runs = runsAt >= 0 ? Number(own[runsAt + 1]) : 5
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  throw new Error(`--runs must be an integer from 1 to 20, got ${JSON.stringify(own[runsAt + 1])}`)
}
const unknown = own.filter((_arg, i) => runsAt < 0 || !(i === runsAt || i === runsAt + 1))
if (unknown.length > 0) throw new Error(`unknown arguments ${JSON.stringify(unknown)}; vitest's go after --`)

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url))
for (let run = 1; run <= runs; run++) {
  const mode = run === 1 ? 'replace' : 'add-run'
  const started = performance.now()
  console.log(`\n== baseline run ${run} of ${runs} (GPUBENCH_RECORD=${mode})`)
  const result = spawnSync(process.execPath, [vitest, 'bench', '--run', '-u', ...passed], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, GPUBENCH_RECORD: mode },
  })
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  if (result.status !== 0) {
    console.error(`== run ${run} failed (status ${result.status ?? result.signal}) after ${seconds} s; stopping`)
    process.exit(result.status ?? 1)
  }
  console.log(`== run ${run} of ${runs} recorded in ${seconds} s`)
}
