/**
 * `gpubench record [--runs N] [-- vitest arguments]`: records this device's baselines from N
 * separate runs of `vitest bench --run -u`, so the verdict can weigh how much whole runs differ.
 * The first run starts each entry's list of runs afresh (GPUBENCH_RECORD=replace), each further
 * run adds its own (GPUBENCH_RECORD=add-run); with --add every run adds to the runs already
 * stored, so that runs of another sitting (another day, another machine of a pool) join them and
 * the verdict sees how this machine shifts between sittings (core's verdict, step 9b).
 * Between runs nothing else should load the machine.
 * Stops at the first failing run (a failed run's entries are not written) with its exit status.
 */
import { CliError, runVitest } from './vitest-process.ts'

export const RECORD_USAGE = `gpubench record [--runs N] [--add] [-- <vitest arguments, e.g. a file filter>]

Records this device's baselines (baselines/<device-id>.json) from N separate runs of
'vitest bench --run -u' (default 5, at most 20). Run it where nothing else loads the machine.
The first run replaces each entry's runs; with --add all N runs join the runs already stored
(run it on another occasion, so the gate learns how this machine shifts between sittings).`

export const MAX_RECORD_RUNS = 20

export interface RecordArgs {
  readonly runs: number
  /** Every run adds to the stored runs (none replaces them). */
  readonly add: boolean
  readonly vitestArgs: readonly string[]
}

/** Parses record's own arguments; vitest's come after `--`. Throws a CliError naming what is wrong. */
export function parseRecordArgs(argv: readonly string[]): RecordArgs {
  const dashes = argv.indexOf('--')
  const own = dashes >= 0 ? argv.slice(0, dashes) : argv
  const vitestArgs = dashes >= 0 ? argv.slice(dashes + 1) : []
  let runs = 5
  let add = false
  for (let i = 0; i < own.length; i++) {
    const arg = own[i] as string
    if (arg === '--add') {
      add = true
    } else if (arg === '--runs' || arg.startsWith('--runs=')) {
      const text = arg === '--runs' ? own[++i] : arg.slice('--runs='.length)
      const value = Number(text)
      if (
        text === undefined ||
        text.trim() === '' ||
        !Number.isInteger(value) ||
        value < 1 ||
        value > MAX_RECORD_RUNS
      ) {
        throw new CliError(
          `--runs must be an integer from 1 to ${MAX_RECORD_RUNS}, got ${JSON.stringify(text ?? null)}`,
        )
      }
      runs = value
    } else {
      throw new CliError(
        `unknown argument ${JSON.stringify(arg)} for 'gpubench record'; vitest's arguments go after --`,
      )
    }
  }
  return { runs, add, vitestArgs }
}

export function record(argv: readonly string[], cwd: string = process.cwd()): number {
  const { runs, add, vitestArgs } = parseRecordArgs(argv)
  for (let run = 1; run <= runs; run++) {
    const mode = run === 1 && !add ? 'replace' : 'add-run'
    console.log(`\n== baseline run ${run} of ${runs} (GPUBENCH_RECORD=${mode})`)
    const result = runVitest(cwd, ['bench', '--run', '-u', ...vitestArgs], { ...process.env, GPUBENCH_RECORD: mode })
    if (result.status !== 0) {
      console.error(`== run ${run} failed (exit ${result.status}) after ${result.seconds.toFixed(0)} s; stopping`)
      return result.status
    }
    console.log(`== run ${run} of ${runs} recorded in ${result.seconds.toFixed(0)} s`)
  }
  return 0
}
