/**
 * Users' own kernels, and the fault paths: Dawn's messages come back as BackendErrors, a failed
 * benchmark does not stop the next one, waits are bounded, and host timing where asked.
 */
import { BackendError, gemm, gemv, type HostFunctionTarget, launch } from '@gpubench/core'
import { afterAll, describe, expect, it } from 'vitest'
import { createWebgpuBackend, webgpuBackend, webgpuKernel } from '../src/index.ts'
import { resolveOptions } from '../src/options.ts'
import { Session, withTimeout } from '../src/session.ts'
import { unavailable } from './adapter.ts'

const SAXPY = `
override scale: f32 = 2.0;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i < arrayLength(&y)) { y[i] = scale * x[i] + y[i]; }
}
`

const N = 1000

function saxpy(check: (y: Float32Array) => boolean | string) {
  const xs = Float32Array.from({ length: N }, (_, i) => i)
  return webgpuKernel({
    name: 'saxpy 1000',
    wgsl: SAXPY,
    constants: { scale: 3 },
    bindings: [
      { name: 'x', sizeBytes: 4 * N, usage: 'read-only-storage', init: xs },
      { name: 'y', sizeBytes: 4 * N, init: (bytes) => new Float32Array(bytes.buffer).fill(1) },
    ],
    workgroups: [Math.ceil(N / 64)],
    flops: 2 * N,
    bytes: 12 * N,
    check: ({ y }) => check(new Float32Array(y ?? new ArrayBuffer(0))),
  })
}

describe('webgpu targets without a device', () => {
  it('refuses JavaScript functions and other backends’ targets with a reason', () => {
    const js: HostFunctionTarget = { kind: 'function', name: 'js', fn: () => 1 }
    expect(webgpuBackend.supports(js)).toMatch(/host backend/)
    expect(webgpuBackend.supports({ kind: 'custom', backend: 'cuda', name: 'k', spec: {} })).toMatch(
      /belongs to the cuda backend/,
    )
  })

  it('bounds waits with a timeout that names what was awaited', async () => {
    await expect(withTimeout(new Promise(() => {}), 20, 'a hung map')).rejects.toThrow(
      'timed out after 20 ms waiting for a hung map',
    )
    await expect(withTimeout(Promise.resolve(5), 20, 'x')).resolves.toBe(5)
  })
})

