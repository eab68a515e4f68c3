import { DEFAULT_RUN_ERROR_RATE as CORE_RUN_ERROR_RATE, stoppingRule } from '@gpubench/core'
import { describe, expect, test } from 'vitest'
import {
  checkStoppingRuleValues,
  DEFAULT_RUN_ERROR_RATE,
  GpubenchOptionsError,
  recordModeFrom,
  resolveOptions,
  updateModeFrom,
  validateBackends,
} from '../src/options.ts'

describe('resolveOptions', () => {
  test('defaults: every backend, baselines/, core tolerance, not strict, verify, step summary, table', () => {
    expect(resolveOptions(undefined, {})).toEqual({
      backends: ['host', 'cpu', 'cuda', 'metal', 'webgpu'],
      baselineDir: 'baselines',
      tolerance: null,
      strict: false,
      stoppingRule: {},
      verify: true,
      confirmRegressions: 3,
      confirmPauseMs: 2000,
      runErrorRate: 0.01,
      deviceAlias: null,
      jsonReport: null,
      htmlReport: null,
      stepSummary: true,
      table: true,
    })
  })

  test('the run-level error rate: the default of core, a fraction in (0, 0.5)', () => {
    expect(DEFAULT_RUN_ERROR_RATE).toBe(CORE_RUN_ERROR_RATE)
    expect(resolveOptions({ runErrorRate: 0.05 }, {}).runErrorRate).toBe(0.05)
    for (const bad of [0, 0.5, -1, '1%']) {
      expect(() => resolveOptions({ runErrorRate: bad }, {})).toThrow(
        /field 'runErrorRate' must be a fraction in \(0, 0\.5\)/,
      )
    }
  })

  test('a device pool from the option, else GPUBENCH_DEVICE_ALIAS; names as device ids allow', () => {
    expect(resolveOptions({}, { GPUBENCH_DEVICE_ALIAS: ' ci-2core ' }).deviceAlias).toBe('ci-2core')
    expect(resolveOptions({ deviceAlias: 'gpu-pool' }, { GPUBENCH_DEVICE_ALIAS: 'ci-2core' }).deviceAlias).toBe(
      'gpu-pool',
    )
    expect(resolveOptions({}, { GPUBENCH_DEVICE_ALIAS: '' }).deviceAlias).toBeNull()
    expect(() => resolveOptions({ deviceAlias: 'CI Pool' }, {})).toThrow(/field 'deviceAlias' must be lowercase/)
    expect(() => resolveOptions({}, { GPUBENCH_DEVICE_ALIAS: '../x' })).toThrow(
      /\$GPUBENCH_DEVICE_ALIAS' must be lowercase/,
    )
  })

  test('keeps valid values', () => {
    const resolved = resolveOptions({
      backends: ['cpu', 'host'],
      baselineDir: 'perf/baselines',
      tolerance: 0.1,
      strict: true,
      stoppingRule: { minSamples: 5 },
      jsonReport: 'out/report.json',
    })
    expect(resolved.backends).toEqual(['cpu', 'host'])
    expect(resolved.tolerance).toBe(0.1)
    expect(resolved.strict).toBe(true)
    expect(resolved.stoppingRule).toEqual({ minSamples: 5 })
    expect(resolved.jsonReport).toBe('out/report.json')
  })

  test.each([
    [{ tolerence: 0.1 }, "field 'tolerence' is not an option of gpubench()"],
    [{ tolerance: 1.5 }, "field 'tolerance' must be a fraction in [0, 1)"],
    [{ tolerance: '5%' }, "field 'tolerance' must be a finite number"],
    [{ strict: 'yes' }, "field 'strict' must be a boolean"],
    [{ baselineDir: '' }, "field 'baselineDir' must be a non-empty path"],
    [{ backends: ['gpu'] }, "field 'backends[0]' must be one of host, cpu, cuda, metal, webgpu"],
    [{ backends: ['cpu', 'cpu'] }, 'field \'backends[1]\' repeats "cpu"'],
    [{ backends: [] }, "field 'backends' must name at least one backend"],
    [{ stoppingRule: { minSample: 3 } }, "field 'stoppingRule.minSample' is not a stopping-rule field"],
    [{ stoppingRule: 5 }, "field 'stoppingRule' must be an object"],
    [{ confirmRegressions: -1 }, "field 'confirmRegressions' must be an integer from 0 to 5, got -1"],
    [{ confirmPauseMs: -1 }, "field 'confirmPauseMs' must be a number of milliseconds from 0 to 60000, got -1"],
    [
      { confirmPauseMs: Number.NaN },
      "field 'confirmPauseMs' must be a number of milliseconds from 0 to 60000, got NaN",
    ],
    [{ confirmPauseMs: '2s' }, 'field \'confirmPauseMs\' must be a number of milliseconds from 0 to 60000, got "2s"'],
    [{ confirmPauseMs: 60_001 }, "field 'confirmPauseMs' must be a number of milliseconds from 0 to 60000, got 60001"],
    [{ confirmRegressions: '1' }, 'field \'confirmRegressions\' must be an integer from 0 to 5, got "1"'],
    [[], 'expected an object'],
  ])('refuses %j naming the field', (input, message) => {
    expect(() => resolveOptions(input)).toThrow(GpubenchOptionsError)
    expect(() => resolveOptions(input)).toThrow(message)
  })
})

