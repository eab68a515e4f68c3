import { describe, expect, test } from 'vitest'
import { confirmationLine } from '../src/report/figures.ts'
import { confirmationDeadline, confirmationPause } from '../src/runtime/confirm.ts'

describe('confirmationPause', () => {
  test('grows threefold from the first pause: 2 s, 6 s, 18 s', () => {
    expect([1, 2, 3].map((k) => confirmationPause(2000, k, 500, Number.POSITIVE_INFINITY))).toEqual([2000, 6000, 18000])
    expect(confirmationPause(0, 3, 500, Number.POSITIVE_INFINITY)).toBe(0)
  })

  test('is shortened so the pause and one more measurement end in time, and refused when the measurement alone does not fit', () => {
    // 10 s left, measurements of 3 s: the 18 s pause becomes 7 s.
    expect(confirmationPause(2000, 3, 3000, 10_000)).toBe(7000)
    expect(confirmationPause(2000, 1, 3000, 3000)).toBe(0)
    expect(confirmationPause(2000, 1, 3000, 2999)).toBeNull()
    expect(confirmationPause(2000, 1, 3000, Number.NaN)).toBeNull()
  })

  test('refuses a confirmation number that is not a positive integer', () => {
    expect(() => confirmationPause(2000, 0, 1, 1)).toThrow(/k must be an integer >= 1, got 0/)
  })
})

describe('confirmationDeadline', () => {
  test("90% of the test's timeout from its start; none without a timeout", () => {
    expect(confirmationDeadline({ timeout: 60_000, result: { startTime: 1_000 } })).toBe(55_000)
    expect(confirmationDeadline({ timeout: 0, result: { startTime: 1_000 } })).toBe(Number.POSITIVE_INFINITY)
    expect(confirmationDeadline({})).toBe(Number.POSITIVE_INFINITY)
    const before = Date.now()
    const deadline = confirmationDeadline({ timeout: 1000 })
    expect(deadline).toBeGreaterThanOrEqual(before + 900)
    expect(deadline).toBeLessThanOrEqual(Date.now() + 900)
  })
})

test('confirmationLine: the measurements, their pauses and ratios; none when the first stood alone', () => {
  expect(confirmationLine(undefined, 2)).toBeNull()
  expect(confirmationLine([], 2)).toBeNull()
  expect(confirmationLine([{ ratio: 2.5, pauseMs: 2000 }], 2.4)).toBe(
    'confirmed: 2 measurements, after a pause of 2 s, every one regressed (ratios 2.50x, 2.40x)',
  )
  expect(
    confirmationLine(
      [
        { ratio: 2.04, pauseMs: 2000 },
        { ratio: 2.05, pauseMs: 6000 },
        { ratio: 2.061, pauseMs: 18_000 },
      ],
      2.053,
    ),
  ).toBe(
    'confirmed: 4 measurements, after pauses of 2 s, 6 s and 18 s, every one regressed (ratios 2.04x, 2.05x, 2.06x, 2.05x)',
  )
})
