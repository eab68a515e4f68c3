/**
 * What the device process costs, beside the in-process path, in one run on this machine:
 *
 * - normal path, per isolation ('none', 'process'), alternated ABAB so drift of a shared machine
 *   falls on both: the first probe (for 'process': starting the process and loading Dawn there),
 *   prepare, cold run, the wall time of one `run(1)` call beyond its device time (median of many:
 *   the host's cost per call, IPC included), the device median (must agree: the timestamps are
 *   taken the same way) and dispose;
 * - a timeout, with 'process': from the cold run of an endless kernel to its error (the timeout
 *   plus the kill), and the next prepare (a fresh process, its modules, Dawn, an adapter and a
 *   device) beside a prepare on a running process.
 *
 *   node packages/webgpu/scripts/isolation-cost.ts [--rounds=N] [--timeout-ms=N]
 */
import { launch } from '@gpubench/core'
import { createWebgpuBackend, type Isolation, shutdownWebgpu, type WebgpuBackend } from '../src/index.ts'
import { endless } from '../test/fixtures/hung-kernels.ts'

process.env.XDG_RUNTIME_DIR ??= '/tmp'

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${arg}`)
  return value
}

const ROUNDS = flag('rounds', 2)
const TIMEOUT_MS = flag('timeout-ms', 2000)
const CALLS = 200

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const value = await work()
  return [value, performance.now() - t0]
}

interface Row {
  probeMs: number
  prepareMs: number
  coldMs: number
  callOverheadUs: number
  deviceMedianUs: number
  disposeMs: number
}

async function normalPath(isolation: Isolation): Promise<Row> {
  const backend: WebgpuBackend = createWebgpuBackend({ isolation })
  const [probe, probeMs] = await timed(() => backend.probe())
  if (!probe.available) throw new Error(`webgpu unavailable: ${probe.reason}`)
  const [runnable, prepareMs] = await timed(() => backend.prepare(launch({ launchesPerSample: 10 })))
  const [, coldMs] = await timed(() => runnable.cold())
  await runnable.run(20)
  const overheadsUs: number[] = []
  const deviceUs: number[] = []
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now()
    const [ns] = await runnable.run(1)
    const wallUs = (performance.now() - t0) * 1e3
    const perLaunchUs = (ns ?? 0) / 1e3
    deviceUs.push(perLaunchUs)
    overheadsUs.push(wallUs - 10 * perLaunchUs) // a run is 10 dispatches; the sample is per dispatch
  }
  const [, disposeMs] = await timed(() => runnable.dispose())
  await backend.shutdown()
  return {
    probeMs,
    prepareMs,
    coldMs,
    callOverheadUs: median(overheadsUs),
    deviceMedianUs: median(deviceUs),
    disposeMs,
  }
}

async function timeoutCost(): Promise<{ errorMs: number; restartPrepareMs: number; warmPrepareMs: number }> {
  const backend = createWebgpuBackend({ isolation: 'process', timeoutMs: TIMEOUT_MS })
  await backend.probe()
  const [warm, warmPrepareMs] = await timed(() => backend.prepare(launch({ launchesPerSample: 10 })))
  await warm.dispose()
  const hung = await backend.prepare(endless)
  const [, errorMs] = await timed(() => hung.cold().catch(() => undefined))
  await hung.dispose()
  const [next, restartPrepareMs] = await timed(() => backend.prepare(launch({ launchesPerSample: 10 })))
  await next.cold()
  await next.dispose()
  await backend.shutdown()
  return { errorMs, restartPrepareMs, warmPrepareMs }
}

const rows: Array<[Isolation, Row]> = []
for (let round = 0; round < ROUNDS; round++) {
  const order: Isolation[] = round % 2 === 0 ? ['none', 'process'] : ['process', 'none']
  for (const isolation of order) rows.push([isolation, await normalPath(isolation)])
}
const f = (n: number, digits = 1) => n.toFixed(digits)
console.log(
  '| isolation | first probe ms | prepare ms | cold ms | run(1) host cost µs | device median µs | dispose ms |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const [isolation, r] of rows) {
  console.log(
    `| ${isolation} | ${f(r.probeMs, 0)} | ${f(r.prepareMs)} | ${f(r.coldMs)} | ${f(r.callOverheadUs)} | ${f(r.deviceMedianUs, 2)} | ${f(r.disposeMs)} |`,
  )
}
const t = await timeoutCost()
console.log(
  `\ntimeout ${TIMEOUT_MS} ms, isolation 'process': error after ${f(t.errorMs, 0)} ms; next prepare ${f(t.restartPrepareMs, 0)} ms (fresh process) vs ${f(t.warmPrepareMs, 0)} ms (running process)`,
)
await shutdownWebgpu()