describe.skipIf(unavailable)('webgpu user kernels and faults', { timeout: 30_000 }, () => {
  afterAll(() => webgpuBackend.shutdown())

  it("benchmarks a user's WGSL kernel with the same timing and checks it", async () => {
    const target = saxpy((y) => y.every((v, i) => v === 3 * i + 1) || `y[1] = ${y[1]}, expected 4`)
    expect(webgpuBackend.supports(target)).toBe(true)
    const runnable = await webgpuBackend.prepare(target)
    try {
      expect(runnable.timing).toBe('webgpu-timestamps')
      expect(await runnable.cold()).toBeGreaterThan(0)
      const durations = await runnable.run(4)
      expect(durations.every((ns) => ns > 0)).toBe(true)
      // Timed runs changed y (y += 3x each time); verify() restores the initial contents first.
      expect(await runnable.verify()).toMatchObject({ ok: true, checked: 1, scanned: 4 * N })
    } finally {
      await runnable.dispose()
    }
  })

  it("reports a failing check with the user's message", async () => {
    const runnable = await webgpuBackend.prepare(saxpy(() => 'deliberately wrong'))
    try {
      const report = await runnable.verify()
      expect(report.ok).toBe(false)
      expect(report.failure).toBe('saxpy 1000: deliberately wrong')
    } finally {
      await runnable.dispose()
    }
  })

  it("fails invalid WGSL with Dawn's message, and the next benchmark still runs", async () => {
    const broken = webgpuKernel({
      name: 'broken',
      wgsl: '@compute @workgroup_size(1) fn main( { let x = ; }',
      bindings: [{ sizeBytes: 4 }],
      workgroups: 1,
    })
    const failure = webgpuBackend.prepare(broken)
    await expect(failure).rejects.toBeInstanceOf(BackendError)
    await expect(failure).rejects.toThrow(/WGSL compilation failed:\nbroken:1:\d+: expected/)
    const next = await webgpuBackend.prepare(gemv({ m: 9, n: 7 }))
    try {
      await next.cold()
      expect((await next.verify()).ok).toBe(true)
      expect((await next.run(2)).every((ns) => ns > 0)).toBe(true)
    } finally {
      await next.dispose()
    }
  })

  it("fails a kernel whose bindings disagree with its declared buffers at pipeline creation, with Dawn's message", async () => {
    const mismatched = webgpuKernel({
      name: 'mismatched',
      wgsl: SAXPY,
      bindings: [{ name: 'x', sizeBytes: 4 * N, usage: 'read-only-storage' }], // binding 1 missing
      workgroups: 16,
    })
    const runnable = await webgpuBackend.prepare(mismatched)
    try {
      await expect(runnable.cold()).rejects.toThrow(
        /compute pipeline of mismatched failed: Binding doesn't exist.*@binding\(1\)/s,
      )
    } finally {
      await runnable.dispose()
    }
  })

  it('fails an absurd buffer size cleanly, with the size in the message', async () => {
    const huge = webgpuKernel({
      name: 'huge',
      wgsl: '@group(0) @binding(0) var<storage, read_write> b: array<f32>;\n@compute @workgroup_size(1) fn main() { b[0] = 1.0; }',
      bindings: [{ sizeBytes: 2 ** 40 }],
      workgroups: 1,
    })
    await expect(webgpuBackend.prepare(huge)).rejects.toThrow(
      /huge: allocating buffers: validation error: .*1099511627776/s,
    )
    // A built-in workload too large for one binding is refused up front with the limit named.
    expect(webgpuBackend.supports(gemm({ m: 8192, n: 8192, k: 8 }))).toMatch(/maxStorageBufferBindingSize/)
    await expect(webgpuBackend.prepare(gemm({ m: 8192, n: 8192, k: 8 }))).rejects.toThrow(
      /buffer 'C' has 268435456 bytes/,
    )
    const next = await webgpuBackend.prepare(launch({ launchesPerSample: 5 }))
    try {
      expect((await next.run(2)).every((ns) => ns > 0)).toBe(true)
    } finally {
      await next.dispose()
    }
  })

  it('a lost device fails pending and later waits at once instead of hanging', async () => {
    const session = await Session.open(resolveOptions(), 'test-device', { f16: false, timestamps: false }, 'lost')
    session.device.destroy() // as a driver reset would, from outside the session
    const started = Date.now()
    await expect(session.wait(new Promise(() => {}), 'work that never completes')).rejects.toThrow(
      /webgpu test-device: device lost \(destroyed\)/,
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(() => session.check()).toThrow(/device lost/)
    session.destroy()
  })

  it('allows verify() before cold(), says so in the notes, and refuses a second cold run', async () => {
    const runnable = await webgpuBackend.prepare(launch({ launchesPerSample: 3 }))
    try {
      expect((await runnable.verify()).ok).toBe(true)
      expect(await runnable.cold()).toBeGreaterThan(0)
      expect(runnable.notes.join('\n')).toMatch(/cold\(\) ran after verify\(\)/)
      await expect(runnable.cold()).rejects.toThrow(/cold\(\) runs once, before run\(\)/)
    } finally {
      await runnable.dispose()
    }
  })

  it('sizes submissions so a slow kernel is not taken for a hung device', async () => {
    // One invocation spinning for a while: its run time t decides the timeout of the second backend.
    const spin = webgpuKernel({
      name: 'spin',
      wgsl: `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(1) fn main() {
  var s = b[0];
  for (var i = 0u; i < 20000000u; i++) { s = s * 0.9999999 + 1.0; }
  b[0] = s;
}`,
      bindings: [{ sizeBytes: 4 }],
      workgroups: 1,
    })
    const probeRun = await webgpuBackend.prepare(spin)
    let runMs: number
    try {
      await probeRun.cold()
      const t0 = performance.now()
      await probeRun.run(1)
      runMs = performance.now() - t0
    } finally {
      await probeRun.dispose()
    }
    // Twelve runs in one submission would take 12 t, three times this timeout; sized submissions wait about t each.
    const backend = createWebgpuBackend({ timeoutMs: Math.ceil(4 * runMs) })
    const runnable = await backend.prepare(spin)
    try {
      await runnable.cold()
      const durations = await runnable.run(12)
      expect(durations).toHaveLength(12)
      expect(durations.every((ns) => ns > 0)).toBe(true)
    } finally {
      await runnable.dispose()
    }
  })

  it('ends a wait that outlasts the timeout with a BackendError, and the next benchmark still runs', async () => {
    const backend = createWebgpuBackend({ timeoutMs: 150 })
    const slow = webgpuKernel({
      name: 'too slow',
      wgsl: `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(1) fn main() {
  var s = b[0];
  for (var i = 0u; i < 200000000u; i++) { s = s * 0.9999999 + 1.0; }
  b[0] = s;
}`,
      bindings: [{ sizeBytes: 4 }],
      workgroups: 1,
    })
    const runnable = await backend.prepare(slow)
    try {
      await expect(runnable.cold()).rejects.toThrow(/timed out after 150 ms waiting for too slow: the cold run/)
      await expect(runnable.run(1)).rejects.toThrow(/timed out after 150 ms .*cannot continue/)
    } finally {
      await runnable.dispose()
    }
    const next = await webgpuBackend.prepare(launch({ launchesPerSample: 5 }))
    try {
      expect((await next.run(2)).every((ns) => ns > 0)).toBe(true)
    } finally {
      await next.dispose()
    }
  })

  it('refuses work after dispose with a clear error', async () => {
    const runnable = await webgpuBackend.prepare(launch({ launchesPerSample: 2 }))
    await runnable.dispose()
    await runnable.dispose() // twice is fine
    await expect(runnable.run(1)).rejects.toThrow(/run\(\) after dispose\(\)/)
  })

  it('times with the host clock around submit and wait where timestamps are off, and states that cost', async () => {
    const backend = createWebgpuBackend({ timestamps: false })
    const runnable = await backend.prepare(gemv({ m: 33, n: 17, trans: true }))
    try {
      expect(runnable.timing).toBe('host-submit-wait')
      expect(runnable.notes.join('\n')).toMatch(/host-submit-wait .*empty submission costs about \d+(\.\d)? µs/)
      await runnable.cold()
      expect((await runnable.run(3)).every((ns) => ns > 0)).toBe(true)
      expect((await runnable.verify()).ok).toBe(true)
    } finally {
      await runnable.dispose()
      await backend.shutdown()
    }
  })
})
