/**
 * One benchmark of a suite: the workload on every available backend (`'all'`), each result
 * compared with its own device's baseline. Unavailable backends show as skipped rows with their
 * reason in the plugin's table; the CPU backend is always there.
 */
import { describeWorkload, type Workload } from '@gpubench/core'
import { expectThroughput, type GpuBenchResult } from '@gpubench/vitest-plugin'
import type { TestContext } from 'vitest'
import { benchName, rule } from './preset.ts'

export async function benchEverywhere(
  context: TestContext,
  suite: string,
  workload: Workload,
  label: string = describeWorkload(workload),
): Promise<GpuBenchResult[]> {
  const results = await context.bench
    .gpu(benchName(suite, label), workload, { backend: 'all', stoppingRule: rule })
    .run()
  expectThroughput(results).toMatchBaseline()
  return results
}
