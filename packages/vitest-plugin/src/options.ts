/**
 * The plugin's options: what a user writes in `gpubench({ ... })`, their validation, and the
 * serialisable form handed to the workers with `provide`/`inject`. Shared by both processes:
 * nothing here touches the file system or Vitest's state.
 *
 * Validation happens once, in the main process, when the config is loaded: a wrong option stops
 * the run before any benchmark starts, with a message that names the field.
 */
import type { BackendKind, StoppingRule } from '@gpubench/core'

/**
 * core's BACKEND_KINDS, repeated here because this module is loaded by Node itself when Vitest
 * reads the config (type stripping only), where core's runtime cannot be imported; the two
 * checks below make the compiler refuse any drift between the lists.
 */
export const BACKEND_NAMES = ['host', 'cpu', 'cuda', 'metal', 'webgpu'] as const satisfies readonly BackendKind[]
type MissingBackendName = Exclude<BackendKind, (typeof BACKEND_NAMES)[number]>
const noMissingBackendName: [MissingBackendName] extends [never] ? true : never = true
void noMissingBackendName

/** What a user may pass to `gpubench()`. */
export interface GpubenchOptions {
  /**
   * Backends the plugin may use, in any order (the preference of `'auto'` is fixed, see
   * choose-backend.ts). Default: all of them; the ones whose package or device is missing report
   * themselves unavailable with a reason.
   */
  backends?: readonly BackendKind[]
  /** Folder of the per-device baseline files, relative to Vitest's root. Default `'baselines'`. */
  baselineDir?: string
  /**
   * Relative slowdown of the median that is not yet a regression, e.g. 0.05 for 5%.
   * Default: core's DEFAULT_TOLERANCE.
   */
  tolerance?: number
  /**
   * When true, a benchmark without a baseline on this device, and an inconclusive comparison,
   * fail `toMatchBaseline()`. When false (default) both only leave a visible notice.
   */
  strict?: boolean
  /** Stopping rule for every benchmark (a benchmark's own options override it field by field). */
  stoppingRule?: Partial<StoppingRule>
  /** Check each runnable's results against core's float64 reference before measuring. Default true. */
  verify?: boolean
  /**
   * How many times a benchmark that reads "regressed" is measured again (fresh prepares), each
   * after a pause (`confirmPauseMs`), before the regression stands: it stands only if every
   * measurement reads "regressed". A whole measurement can land in a slow spell of a shared
   * machine that none of its statistics show, and such spells last seconds; a real regression
   * reproduces after any pause. The result reported is the last measurement's, with the earlier
   * verdicts in its notes. Default 3; 0 turns confirmation off. Not applied under `-u`, which
   * records what the run measured.
   */
  confirmRegressions?: number
  /**
   * The pause before the first confirming measurement, in ms; each later one waits three times
   * the one before (default 2000: 2 s, 6 s, 18 s), so the measurements of a benchmark are spread
   * over half a minute instead of falling into one slow spell. Pauses are shortened where the
   * test's timeout would not leave room for them. 0 measures again at once.
   */
  confirmPauseMs?: number
  /**
   * The chance, per run of unchanged code, that any benchmark reads `regressed`: a fraction in
   * (0, 0.5), default 0.01. Held across every comparison of the run (Holm), by the reporter.
   */
  runErrorRate?: number
  /**
   * A pool of machines that share baselines (CI runners whose machine type changes from job to
   * job): each backend's results are compared with, and `-u` writes, `<backend>-<deviceAlias>.json`
   * instead of the device's own file, so the spread between the pool's machines enters the
   * baseline's runs. Records and reports still name the real device. Lowercase letters, digits
   * and single dashes. Default: `$GPUBENCH_DEVICE_ALIAS`, else none.
   */
  deviceAlias?: string
  /** Path of a JSON report written at the end of each run, relative to the root. Default: none. */
  jsonReport?: string
  /**
   * Path of an HTML report of each run (`gpubench report` on the run's own records: charts and
   * tables per device, published figures apart), relative to the root; its markdown twin is
   * written beside it (`.md`). Default: `$GPUBENCH_HTML_REPORT`, else none.
   */
  htmlReport?: string
  /** Append a markdown summary to `$GITHUB_STEP_SUMMARY` when that variable is set. Default true. */
  stepSummary?: boolean
  /** Print the plugin's table at the end of the run. Default true. */
  table?: boolean
}

/**
 * How baselines may be written in this run, from Vitest's own `-u`/`--update` flag:
 * `'all'` (`-u`): write this device's entries for every benchmark that ran;
 * `'new'` (`--update=new`): write only entries this device does not have yet;
 * `'none'`: write nothing.
 */
export type UpdateMode = 'none' | 'new' | 'all'

