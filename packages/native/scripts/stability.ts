/**
 * Run-to-run stability of the CPU backend's GEMV-family kernels: each shape is prepared N times in
 * this process (fresh buffers every time), each prepare is measured with core's measure() under a
 * short rule, and per shape the min / median / max of the per-prepare medians and their max/min
 * ratio are printed (marked * above 1.10), then the max/min ratio of the per-prepare fastest
 * samples. A ratio well above 1 means the kernel has modes that depend on where its buffers
 * landed or how its threads were placed, which a baseline comparison would report as a
 * regression; when only the median ratio is high, load from other processes is the likelier cause.
 *
 * Prepares are interleaved round-robin over the shapes (round 1 prepares every shape, then round
 * 2, ...), so a burst of load from elsewhere spreads over all shapes instead of inflating one, and
 * every prepare follows other workloads (an f32 GEMM on the system BLAS included), as in a suite.
 *
 *   node_modules/.bin/node packages/native/scripts/stability.ts [--prepares 8] [--max-time-ms 500] [--only gemv] [--each]
 *
 * --each also prints every prepare's median in the order taken (a slow first round points at
 * process warm-up rather than at allocation).
 *
 * Run it in several separate processes: allocation and thread placement differ between them.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { gemm, gemv, measure, vjp, type Workload } from '@gpubench/core'
import { cpuBackend } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    prepares: { type: 'string', default: '8' },
    'max-time-ms': { type: 'string', default: '500' },
    only: { type: 'string' },
    each: { type: 'boolean', default: false },
  },
})
const prepares = Number(values.prepares)
if (!Number.isInteger(prepares) || prepares < 2) {
  throw new Error(`--prepares must be an integer >= 2, got ${values.prepares}`)
}
const maxTimeMs = Number(values['max-time-ms'])
if (!(Number.isFinite(maxTimeMs) && maxTimeMs > 0)) {
  throw new Error(`--max-time-ms must be a positive number, got ${values['max-time-ms']}`)
}

interface Shape {
  label: string
  workload: Workload
}

const shapes: Shape[] = (['f32', 'f16'] as const).flatMap((dtype) => [
  { label: `vjp linear-map 1024x1024 ${dtype}`, workload: vjp({ mode: 'linear-map', m: 1024, n: 1024, dtype }) },
  { label: `vjp linear-map 256x256 ${dtype}`, workload: vjp({ mode: 'linear-map', m: 256, n: 256, dtype }) },
  { label: `gemv 4096x1024 ${dtype} trans`, workload: gemv({ m: 4096, n: 1024, dtype, trans: true }) },
  { label: `gemv 1024x1024 ${dtype}`, workload: gemv({ m: 1024, n: 1024, dtype }) },
  {
    label: `vjp linear-layer 32x256x256 ${dtype}`,
    workload: vjp({ mode: 'linear-layer', batch: 32, inFeatures: 256, outFeatures: 256, dtype }),
  },
  { label: `gemm 1x512x128x1024 ${dtype}`, workload: gemm({ batch: 1, m: 512, n: 128, k: 1024, dtype }) },
  { label: `gemm 8x256x256x256 ${dtype}`, workload: gemm({ batch: 8, m: 256, n: 256, k: 256, dtype }) },
])
const selected = values.only === undefined ? shapes : shapes.filter((s) => s.label.includes(values.only ?? ''))
if (selected.length === 0) throw new Error(`--only ${values.only} matches no shape`)

const probe = await cpuBackend.probe()
if (!probe.available) {
  console.error(`stability: the CPU backend is unavailable: ${probe.reason}`)
  process.exit(1)
}

const rule = { maxTimeNs: maxTimeMs * 1e6, minTimeNs: Math.min(0.3e9, (maxTimeMs * 1e6) / 2) }
const loadBefore = loadavg()[0] ?? Number.NaN
const mediansNs = new Map<string, number[]>(selected.map((s) => [s.label, []]))
// The fastest sample of each prepare: a mode of the kernel (alignment, placement) moves it too,
// while load from other processes mostly moves the median; the two ratios tell them apart.
const fastestNs = new Map<string, number[]>(selected.map((s) => [s.label, []]))
for (let round = 0; round < prepares; round++) {
  for (const shape of selected) {
    const runnable = await cpuBackend.prepare(shape.workload)
    try {
      const m = await measure(runnable, rule)
      mediansNs.get(shape.label)?.push(m.stats.medianNs)
      fastestNs.get(shape.label)?.push(m.samplesNs[0] ?? Number.NaN)
    } finally {
      await runnable.dispose()
    }
  }
}

function us(ns: number): string {
  return (ns / 1e3).toFixed(2).padStart(9)
}

function spread(values: readonly number[]): { min: number; median: number; max: number; ratio: number } {
  const xs = [...values].sort((a, b) => a - b)
  const min = xs[0] ?? Number.NaN
  const max = xs[xs.length - 1] ?? Number.NaN
  const mid = Math.floor(xs.length / 2)
  const median = xs.length % 2 ? (xs[mid] ?? Number.NaN) : ((xs[mid - 1] ?? Number.NaN) + (xs[mid] ?? Number.NaN)) / 2
  return { min, median, max, ratio: max / min }
}

console.log(
  `per-prepare medians over ${prepares} prepares (measure() maxTime ${maxTimeMs} ms); last column: max/min of the per-prepare fastest samples`,
)
console.log(
  `${'shape'.padEnd(34)}${'min µs'.padStart(9)} ${'median µs'.padStart(9)}${'max µs'.padStart(9)}  max/min  fastest max/min`,
)
for (const shape of selected) {
  const m = spread(mediansNs.get(shape.label) ?? [])
  const f = spread(fastestNs.get(shape.label) ?? [])
  console.log(
    `${shape.label.padEnd(34)}${us(m.min)} ${us(m.median)}${us(m.max)}  ${m.ratio.toFixed(3)}${m.ratio > 1.1 ? ' *' : '  '}   ${f.ratio.toFixed(3)}`,
  )
  if (values.each)
    console.log(`  in order: ${(mediansNs.get(shape.label) ?? []).map((ns) => (ns / 1e3).toFixed(2)).join(' ')}`)
}
console.log(
  `load average (1 min): before ${loadBefore.toFixed(2)}, after ${(loadavg()[0] ?? Number.NaN).toFixed(2)}; gemm f32: ${probe.device.details?.gemm ?? '?'}`,
)
