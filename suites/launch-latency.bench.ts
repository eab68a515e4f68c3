/**
 * Kernel launch latency (the paper's Table 6): a near-empty kernel, per backend. The cold launch
 * (the first in the process, module load and pipeline creation included) is each result's cold
 * figure; the follow-up launch is the median over samples of `launchesPerSample` launches timed
 * back to back natively.
 */
import { launch } from '@gpubench/core'
import { describe, test } from 'vitest'
import { benchEverywhere } from './run.ts'
import { launchesPerSample } from './shapes.ts'

describe('launch latency', () => {
  test(`empty kernel x${launchesPerSample}`, async (context) => {
    await benchEverywhere(context, 'launch', launch({ launchesPerSample }))
  })
})
