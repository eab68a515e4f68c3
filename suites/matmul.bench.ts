/** Batched matrix-matrix product (the paper's Fig. 5: batch 8 of 2000x2000), FP32 and FP16, on every backend. */
import { gemm } from '@gpubench/core'
import { describe, test } from 'vitest'
import { benchEverywhere } from './run.ts'
import { DTYPES, matmulShapes } from './shapes.ts'

describe('matmul', () => {
  for (const shape of matmulShapes) {
    for (const dtype of DTYPES) {
      const workload = gemm({ ...shape, dtype })
      test(`${shape.batch}x${shape.m}x${shape.n}x${shape.k} ${dtype}`, async (context) => {
        await benchEverywhere(context, 'matmul', workload)
      })
    }
  }
})
