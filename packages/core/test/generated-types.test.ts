import { readFile } from 'node:fs/promises'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { GENERATED_TYPES_PATH, generateBaselineTypes } from '../scripts/generate-types.ts'
import type { SampleStats } from '../src/measure/index.ts'
import type { BaselineDevice, BaselineEntry, BaselineFile } from '../src/store/index.ts'

describe('baseline.generated.ts', () => {
  it('is what the schema generates today (run `pnpm --filter @gpubench/core generate:types` if not)', async () => {
    const committed = await readFile(GENERATED_TYPES_PATH, 'utf8')
    const regenerated = await generateBaselineTypes()
    expect(committed, 'src/store/baseline.generated.ts is stale: regenerate it from the schema').toBe(regenerated)
  }, 30_000)

  it('has the shape of the agreed API', () => {
    expectTypeOf<BaselineFile['schemaVersion']>().toEqualTypeOf<1>()
    expectTypeOf<BaselineFile['entries']>().toEqualTypeOf<{ [k: string]: BaselineEntry }>()
    expectTypeOf<BaselineDevice['details']>().toEqualTypeOf<{ [k: string]: string | number | boolean }>()
    expectTypeOf<BaselineDevice['vendor']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<BaselineEntry['workload']>().toEqualTypeOf<object | undefined>()
    expectTypeOf<BaselineEntry['coldNs']>().toEqualTypeOf<number | null>()
    expectTypeOf<BaselineEntry['commit']>().toEqualTypeOf<string | null>()
    expectTypeOf<BaselineEntry['stats']>().toEqualTypeOf<{
      n: number
      medianNs: number
      meanNs: number
      sdNs: number
      madNs: number
      minNs: number
      maxNs: number
      p25Ns: number
      p75Ns: number
      p99Ns: number
      ciLowNs: number
      ciHighNs: number
      ciLevel: number
    }>()
  })

  it("stores measure's SampleStats as it is (a type check: the store itself does not import measure)", () => {
    expectTypeOf<BaselineEntry['stats']>().toEqualTypeOf<SampleStats>()
  })
})
