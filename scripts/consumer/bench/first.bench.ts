import { gemm, hostFunction } from '@gpubench/core'
import { expectThroughput } from '@gpubench/vitest-plugin'
import { webgpuKernel } from '@gpubench/webgpu'
import { test } from 'vitest'

// CONSUMER_SLOWDOWN=2 makes the host function do twice the work under the same name: the gate must fail.
const { CONSUMER_SLOWDOWN } = process.env
const slowdown = Number(CONSUMER_SLOWDOWN ?? '1')
const STEPS = 40_000

let sink = 0
function spin(steps: number): number {
  let x = 0x2545f491
  for (let i = 0; i < steps; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  return x
}

test('host function', async ({ bench }) => {
  const target = hostFunction(
    'xorshift',
    () => {
      sink ^= spin(STEPS * slowdown)
    },
    { flops: 6 * STEPS },
  )
  const result = await bench.gpu('xorshift', target).run()
  expectThroughput(result).toBeAtLeast('1 MFLOP/s')
  expectThroughput(result).toMatchBaseline()
})

const N = 1 << 16
const SAXPY = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&y)) { y[id.x] = 2.0 * x[id.x] + y[id.x]; }
}`

test('WGSL kernel', async ({ bench }) => {
  const xs = Float32Array.from({ length: N }, (_, i) => i % 7)
  const target = webgpuKernel({
    name: 'saxpy',
    wgsl: SAXPY,
    bindings: [
      { name: 'x', sizeBytes: 4 * N, usage: 'read-only-storage', init: xs },
      { name: 'y', sizeBytes: 4 * N, init: new Float32Array(N) },
    ],
    workgroups: [N / 64],
    flops: 2 * N,
    bytes: 12 * N,
    // Verified before measuring: buffers reset to their initial contents, one run, then this check.
    check: ({ y }) => {
      const ys = new Float32Array(y as ArrayBuffer)
      const wrong = ys.findIndex((v, i) => v !== 2 * (i % 7))
      return wrong < 0 || `y[${wrong}] is ${ys[wrong]}, expected ${2 * (wrong % 7)}`
    },
  })
  const result = await bench.gpu('saxpy', target, { backend: 'webgpu' }).run()
  expectThroughput(result).toBeAtLeast('1 MFLOP/s')
})

test('gemm on the CPU backend', async ({ bench }) => {
  const result = await bench
    .gpu('gemm', gemm({ batch: 1, m: 128, n: 128, k: 128, dtype: 'f32' }), { backend: 'cpu' })
    .run()
  expectThroughput(result).toBeAtLeast('100 MFLOP/s')
  if (sink === 42) console.log('unlikely')
})
