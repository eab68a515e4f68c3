/**
 * Hands device-measured durations to Vitest's own benchmark machinery, so `vitest bench` prints
 * device time in its table and reporters see it in `testCase.benchmarks()`.
 *
 * The samples were taken by core's engine (cold run apart, warm-up, stopping rule); tinybench is
 * only asked to replay them: one task call per sample, each returning the sample as
 * `overriddenDuration` (milliseconds, tinybench's unit), with no warm-up and no time budget, so
 * tinybench's statistics are computed over exactly these samples and nothing else.
 */
import type { BenchResult, TestContext } from 'vitest'

export async function reportToVitest(
  context: TestContext,
  taskName: string,
  samplesNs: readonly number[],
): Promise<BenchResult> {
  let next = 0
  const replay = () => {
    const sampleNs = samplesNs[next % samplesNs.length]!
    next += 1
    return { overriddenDuration: sampleNs / 1e6, overriddenIterationCost: sampleNs / 1e6 }
  }
  const result = await context.bench(taskName, { async: false }, replay).run({
    iterations: samplesNs.length,
    time: 0,
    warmup: false,
  })
  if (next !== samplesNs.length) {
    throw new Error(
      `gpubench: Vitest's benchmark runner consumed ${next} of ${samplesNs.length} samples of '${taskName}'; its table would not show the measured samples`,
    )
  }
  return result
}