/** The validated options, without the main-process-only fields, as the workers receive them. */
export interface RuntimeConfig
  extends Pick<
    ResolvedOptions,
    'backends' | 'tolerance' | 'strict' | 'stoppingRule' | 'verify' | 'confirmRegressions' | 'confirmPauseMs'
  > {
  /** Absolute path. */
  readonly baselineDir: string
  readonly update: UpdateMode
  /** The pool whose baseline files stand for this machine's (see GpubenchOptions.deviceAlias); absent: none. */
  readonly deviceAlias?: string | null
  /** Version of this plugin, recorded in baseline entries. */
  readonly gpubenchVersion: string
}

/** The validated options as the main process keeps them. */
export interface ResolvedOptions {
  readonly backends: readonly BackendKind[]
  /** As given: relative to the root unless absolute. */
  readonly baselineDir: string
  readonly tolerance: number | null
  readonly strict: boolean
  readonly stoppingRule: Partial<StoppingRule>
  readonly verify: boolean
  readonly confirmRegressions: number
  readonly confirmPauseMs: number
  readonly runErrorRate: number
  readonly deviceAlias: string | null
  readonly jsonReport: string | null
  readonly htmlReport: string | null
  readonly stepSummary: boolean
  readonly table: boolean
}

/** The first key of `object` that is not among `known`, or undefined: an option the user misspelt. */
export function unknownKey(object: object, known: readonly string[]): string | undefined {
  return Object.keys(object).find((key) => !known.includes(key))
}

/** The key under which the runtime config is provided to the workers. */
export const PROVIDE_KEY = 'gpubench' as const

export class GpubenchOptionsError extends Error {
  override name = 'GpubenchOptionsError'
  constructor(message: string) {
    super(message)
    // A user's mistake, named in full by the message: Vitest prints a config-time error's stack
    // under "Startup Error", and the plugin's and Vitest's frames would only bury it.
    this.stack = `${this.name}: ${message}`
  }
}

const OPTION_KEYS: ReadonlyArray<keyof GpubenchOptions> = [
  'backends',
  'baselineDir',
  'tolerance',
  'strict',
  'stoppingRule',
  'verify',
  'confirmRegressions',
  'confirmPauseMs',
  'runErrorRate',
  'deviceAlias',
  'jsonReport',
  'htmlReport',
  'stepSummary',
  'table',
]

function fail(field: string, problem: string): never {
  throw new GpubenchOptionsError(`gpubench options: field '${field}' ${problem}`)
}

/**
 * A user's value for an error message, as they wrote it: NaN and Infinity as such (JSON would
 * print null), a bigint with its n, also inside objects (where JSON.stringify would throw), and
 * never a throw of its own (a cyclic object is shown by its type).
 */
export function shown(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'bigint') return `${value}n`
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) =>
        typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
      ) ?? String(value)
    )
  } catch {
    return `${typeof value === 'object' ? 'an object' : `a ${typeof value}`} that cannot be shown`
  }
}

function booleanOption(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(field, `must be a boolean, got ${shown(value)}`)
  return value
}

function pathOption(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail(field, `must be a non-empty path, got ${shown(value)}`)
  if (value.includes('\0')) fail(field, 'must not contain a NUL character')
  return value
}

/** Validates a tolerance: a finite fraction in [0, 1). Shared with the per-benchmark options. */
export function validateTolerance(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, `must be a finite number, got ${shown(value)}`)
  if (value < 0 || value >= 1) fail(field, `must be a fraction in [0, 1) such as 0.05 for 5%, got ${value}`)
  return value
}

/**
 * Three confirmations, after 2, 6 and 18 s. On this project's 2-vCPU VMs (AMD EPYC family 25,
 * 2026-12-08) a 2-thread CPU GEMM of 30 µs ran 1.6-3x slower in spells of 0.3-12 s, 12-21% of
 * the time, with no other process busy and no steal time reported (`packages/native/scripts/spells.ts`,
 * three records of 180-240 s). Replayed on them, a measurement and its confirmations all read
 * slow: without confirmation 12-21%, confirmed at once 8.9-17%, after 2 s 4.7-10%, after 2 and
 * 6 s 0-3.9%, after 2, 6 and 18 s 0-0.7%.
 */
export const DEFAULT_CONFIRM_REGRESSIONS = 3
export const DEFAULT_CONFIRM_PAUSE_MS = 2000
const MAX_CONFIRM_REGRESSIONS = 5
const MAX_CONFIRM_PAUSE_MS = 60_000

/** Validates the first confirmation's pause: a number of ms from 0 to 60000. */
export function validateConfirmPauseMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_CONFIRM_PAUSE_MS) {
    fail(field, `must be a number of milliseconds from 0 to ${MAX_CONFIRM_PAUSE_MS}, got ${shown(value)}`)
  }
  return value
}

