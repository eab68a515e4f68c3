/**
 * When a benchmark that read `regressed` is measured again (the option `confirmRegressions`):
 * after a pause that grows threefold from `confirmPauseMs` (2 s, 6 s, 18 s by default), so the
 * measurements fall in different spells of a shared machine, and never past the test's timeout.
 */

/** Each confirmation waits this many times the pause before it. */
export const CONFIRM_PAUSE_GROWTH = 3
/** The share of a test's timeout the confirmations may use up, counted from the test's start. */
export const CONFIRM_TIMEOUT_SHARE = 0.9

/**
 * The pause in ms before confirmation `k` (1 for the first): `baseMs · 3^(k-1)`, shortened so
 * that it and one more measurement of `measureMs` end within `remainingMs`; null when not even
 * the measurement fits. Cost: O(1).
 */
export function confirmationPause(baseMs: number, k: number, measureMs: number, remainingMs: number): number | null {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`confirmationPause: k must be an integer >= 1, got ${k}`)
  const room = remainingMs - measureMs
  if (!(room >= 0)) return null
  return Math.min(baseMs * CONFIRM_PAUSE_GROWTH ** (k - 1), room)
}

/** When the confirmations of a test must have ended: its start plus 90% of its timeout (none: Infinity). */
export function confirmationDeadline(task: {
  readonly timeout?: number
  readonly result?: { readonly startTime?: number }
}): number {
  const timeout = task.timeout ?? 0
  if (!(timeout > 0) || !Number.isFinite(timeout)) return Number.POSITIVE_INFINITY
  return (task.result?.startTime ?? Date.now()) + CONFIRM_TIMEOUT_SHARE * timeout
}
