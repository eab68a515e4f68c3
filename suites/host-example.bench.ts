/**
 * The smallest gpubench suite: a JavaScript function measured by the host backend, so
 * `vitest bench` has something to run on any machine. Records its baseline with `vitest bench -u`.
 */
import { hostFunction } from '@gpubench/core'
import { expectThroughput } from '@gpubench/vitest-plugin'
import { test } from 'vitest'

const N = 1 << 16
const x = new Float64Array(N).map((_, i) => Math.sin(i))
const y = new Float64Array(N).map((_, i) => Math.cos(i))

function dot(): number {
  let sum = 0
  for (let i = 0; i < N; i++) sum += x[i]! * y[i]!
  return sum
}

test('host: dot product of 65536 float64', async ({ bench }) => {
  // 2 FLOP and 16 bytes read per element.
  const target = hostFunction('dot-f64-65536', dot, { flops: 2 * N, bytes: 16 * N })
  const result = await bench.gpu('host-dot-f64-65536', target, { stoppingRule: { maxTimeNs: 2e9 } }).run()
  expectThroughput(result).toBeAtLeast('10 MFLOP/s')
  expectThroughput(result).toTakeAtMost('50 ms')
  expectThroughput(result).toMatchBaseline()
})
