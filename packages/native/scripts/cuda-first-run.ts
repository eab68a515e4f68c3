/**
 * What the first run of the CUDA backend on a GPU should look at, one line each: the device as
 * probed (driver release, cuBLAS file, peaks and the clock the f16 one assumes); GEMV and
 * linear-map VJP at the suites' paper shapes as median time and bandwidth (fraction of peak); a
 * short kernel timed with one run per event pair and with the planned several, as median and
 * spread; and the notes of a GEMM (which path ran, timing, cache, energy).
 *
 *   node_modules/.bin/node packages/native/scripts/cuda-first-run.ts [--runs 50]
 *
 * Loads only the addon (not core), so it runs under plain Node type stripping. Run it at two
 * commits to get before/after figures (an addon without the option runsPerSample ignores it).
 */
import { parseArgs } from 'node:util'
import { cudaPeaks } from '../src/cuda-peaks.ts'
import { loadAddon } from '../src/load.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 3) throw new Error(`--runs must be an integer of at least 3, got ${values.runs}`)

const load = await loadAddon()
if (!load.ok || !load.addon.cudaProbe) {
  console.error(`cuda-first-run: ${load.ok ? 'the addon was built without CUDA' : load.reason}`)
  process.exit(1)
}
const { addon } = load
const probe = addon.cudaProbe?.()
if (!probe?.available) {
  console.error(`cuda-first-run: CUDA unavailable: ${probe?.reason}`)
  process.exit(1)
}
const peaks = cudaPeaks(probe)
console.log(
  `${probe.name}, sm_${probe.computeCapability.replace('.', '')}, ${probe.smCount} SMs, L2 ${probe.l2CacheBytes / 1e6} MB`,
)
console.log(
  `driver ${probe.driverRelease || '(release unknown)'}, CUDA API ${probe.driverApiVersion}, runtime ${probe.runtimeVersion}`,
)
console.log(`cuBLAS: ${probe.cublas}; NVML: ${probe.nvml}`)
console.log(
  `peaks: f32 ${((peaks.f32FlopPerSecond ?? 0) / 1e12).toFixed(1)} TFLOP/s, f16 ${((peaks.f16FlopPerSecond ?? 0) / 1e12).toFixed(1)} TFLOP/s (${peaks.f16Source}), ${((peaks.bytesPerSecond ?? 0) / 1e12).toFixed(2)} TB/s`,
)

function sorted(xs: Iterable<number>): number[] {
  return [...xs].sort((a, b) => a - b)
}
function quantile(s: readonly number[], q: number): number {
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}
function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms` : `${(ns / 1e3).toFixed(2)} µs`
}

/** Median, 10th and 90th percentile of `runs` samples after the cold run (the runnable warms up itself). */
function measure(
  workload: object,
  options: object = {},
): { median: number; p10: number; p90: number; notes: string[] } {
  const r = new addon.Runnable('cuda', workload, options)
  try {
    r.cold()
    const s = sorted(r.run(runs))
    return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9), notes: r.notes() }
  } finally {
    r.dispose()
  }
}

console.log('\nGEMV and linear-map VJP (Aᵀ·x), paper shapes:')
for (const dtype of ['f32', 'f16'] as const) {
  const e = dtype === 'f16' ? 2 : 4
  const cases = [
    { label: `gemv 8192x8192 ${dtype}`, w: { kind: 'gemv', m: 8192, n: 8192, dtype }, m: 8192, n: 8192 },
    { label: `gemv 16384x16384 ${dtype}`, w: { kind: 'gemv', m: 16384, n: 16384, dtype }, m: 16384, n: 16384 },
    {
      label: `gemv 16384x4096 ${dtype} T`,
      w: { kind: 'gemv', m: 16384, n: 4096, dtype, trans: true },
      m: 16384,
      n: 4096,
    },
    {
      label: `vjp map 8192x8192 ${dtype}`,
      w: { kind: 'vjp', mode: 'linear-map', m: 8192, n: 8192, dtype },
      m: 8192,
      n: 8192,
    },
    {
      label: `vjp map 16384x16384 ${dtype}`,
      w: { kind: 'vjp', mode: 'linear-map', m: 16384, n: 16384, dtype },
      m: 16384,
      n: 16384,
    },
  ]
  for (const c of cases) {
    const { median } = measure(c.w)
    const bytes = e * (c.m * c.n + c.m + c.n)
    const fraction = peaks.bytesPerSecond
      ? ` (${((bytes / median / peaks.bytesPerSecond) * 1e9 * 100).toFixed(0)}% of peak)`
      : ''
    console.log(
      `  ${c.label.padEnd(28)}${formatNs(median).padStart(12)}  ${(bytes / median).toFixed(0)} GB/s${fraction}`,
    )
  }
}

console.log('\nA short kernel (gemv 256x256 f32): one run per event pair, then as planned:')
for (const options of [{ runsPerSample: 1 }, {}]) {
  const m = measure({ kind: 'gemv', m: 256, n: 256, dtype: 'f32' }, options)
  const timing = m.notes.find((n) => n.startsWith('timing:')) ?? ''
  console.log(
    `  median ${formatNs(m.median)}, p10-p90 ${formatNs(m.p10)} - ${formatNs(m.p90)} (${(((m.p90 - m.p10) / m.median) * 100).toFixed(1)}% of the median); ${timing}`,
  )
}

console.log('\nNotes of a GEMM 4096^3 f16 (auto):')
for (const note of measure({ kind: 'gemm', batch: 1, m: 4096, n: 4096, k: 4096, dtype: 'f16' }).notes)
  console.log(`  ${note}`)
