/**
 * Vector-Jacobian products (the paper's Fig. 7), the backward-pass primitive: of a linear map
 * (vᵀ·A) and of a linear layer (dX = dY·Wᵀ and dW = Xᵀ·dY), FP32 and FP16, on every backend.
 */
import { vjp } from '@gpubench/core'
import { describe, test } from 'vitest'
import { benchEverywhere } from './run.ts'
import { DTYPES, vjpLayerShapes, vjpMapShapes } from './shapes.ts'

describe('vjp', () => {
  for (const shape of vjpMapShapes) {
    for (const dtype of DTYPES) {
      const workload = vjp({ mode: 'linear-map', ...shape, dtype })
      test(`linear map ${shape.m}x${shape.n} ${dtype}`, async (context) => {
        await benchEverywhere(context, 'vjp', workload)
      })
    }
  }
  for (const shape of vjpLayerShapes) {
    for (const dtype of DTYPES) {
      const workload = vjp({ mode: 'linear-layer', ...shape, dtype })
      test(`linear layer ${shape.batch}x${shape.inFeatures}x${shape.outFeatures} ${dtype}`, async (context) => {
        await benchEverywhere(context, 'vjp', workload)
      })
    }
  }
})