/** Validates a number of confirmations: an integer from 0 to 5. Shared with the per-benchmark options. */
export function validateConfirmRegressions(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CONFIRM_REGRESSIONS) {
    fail(field, `must be an integer from 0 to ${MAX_CONFIRM_REGRESSIONS}, got ${shown(value)}`)
  }
  return value
}

/** core's DEFAULT_RUN_ERROR_RATE, repeated: this module cannot import core's runtime (see BACKEND_NAMES); a test keeps them equal. */
export const DEFAULT_RUN_ERROR_RATE = 0.01

/** Validates a run-level error rate: a fraction in (0, 0.5). */
export function validateRunErrorRate(field: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value < 0.5)) {
    fail(field, `must be a fraction in (0, 0.5) such as 0.01 for 1%, got ${shown(value)}`)
  }
  return value
}

/** Validates a pool name: what a device id allows (lowercase letters, digits, single dashes), at most 64 characters. */
export function validateDeviceAlias(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(value) || value.length > 64) {
    fail(field, `must be lowercase letters and digits joined by single dashes (at most 64), got ${shown(value)}`)
  }
  return value
}

/** The pool from the option, else from GPUBENCH_DEVICE_ALIAS (empty: none). */
export function deviceAliasFrom(option: unknown, env: Readonly<Record<string, string | undefined>>): string | null {
  if (option !== undefined) return validateDeviceAlias('deviceAlias', option)
  const value = (env.GPUBENCH_DEVICE_ALIAS ?? '').trim()
  return value === '' ? null : validateDeviceAlias('$GPUBENCH_DEVICE_ALIAS', value)
}

/** Validates a list of backend names; duplicates are refused (they suggest a typo). */
export function validateBackends(field: string, value: unknown): BackendKind[] {
  if (!Array.isArray(value)) fail(field, `must be an array of backend names (${BACKEND_NAMES.join(', ')})`)
  if (value.length === 0) fail(field, 'must name at least one backend')
  const seen = new Set<string>()
  value.forEach((name, index) => {
    if (typeof name !== 'string' || !(BACKEND_NAMES as readonly string[]).includes(name)) {
      fail(`${field}[${index}]`, `must be one of ${BACKEND_NAMES.join(', ')}, got ${shown(name)}`)
    }
    if (seen.has(name)) fail(`${field}[${index}]`, `repeats ${shown(name)}`)
    seen.add(name)
  })
  return value as BackendKind[]
}

const STOPPING_RULE_KEYS: ReadonlyArray<keyof StoppingRule> = [
  'minSamples',
  'minTimeNs',
  'maxNoise',
  'maxTimeNs',
  'maxSamples',
  'warmupRuns',
  'batch',
  'rounds',
]

/**
 * Checks the shape of a partial stopping rule (known keys, plain object). The values themselves
 * are checked by core's `stoppingRule()`, the single owner of their limits, which the caller runs.
 */
export function validateStoppingRuleShape(field: string, value: unknown): Partial<StoppingRule> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(field, `must be an object with some of ${STOPPING_RULE_KEYS.join(', ')}`)
  }
  const unknown = unknownKey(value, STOPPING_RULE_KEYS)
  if (unknown !== undefined)
    fail(`${field}.${unknown}`, `is not a stopping-rule field; known: ${STOPPING_RULE_KEYS.join(', ')}`)
  return { ...(value as Partial<StoppingRule>) }
}

/**
 * Validates what the user wrote. Runs when the config is loaded, by Node itself, so it checks the
 * shape only; the stopping rule's values are checked by core's `stoppingRule()` in
 * `configureVitest` (node/plugin.ts), before any worker starts.
 */
