/**
 * What `expectThroughput()` needs beyond the result itself: the benchmark's comparison with its
 * baseline (judgement.ts, which computes every verdict, the reported one included), the test
 * context (for notices), and the settings the benchmark ran under. Kept off the result object so
 * the result stays a plain, printable value.
 */
import type { TestContext } from 'vitest'
import type { UpdateMode } from '../options.ts'
import type { Judgement } from './judgement.ts'
import type { GpuBenchResult } from './result.ts'

export interface ResultLink {
  /** The benchmark's key in its baseline file. */
  readonly key: string
  readonly judgement: Judgement
  readonly context: TestContext
  /** The benchmark's tolerance (its own option, else the plugin's, else core's default). */
  readonly tolerance: number
  readonly strict: boolean
  readonly update: UpdateMode
}

const links = new WeakMap<GpuBenchResult, ResultLink>()

export function linkResult(result: GpuBenchResult, link: ResultLink): void {
  links.set(result, link)
}

export function resultLink(result: GpuBenchResult): ResultLink | undefined {
  return links.get(result)
}
