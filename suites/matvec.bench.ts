/** Matrix-vector products (the paper's Fig. 6) from cache-resident to memory-bound, FP32 and FP16, on every backend. */
import { gemv } from '@gpubench/core'
import { describe, test } from 'vitest'
import { benchEverywhere } from './run.ts'
import { DTYPES, matvecShapes } from './shapes.ts'

describe('matvec', () => {
  for (const shape of matvecShapes) {
    for (const dtype of DTYPES) {
      const workload = gemv({ ...shape, dtype })
      test(`${shape.m}x${shape.n}${shape.trans ? ' T' : ''} ${dtype}`, async (context) => {
        await benchEverywhere(context, 'matvec', workload)
      })
    }
  }
})
