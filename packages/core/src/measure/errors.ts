/**
 * Errors of the measurement module. Each names what was wrong (the field, the sample index, the
 * backend and device) so a failure can be acted on without reading the code.
 */

/** Samples that cannot be summarised: empty, non-finite, negative. */
export class SampleError extends Error {
  override name = 'SampleError'
}

/** A stopping rule with a missing, unknown or out-of-range field. */
export class StoppingRuleError extends Error {
  override name = 'StoppingRuleError'
}

/** A runnable that broke the contract during a measurement (e.g. returned zero or NaN durations). */
export class MeasurementError extends Error {
  override name = 'MeasurementError'
}

/** Summaries that cannot be compared (e.g. a baseline whose median is not a positive number). */
export class VerdictError extends Error {
  override name = 'VerdictError'
}
