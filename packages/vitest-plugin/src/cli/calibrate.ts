/**
 * `gpubench calibrate [--runs N] [-- vitest arguments]`: records N runs of the suites in separate
 * processes, then an A/A self-test through the gate's own verdict (see node/calibrate.ts).
 */
import { resolve } from 'node:path'
import { calibrate, DEFAULT_CALIBRATION_RUNS, MIN_CALIBRATION_RUNS } from '../node/calibrate.ts'
import { parseRecordArgs } from './record.ts'
import { CliError, runVitest } from './vitest-process.ts'

export const CALIBRATE_USAGE = `gpubench calibrate [--runs N] [-- <vitest arguments, e.g. a file filter>]

Records this runner's baselines from N separate runs of 'vitest bench --run -u' (default
${DEFAULT_CALIBRATION_RUNS}, ${MIN_CALIBRATION_RUNS} to 20), then leaves each run out in turn and judges it against the others
as 'vitest bench' would: prints the false failures seen and, per benchmark, the spread between
runs and the smallest slowdown the gate detects. Baselines are read from ./baselines (set
GPUBENCH_BASELINE_DIR for another folder). Run it where nothing else loads the machine.`

export async function calibrateCommand(argv: readonly string[], cwd: string = process.cwd()): Promise<number> {
  const { runs, vitestArgs } = parseRecordArgs(
    argv.includes('--runs') || argv.some((a) => a.startsWith('--runs='))
      ? argv
      : ['--runs', String(DEFAULT_CALIBRATION_RUNS), ...argv],
  )
  if (runs < MIN_CALIBRATION_RUNS) {
    throw new CliError(
      `--runs must be at least ${MIN_CALIBRATION_RUNS} for the self-test (one run left out, two to compare with)`,
    )
  }
  const { status } = await calibrate({
    runs,
    cwd,
    baselineDir: resolve(cwd, process.env.GPUBENCH_BASELINE_DIR ?? 'baselines'),
    vitestArgs,
    runVitest: (args, env) => runVitest(cwd, args, env).status,
  })
  return status
}
