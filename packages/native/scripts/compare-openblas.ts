/**
 * Batched f32 GEMM (default 8 x 2000^3) on this package's own AVX2/FMA kernel and on the system
 * BLAS (OpenBLAS on Linux), side by side in one process: several rounds alternating which goes
 * first, one timed run of each per round (steady clock, inside the addon), medians reported.
 *
 *   node_modules/.bin/node packages/native/scripts/compare-openblas.ts [--rounds 7] [--batch 8] [--size 2000]
 *
 * Only the addon is loaded (not core), so it runs under plain Node type stripping. The machine's
 * load average is printed before and after: on shared cores, figures taken under load mean little.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import type { NativeRunnable } from '../src/addon-types.ts'
import { loadAddon } from '../src/load.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '2000' },
  },
})

function positiveInteger(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`)
  return value
}

const rounds = positiveInteger('rounds', values.rounds)
const batch = positiveInteger('batch', values.batch)
const size = positiveInteger('size', values.size)

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2
}

const load = await loadAddon()
if (!load.ok) {
  console.error(`compare-openblas: ${load.reason}`)
  process.exit(1)
}
const { addon } = load
const own = addon.cpuDescribe({ blas: 'own' })
if (!own.systemBlasAvailable) {
  console.error(`compare-openblas: no system BLAS to compare with: ${own.systemBlas}`)
  process.exit(1)
}
const system = addon.cpuDescribe({ blas: 'system' })

const workload = { kind: 'gemm', batch, m: size, n: size, k: size, dtype: 'f32', transA: false, transB: false }
const flops = 2 * batch * size * size * size
const loadBefore = loadavg()
const contenders: Array<{ name: string; runnable: NativeRunnable; ns: number[] }> = [
  { name: `own ${own.isa}`, runnable: new addon.Runnable('cpu', workload, { blas: 'own' }), ns: [] },
  {
    name: `${system.gemm} (${system.systemBlas})`,
    runnable: new addon.Runnable('cpu', workload, { blas: 'system' }),
    ns: [],
  },
]
try {
  for (const c of contenders) {
    c.runnable.cold()
    c.runnable.run(1) // warm-up
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse()
    for (const c of order) c.ns.push(c.runnable.run(1)[0] ?? Number.NaN)
  }
} finally {
  for (const c of contenders) c.runnable.dispose()
}
const loadAfter = loadavg()

console.log(
  `batched sgemm ${batch} x ${size}^3, ${own.threads} threads, ${rounds} alternating rounds after one warm-up each (${own.model})`,
)
const rates = contenders.map((c) => {
  const gflops = flops / median(c.ns)
  const all = c.ns.map((ns) => (flops / ns).toFixed(1)).join(' ')
  console.log(`  ${c.name.padEnd(40)} median ${gflops.toFixed(1).padStart(6)} GFLOP/s   rounds: ${all}`)
  return gflops
})
console.log(`  ratio own / system: ${((rates[0] ?? 0) / (rates[1] ?? 1)).toFixed(3)}`)
console.log(
  `  load average (1 min) before ${loadBefore[0]?.toFixed(2)}, after ${loadAfter[0]?.toFixed(2)} on ${own.threads} hardware threads`,
)
