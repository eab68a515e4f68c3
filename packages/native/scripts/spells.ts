/**
 * Slow spells of this machine, as a benchmark sees them: one CPU workload (default: a 2-thread
 * GEMM 1x128x128x128 f32, about 30 µs) is measured back to back in short measurements for
 * --seconds, each with what else the machine did meanwhile (core's machineLoadBetween: other
 * processes' CPUs and steal time, from /proc). Then:
 *  - the share of measurements that read slow (median above --slow times the fastest fifth's),
 *    and the lengths of the slow spells in seconds;
 *  - a replay of confirmation schedules on that record: from every start, one measurement plus a
 *    confirmation after each pause of the schedule (measurements take --measure-ms), and how often
 *    every one of them reads slow: the chance that a benchmark of this kind, unchanged, reads
 *    "regressed" through the plugin's confirmations (`confirmRegressions`, `confirmPauseMs`).
 *
 *   node_modules/.bin/node packages/native/scripts/spells.ts [--seconds 240] [--block-ms 250] [--slow 1.6] [--threads N]
 *
 * Runs the kernels in this process (isolation 'none'); --threads sets GPUBENCH_CPU_THREADS.
 */
import { parseArgs } from 'node:util'
import { cpuSnapshot, gemm, machineLoadBetween, measure } from '@gpubench/core'
import { cpuBackend } from '../src/index.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '240' },
    'block-ms': { type: 'string', default: '250' },
    'measure-ms': { type: 'string', default: '600' },
    slow: { type: 'string', default: '1.6' },
    threads: { type: 'string' },
  },
})
const number = (name: keyof typeof values, min: number): number => {
  const value = Number(values[name])
  if (!(Number.isFinite(value) && value >= min))
    throw new Error(`--${name} must be a number >= ${min}, got ${values[name]}`)
  return value
}
const seconds = number('seconds', 1)
const blockMs = number('block-ms', 10)
const measureMs = number('measure-ms', 0)
const slowRatio = number('slow', 1)
if (values.threads !== undefined) process.env.GPUBENCH_CPU_THREADS = String(number('threads', 1))
process.env.GPUBENCH_NATIVE_ISOLATION = 'none'

const probe = await cpuBackend.probe()
if (!probe.available) {
  console.error(`spells: the CPU backend is unavailable: ${probe.reason}`)
  process.exit(1)
}
const workload = gemm({ batch: 1, m: 128, n: 128, k: 128, dtype: 'f32' })
const runnable = await cpuBackend.prepare(workload)
const rule = { maxTimeNs: blockMs * 1e6, minTimeNs: blockMs * 1e6 }
const medians: number[] = []
const others: number[] = []
const steals: number[] = []
const started = performance.now()
while (performance.now() - started < seconds * 1000) {
  const before = cpuSnapshot()
  const m = await measure(runnable, rule)
  const load = machineLoadBetween(before, cpuSnapshot())
  medians.push(m.stats.medianNs / 1e3)
  if (load !== null) {
    others.push(load.otherCpus)
    steals.push(load.stealCpus)
  }
}
await runnable.dispose()
const blockS = seconds / medians.length

const sorted = [...medians].sort((a, b) => a - b)
const fastest = sorted.slice(0, Math.max(1, Math.floor(sorted.length / 5)))
const base = fastest[fastest.length >> 1]!
const slow = medians.map((x) => x > slowRatio * base)
const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / Math.max(1, xs.length)
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const spells: number[] = []
let run = 0
for (const s of [...slow, false]) {
  if (s) run++
  else if (run > 0) {
    spells.push(run * blockS)
    run = 0
  }
}

console.log(
  `spells: ${workload.kind} 1x128x128x128 f32 on ${probe.device.id}, ${medians.length} measurements of ${blockMs} ms over ${seconds} s`,
)
console.log(
  `  fastest fifth's median ${base.toFixed(1)} µs; slow (> ${slowRatio}x): ${(100 * share(slow)).toFixed(1)}%`,
)
console.log(
  `  spells (s): ${
    spells
      .sort((a, b) => a - b)
      .map((s) => s.toFixed(1))
      .join(' ') || 'none'
  }`,
)
if (others.length > 0) {
  const inSpell = (xs: number[], want: boolean) => xs.filter((_, i) => slow[i] === want)
  console.log(
    `  other processes' CPU (cores), in spells / outside: ${mean(inSpell(others, true)).toFixed(2)} / ${mean(inSpell(others, false)).toFixed(2)}; steal: ${mean(inSpell(steals, true)).toFixed(3)} / ${mean(inSpell(steals, false)).toFixed(3)}`,
  )
}
console.log(`  replay (one measurement of ${measureMs} ms, then a confirmation after each pause):`)
for (const pauses of [[], [0], [2], [2, 6], [2, 6, 18]]) {
  let falseRegressions = 0
  let starts = 0
  for (let i = 0; i < slow.length; i++) {
    const at = [i * blockS]
    for (const p of pauses) at.push(at[at.length - 1]! + measureMs / 1000 + p)
    const index = at.map((t) => Math.round(t / blockS))
    if (index[index.length - 1]! >= slow.length) break
    starts++
    if (index.every((j) => slow[j])) falseRegressions++
  }
  const label = pauses.length === 0 ? 'no confirmation' : `pauses ${pauses.map((p) => `${p} s`).join(', ')}`
  console.log(
    `    ${label.padEnd(22)} all slow in ${((100 * falseRegressions) / Math.max(1, starts)).toFixed(2)}% of ${starts} starts`,
  )
}
process.exit(0)
