/**
 * Units. Durations are kept as nanoseconds, rates as FLOP/s or bytes/s; the unit lives in the
 * name (`durationNs`, `flopPerSecond`) or in the type below, never in a bare number.
 *
 * Parsing accepts SI prefixes with or without a space: `'12.5 TFLOP/s'`, `'3 GB/s'`,
 * `'250 µs'`, `'250us'`. Byte prefixes are decimal (1 GB/s = 1e9 B/s); binary prefixes (`GiB/s`)
 * are accepted too. Anything else is refused with an error that quotes the input.
 */

/** A duration in nanoseconds. */
export type DurationNs = number
/** Floating-point operations per second. */
export type FlopPerSecond = number
/** Bytes per second. */
export type BytesPerSecond = number

export type RateUnit = 'FLOP/s' | 'B/s'

export interface Rate {
  readonly unit: RateUnit
  /** Operations (FLOP/s) or bytes (B/s) per second. */
  readonly perSecond: number
}

export class UnitError extends Error {
  override name = 'UnitError'
}

const SI_PREFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}

const BINARY_PREFIX: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
}

const DURATION_UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3, // Greek mu, as well as the micro sign above
  ms: 1e6,
  s: 1e9,
  min: 60e9,
}

// A finite decimal number: sign, digits, optional fraction, optional exponent.
const NUMBER = String.raw`([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)`
const DURATION_RE = new RegExp(`^${NUMBER}\\s*([a-zµμ]+)$`)
const RATE_RE = new RegExp(`^${NUMBER}\\s*([kKMGTPE]i?)?\\s*(FLOP|FLOPS|flop|B|bytes?)\\s*/\\s*s$`)

function parseNumber(text: string, input: string): number {
  const value = Number(text)
  if (!Number.isFinite(value)) throw new UnitError(`Not a finite number in ${JSON.stringify(input)}`)
  return value
}

/** Parses `'250 µs'`, `'250us'`, `'1.5 ms'`, `'2s'` into nanoseconds. A bare number is refused: say the unit. */
export function parseDuration(input: string): DurationNs {
  if (typeof input !== 'string')
    throw new UnitError(`A duration must be a string such as '250 µs', got ${typeof input}`)
  const match = DURATION_RE.exec(input.trim())
  if (!match) {
    throw new UnitError(
      `Malformed duration ${JSON.stringify(input)}: expected a number and one of ${Object.keys(DURATION_UNIT_NS).join(', ')}, e.g. '250 µs'`,
    )
  }
  const [, numberText = '', unit = ''] = match
  const scale = DURATION_UNIT_NS[unit]
  if (scale === undefined) {
    throw new UnitError(
      `Unknown duration unit ${JSON.stringify(unit)} in ${JSON.stringify(input)}: use one of ${Object.keys(DURATION_UNIT_NS).join(', ')}`,
    )
  }
  const value = parseNumber(numberText, input)
  if (value < 0) throw new UnitError(`A duration cannot be negative: ${JSON.stringify(input)}`)
  // '-0 ms' is zero; `+ 0` turns -0 into 0, so it never prints as "-0".
  return value * scale + 0
}

/** Parses `'12.5 TFLOP/s'`, `'3 GB/s'`, `'800 GiB/s'` into a rate with its unit. */
export function parseRate(input: string): Rate {
  if (typeof input !== 'string')
    throw new UnitError(`A rate must be a string such as '50 GFLOP/s', got ${typeof input}`)
  const match = RATE_RE.exec(input.trim())
  if (!match) {
    throw new UnitError(
      `Malformed rate ${JSON.stringify(input)}: expected a number, an optional SI prefix and FLOP/s or B/s, e.g. '12.5 TFLOP/s' or '3 GB/s'`,
    )
  }
  const [, numberText = '', prefix = '', base = ''] = match
  if (/^flops$/i.test(base)) {
    // FLOPS already means FLOP per second: 'GFLOPS/s' would be per second squared, a unit typo.
    throw new UnitError(
      `Ambiguous rate ${JSON.stringify(input)}: FLOPS already means per second, so FLOPS/s is FLOP/s²; write '${numberText} ${prefix}FLOP/s'`,
    )
  }
  const unit: RateUnit = base.toUpperCase().startsWith('FLOP') ? 'FLOP/s' : 'B/s'
  const scale = prefix.endsWith('i') ? BINARY_PREFIX[prefix] : SI_PREFIX[prefix]
  if (scale === undefined) throw new UnitError(`Unknown prefix ${JSON.stringify(prefix)} in ${JSON.stringify(input)}`)
  if (prefix.endsWith('i') && unit === 'FLOP/s') {
    throw new UnitError(`Binary prefixes apply to bytes, not FLOP: ${JSON.stringify(input)}`)
  }
  const value = parseNumber(numberText, input)
  if (value < 0) throw new UnitError(`A rate cannot be negative: ${JSON.stringify(input)}`)
  return { unit, perSecond: value * scale + 0 }
}

const PRINT_PREFIXES: ReadonlyArray<readonly [string, number]> = [
  ['E', 1e18],
  ['P', 1e15],
  ['T', 1e12],
  ['G', 1e9],
  ['M', 1e6],
  ['k', 1e3],
  ['', 1],
]

/** Three significant digits, trailing zeros trimmed: 12.5, 188, 0.0421. */
function significant(value: number): string {
  if (value === 0) return '0'
  const text = value.toPrecision(3)
  return text.includes('e') ? text : text.includes('.') ? text.replace(/\.?0+$/, '') : text
}

/** Formats a rate with an SI prefix: `formatRate(1.25e13, 'FLOP/s')` is `'12.5 TFLOP/s'`. */
export function formatRate(perSecond: number, unit: RateUnit): string {
  if (!Number.isFinite(perSecond)) return `${perSecond} ${unit}`
  const magnitude = Math.abs(perSecond)
  for (const [prefix, scale] of PRINT_PREFIXES) {
    if (magnitude >= scale * 0.9995) return `${significant(perSecond / scale)} ${prefix}${unit}`
  }
  return `${significant(perSecond)} ${unit}`
}

export function formatFlops(flopPerSecond: FlopPerSecond): string {
  return formatRate(flopPerSecond, 'FLOP/s')
}

/** Formats an amount of memory with a decimal prefix, three significant digits: `formatBytes(1.72e10)` is `'17.2 GB'`. */
export function formatBytes(bytes: number): string {
  return formatRate(bytes, 'B/s').replace(/\/s$/, '')
}

export function formatBandwidth(bytesPerSecond: BytesPerSecond): string {
  return formatRate(bytesPerSecond, 'B/s')
}

/** Formats nanoseconds with the largest unit that keeps the value at or above 1: `'250 µs'`, `'1.5 ms'`. */
export function formatDuration(durationNs: DurationNs): string {
  if (!Number.isFinite(durationNs)) return `${durationNs} ns`
  const magnitude = Math.abs(durationNs)
  if (magnitude >= 0.9995e9) return `${significant(durationNs / 1e9)} s`
  if (magnitude >= 0.9995e6) return `${significant(durationNs / 1e6)} ms`
  if (magnitude >= 0.9995e3) return `${significant(durationNs / 1e3)} µs`
  return `${significant(durationNs)} ns`
}
