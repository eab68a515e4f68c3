/**
 * CPU backend figures for the paper's workloads, one line each: median device time over a few
 * runs after a cold run and one warm-up, and the rate it implies. For launch latency: the cold
 * launch (the first in this process: the thread pool's start included) and the follow-up launch
 * (launches back to back inside the addon, per launch).
 *
 *   node_modules/.bin/node packages/native/scripts/cpu-figures.ts [--runs 5]
 *
 * Loads only the addon (not core), so it runs under plain Node type stripping.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { loadAddon } from '../src/load.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`)

const load = await loadAddon()
if (!load.ok) {
  console.error(`cpu-figures: ${load.reason}`)
  process.exit(1)
}
const { addon } = load

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(0)} ns`
}

const loadBefore = loadavg()[0] ?? Number.NaN

// Launch first, so its cold run is the first use of the thread pool in this process.
{
  const r = new addon.Runnable('cpu', { kind: 'launch', launchesPerSample: 1000 })
  const coldNs = r.cold()
  r.run(1)
  const followNs = median(Array.from(r.run(runs)))
  console.log(
    `launch                              cold ${formatNs(coldNs)}, follow-up ${formatNs(followNs)} per launch`,
  )
  r.dispose()
}

interface Case {
  label: string
  workload: Record<string, unknown>
  flops: number
  bytes: number
  blas: 'own' | 'system'
}
const g = (batch: number, size: number, dtype: string) => ({
  kind: 'gemm',
  batch,
  m: size,
  n: size,
  k: size,
  dtype,
  transA: false,
  transB: false,
})
const cases: Case[] = [
  { label: 'gemm 8x2000^3 f32 own', workload: g(8, 2000, 'f32'), flops: 2 * 8 * 2000 ** 3, bytes: 0, blas: 'own' },
  {
    label: 'gemm 8x2000^3 f32 system BLAS',
    workload: g(8, 2000, 'f32'),
    flops: 2 * 8 * 2000 ** 3,
    bytes: 0,
    blas: 'system',
  },
  { label: 'gemm 8x2000^3 f16 own', workload: g(8, 2000, 'f16'), flops: 2 * 8 * 2000 ** 3, bytes: 0, blas: 'own' },
  ...(['f32', 'f16'] as const).flatMap((dtype) =>
    [false, true].map((trans) => ({
      label: `gemv 2000x2000 ${dtype}${trans ? ' T' : ''}`,
      workload: { kind: 'gemv', m: 2000, n: 2000, dtype, trans },
      flops: 2 * 2000 * 2000,
      bytes: (dtype === 'f16' ? 2 : 4) * (2000 * 2000 + 4000),
      blas: 'own' as const,
    })),
  ),
  ...(['f32', 'f16'] as const).map((dtype) => ({
    label: `vjp linear-layer 256x2048x2048 ${dtype}`,
    workload: { kind: 'vjp', mode: 'linear-layer', batch: 256, inFeatures: 2048, outFeatures: 2048, dtype },
    flops: 4 * 256 * 2048 * 2048,
    bytes: 0,
    blas: 'own' as const,
  })),
]
for (const c of cases) {
  const r = new addon.Runnable('cpu', c.workload, { blas: c.blas })
  r.cold()
  r.run(1)
  const ns = median(Array.from(r.run(runs)))
  r.dispose()
  const rate = c.bytes ? `${(c.bytes / ns).toFixed(1)} GB/s` : `${(c.flops / ns).toFixed(1)} GFLOP/s`
  console.log(`${c.label.padEnd(36)}median ${formatNs(ns).padStart(10)}  ${rate}`)
}
console.log(`load average (1 min): before ${loadBefore.toFixed(2)}, after ${(loadavg()[0] ?? Number.NaN).toFixed(2)}`)