export function resolveOptions(
  input: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedOptions {
  if (input === undefined) input = {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new GpubenchOptionsError(`gpubench options: expected an object, got ${shown(input)}`)
  }
  const options = input as Record<string, unknown>
  const unknown = unknownKey(options, OPTION_KEYS)
  if (unknown !== undefined) fail(unknown, `is not an option of gpubench(); known options: ${OPTION_KEYS.join(', ')}`)
  const stoppingRule =
    options.stoppingRule === undefined ? {} : validateStoppingRuleShape('stoppingRule', options.stoppingRule)
  const resolved: ResolvedOptions = {
    backends: options.backends === undefined ? [...BACKEND_NAMES] : validateBackends('backends', options.backends),
    baselineDir: options.baselineDir === undefined ? 'baselines' : pathOption('baselineDir', options.baselineDir),
    tolerance: options.tolerance === undefined ? null : validateTolerance('tolerance', options.tolerance),
    strict: booleanOption('strict', options.strict, false),
    stoppingRule,
    verify: booleanOption('verify', options.verify, true),
    confirmRegressions:
      options.confirmRegressions === undefined
        ? DEFAULT_CONFIRM_REGRESSIONS
        : validateConfirmRegressions('confirmRegressions', options.confirmRegressions),
    confirmPauseMs:
      options.confirmPauseMs === undefined
        ? DEFAULT_CONFIRM_PAUSE_MS
        : validateConfirmPauseMs('confirmPauseMs', options.confirmPauseMs),
    runErrorRate:
      options.runErrorRate === undefined
        ? DEFAULT_RUN_ERROR_RATE
        : validateRunErrorRate('runErrorRate', options.runErrorRate),
    deviceAlias: deviceAliasFrom(options.deviceAlias, env),
    jsonReport: options.jsonReport === undefined ? null : pathOption('jsonReport', options.jsonReport),
    htmlReport:
      options.htmlReport !== undefined
        ? pathOption('htmlReport', options.htmlReport)
        : (env.GPUBENCH_HTML_REPORT ?? '').trim() === ''
          ? null
          : pathOption('$GPUBENCH_HTML_REPORT', env.GPUBENCH_HTML_REPORT),
    stepSummary: booleanOption('stepSummary', options.stepSummary, true),
    table: booleanOption('table', options.table, true),
  }
  const compareReport = compareReportFrom(env)
  return compareReport === null ? resolved : compareWorkerOptions(resolved, compareReport)
}

/**
 * `gpubench compare` runs each side's `vitest bench --run` with GPUBENCH_COMPARE_REPORT set to a
 * temporary file: the run is then one measurement of a comparison between two commits, not a
 * gated run. Its JSON report goes to that file (whatever `jsonReport` says), baselines are neither
 * read (the folder looked in is one that does not exist) nor written (compare never passes -u),
 * nothing is appended to the step summary, no HTML report is written, `strict` is off and no
 * regression is re-measured, so the user's own settings cannot fail or lengthen the measurement.
 */
export function compareReportFrom(env: Readonly<Record<string, string | undefined>>): string | null {
  const value = (env.GPUBENCH_COMPARE_REPORT ?? '').trim()
  return value === '' ? null : pathOption('$GPUBENCH_COMPARE_REPORT', value)
}

function compareWorkerOptions(resolved: ResolvedOptions, report: string): ResolvedOptions {
  return {
    ...resolved,
    baselineDir: `${report}.no-baselines`,
    jsonReport: report,
    htmlReport: null,
    stepSummary: false,
    strict: false,
    confirmRegressions: 0,
  }
}

/** Runs core's check of a stopping rule's values and names the option on failure. */
export function checkStoppingRuleValues(
  stoppingRule: Partial<StoppingRule>,
  check: (partial: Partial<StoppingRule>) => unknown,
): void {
  try {
    check(stoppingRule)
  } catch (error) {
    fail('stoppingRule', `is invalid: ${(error as Error).message}`)
  }
}

/**
 * How `-u` treats an entry that exists, from GPUBENCH_RECORD: `'replace'` (default, also when
 * unset or empty) starts its list of runs afresh with this run; `'add-run'` adds this run to the
 * entry's runs (same target, backend and timing only), so that a baseline recorded by several
 * runs lets the verdict see how much whole runs differ. Anything else is an error naming the variable.
 */
export type RecordMode = 'replace' | 'add-run'

export function recordModeFrom(env: Readonly<Record<string, string | undefined>>): RecordMode {
  const value = (env.GPUBENCH_RECORD ?? '').trim()
  if (value === '' || value === 'replace') return 'replace'
  if (value === 'add-run') return 'add-run'
  throw new Error(
    `$GPUBENCH_RECORD must be 'replace' or 'add-run', got ${JSON.stringify(value)}; no baseline was written`,
  )
}

/**
 * Maps Vitest's `update` setting (`-u`, `--update=new`, `UPDATE_SNAPSHOT` is not consulted) to the
 * update mode. Strict: `-u` takes an optional value, so in `vitest bench -u tiny.bench.ts` the
 * file name becomes `-u`'s value; read as "none" it would record nothing and exit 0, so any
 * value but true/false, 'true'/'false', 'all', 'new' and 'none' is refused, naming it.
 */
export function updateModeFrom(update: unknown): UpdateMode {
  if (update === undefined || update === false || update === 'false' || update === 'none') return 'none'
  if (update === true || update === 'true' || update === 'all' || update === '') return 'all'
  if (update === 'new') return 'new'
  const hint =
    typeof update === 'string'
      ? `; if ${JSON.stringify(update)} is a file filter, put it before -u (\`vitest bench ${update} -u\`) or write \`-u all\``
      : ''
  throw new GpubenchOptionsError(
    `gpubench: -u/--update got ${shown(update)}, which is not an update mode; use -u alone, --update=all, --update=new or --update=none${hint}. No baseline was written`,
  )
}
