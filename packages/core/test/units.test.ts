import { describe, expect, test } from 'vitest'
import {
  formatBandwidth,
  formatDuration,
  formatFlops,
  formatRate,
  parseDuration,
  parseRate,
  UnitError,
} from '../src/units.ts'

describe('parseDuration', () => {
  test.each([
    ['250 µs', 250e3],
    ['250us', 250e3],
    ['250 μs', 250e3], // Greek mu
    ['1.5 ms', 1.5e6],
    ['2s', 2e9],
    ['  7 ns ', 7],
    ['.5 s', 0.5e9],
    ['1e3 ns', 1000],
    ['2 min', 120e9],
    ['0 ms', 0],
  ])('%s is %d ns', (input, ns) => {
    expect(parseDuration(input)).toBeCloseTo(ns, 6)
  })

  test.each([
    ['250', /Malformed duration "250": expected a number and one of ns, us, µs, μs, ms, s, min/],
    ['250 hours', /Unknown duration unit "hours" in "250 hours"/],
    ['-1 ms', /A duration cannot be negative: "-1 ms"/],
    ['ms', /Malformed duration "ms"/],
    ['1.2.3 ms', /Malformed duration/],
    ['1 MS', /Malformed duration "1 MS"/],
  ])('refuses %s', (input, message) => {
    expect(() => parseDuration(input)).toThrow(UnitError)
    expect(() => parseDuration(input)).toThrow(message)
  })

  test('-0 is zero, not negative zero', () => {
    expect(Object.is(parseDuration('-0 ms'), 0)).toBe(true)
    expect(Object.is(parseDuration('-0.0e3 s'), 0)).toBe(true)
    expect(Object.is(parseRate('-0 GB/s').perSecond, 0)).toBe(true)
  })

  test('refuses a non-string', () => {
    expect(() => parseDuration(5 as unknown as string)).toThrow(
      /A duration must be a string such as '250 µs', got number/,
    )
  })
})

describe('parseRate', () => {
  test.each([
    ['12.5 TFLOP/s', 'FLOP/s', 12.5e12],
    ['50 GFLOP/s', 'FLOP/s', 50e9],
    ['3 flop/s', 'FLOP/s', 3],
    ['3 GB/s', 'B/s', 3e9],
    ['800 GiB/s', 'B/s', 800 * 2 ** 30],
    ['1 KiB/s', 'B/s', 1024],
    ['2 kB/s', 'B/s', 2000],
    ['2 KB/s', 'B/s', 2000],
    ['5 bytes/s', 'B/s', 5],
    ['1e2 MB / s', 'B/s', 1e8],
  ])('%s', (input, unit, perSecond) => {
    const rate = parseRate(input)
    expect(rate.unit).toBe(unit)
    expect(rate.perSecond).toBeCloseTo(perSecond, 0)
  })

  test.each([
    ['12.5 TFLOP', /Malformed rate "12.5 TFLOP"/],
    ['3 GiFLOP/s', /Binary prefixes apply to bytes, not FLOP: "3 GiFLOP\/s"/],
    // FLOPS is already a rate: 'GFLOPS/s' is a typo, never silently 50 GFLOP/s.
    ['50 GFLOPS/s', /Ambiguous rate "50 GFLOPS\/s": FLOPS already means per second.*write '50 GFLOP\/s'/],
    ['50GFLOPS/s', /write '50 GFLOP\/s'/],
    ['1.5 TFLOPS / s', /write '1.5 TFLOP\/s'/],
    ['-3 GB/s', /A rate cannot be negative/],
    ['3 XB/s', /Malformed rate/],
    ['fast', /Malformed rate "fast"/],
  ])('refuses %s', (input, message) => {
    expect(() => parseRate(input)).toThrow(UnitError)
    expect(() => parseRate(input)).toThrow(message)
  })

  test('refuses a non-string', () => {
    expect(() => parseRate(null as unknown as string)).toThrow(/A rate must be a string/)
  })
})

describe('formatting', () => {
  test.each([
    [1.25e13, 'FLOP/s', '12.5 TFLOP/s'],
    [187.8e9, 'FLOP/s', '188 GFLOP/s'],
    [999.4e9, 'FLOP/s', '999 GFLOP/s'],
    [999.6e9, 'FLOP/s', '1 TFLOP/s'], // rounds up into the next prefix rather than printing 1000 G
    [3e9, 'B/s', '3 GB/s'],
    [1200, 'B/s', '1.2 kB/s'],
    [0.0421, 'B/s', '0.0421 B/s'],
    [0, 'FLOP/s', '0 FLOP/s'],
  ] as const)('formatRate(%d, %s) is %s', (value, unit, text) => {
    expect(formatRate(value, unit)).toBe(text)
  })

  test('formatFlops and formatBandwidth', () => {
    expect(formatFlops(2e12)).toBe('2 TFLOP/s')
    expect(formatBandwidth(3.35e12)).toBe('3.35 TB/s')
    expect(formatRate(Number.NaN, 'B/s')).toBe('NaN B/s')
  })

  test.each([
    [250e3, '250 µs'],
    [1.5e6, '1.5 ms'],
    [2e9, '2 s'],
    [999.96, '1 µs'],
    [42, '42 ns'],
    [0.5, '0.5 ns'],
    [120e9, '120 s'],
    [Number.POSITIVE_INFINITY, 'Infinity ns'],
  ])('formatDuration(%d) is %s', (ns, text) => {
    expect(formatDuration(ns)).toBe(text)
  })

  test('a formatted duration parses back to about the same value', () => {
    for (const ns of [1, 37, 4_560, 78_900_000, 3.21e9]) {
      expect(parseDuration(formatDuration(ns)) / ns).toBeCloseTo(1, 2)
    }
  })
})