test('the stopping rule values are checked by core, the error names the option', () => {
  expect(() => checkStoppingRuleValues({ minSamples: 0 }, stoppingRule)).toThrow(
    /field 'stoppingRule' is invalid: .*minSamples/,
  )
  expect(() => checkStoppingRuleValues({ minSamples: 3, maxTimeNs: 1e9 }, stoppingRule)).not.toThrow()
})

test('validateBackends returns the names given', () => {
  expect(validateBackends('backends', ['webgpu', 'host'])).toEqual(['webgpu', 'host'])
})

test('update mode from Vitest: -u writes all, --update=new writes missing entries, otherwise nothing', () => {
  expect(updateModeFrom(true)).toBe('all')
  expect(updateModeFrom('all')).toBe('all')
  expect(updateModeFrom('new')).toBe('new')
  expect(updateModeFrom('none')).toBe('none')
  expect(updateModeFrom(false)).toBe('none')
  expect(updateModeFrom(undefined)).toBe('none')
  expect(updateModeFrom('true')).toBe('all')
  expect(updateModeFrom('false')).toBe('none')
})

test('an unknown -u value is an error naming it, not a silent "none" (`vitest bench --run -u tiny.bench.ts`)', () => {
  expect(() => updateModeFrom('tiny.bench.ts')).toThrow(GpubenchOptionsError)
  expect(() => updateModeFrom('tiny.bench.ts')).toThrow(
    /-u\/--update got "tiny.bench.ts", which is not an update mode.*put it before -u \(`vitest bench tiny.bench.ts -u`\).*No baseline was written/,
  )
  expect(() => updateModeFrom('ALL')).toThrow(/got "ALL"/)
  // A user's mistake: the message says it all, no frames follow it (Vitest prints the stack at startup).
  const error = (() => {
    try {
      updateModeFrom('tiny.bench.ts')
    } catch (e) {
      return e as Error
    }
  })()
  expect(error?.stack).toBe(`GpubenchOptionsError: ${error?.message}`)
  expect(() => updateModeFrom(1)).toThrow(/got 1, which is not an update mode/)
})

test('record mode from GPUBENCH_RECORD: replace by default, add-run on request, anything else refused by name', () => {
  expect(recordModeFrom({})).toBe('replace')
  expect(recordModeFrom({ GPUBENCH_RECORD: '' })).toBe('replace')
  expect(recordModeFrom({ GPUBENCH_RECORD: 'replace' })).toBe('replace')
  expect(recordModeFrom({ GPUBENCH_RECORD: ' add-run ' })).toBe('add-run')
  expect(() => recordModeFrom({ GPUBENCH_RECORD: 'append' })).toThrow(
    /\$GPUBENCH_RECORD must be 'replace' or 'add-run', got "append"/,
  )
})

test('a NaN, Infinity or bigint option is shown as written, not as JSON null', () => {
  expect(() => resolveOptions({ tolerance: Number.NaN })).toThrow("field 'tolerance' must be a finite number, got NaN")
  expect(() => resolveOptions({ tolerance: Number.POSITIVE_INFINITY })).toThrow('must be a finite number, got Infinity')
  expect(() => resolveOptions({ confirmRegressions: 2n as unknown as number })).toThrow(
    "field 'confirmRegressions' must be an integer from 0 to 5, got 2n",
  )
})
