/**
 * Prints figures per workload on the current WebGPU adapter: cold run, median of the warm
 * samples (core's measurement engine), GFLOP/s and GB/s, and beside them the native CPU backend
 * on the same machine (packages/native) with the ratio WebGPU / CPU. Every kernel is verified
 * against core's float64 reference before it is timed; a failed check is printed, not hidden.
 *
 *   node --experimental-transform-types packages/webgpu/scripts/report.ts [--quick] [--json] [--no-cpu]
 *        [--gemm-kernel=tiled|registers] [--only=<text in the workload's label>]
 *
 * Sizes suit lavapipe (software Vulkan, a few GFLOP/s): --quick takes about 30 s there, the
 * defaults a few minutes. The time cap counts the cold run, which on lavapipe includes seconds of
 * shader JIT for the GEMMs.
 * Adapter choice: $GPUBENCH_WEBGPU_BACKEND, $GPUBENCH_WEBGPU_ADAPTER.
 */
import {
  type Backend,
  bytesOf,
  describeWorkload,
  flopsOf,
  formatBandwidth,
  formatDuration,
  formatFlops,
  gemm,
  gemv,
  launch,
  type Measurement,
  measure,
  type Runnable,
  type StoppingRule,
  vjp,
  type Workload,
} from '@gpubench/core'
import { createWebgpuBackend, shutdownWebgpu } from '../src/index.ts'

const argv = process.argv.slice(2)
const args = new Set(argv)
function optionValue(name: string): string | undefined {
  const prefix = `--${name}=`
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length)
}
const gemmKernel = optionValue('gemm-kernel') ?? 'auto'
if (gemmKernel !== 'auto' && gemmKernel !== 'tiled' && gemmKernel !== 'registers') {
  throw new Error(`--gemm-kernel must be auto, tiled or registers, got ${JSON.stringify(gemmKernel)}`)
}
const only = optionValue('only')
const webgpuBackend = createWebgpuBackend({ gemmKernel })
const quick = args.has('--quick')
const asJson = args.has('--json')
const withCpu = !args.has('--no-cpu')

const RULE: Partial<StoppingRule> = quick
  ? { minSamples: 5, minTimeNs: 0.05e9, maxTimeNs: 3e9, warmupRuns: 1, maxNoise: 0.02 }
  : { minSamples: 10, minTimeNs: 0.3e9, maxTimeNs: 10e9, warmupRuns: 2, maxNoise: 0.01 }

function workloads(): Workload[] {
  const s = quick ? 128 : 256
  const v = quick ? 512 : 2000
  const list: Workload[] = []
  for (const dtype of ['f32', 'f16'] as const) {
    list.push(
      gemm({ batch: 4, m: s, n: s, k: s, dtype }),
      gemm({ batch: 4, m: s, n: s, k: s, dtype, transA: true }),
      gemm({ batch: 4, m: s, n: s, k: s, dtype, transB: true }),
      gemv({ m: v, n: v, dtype }),
      gemv({ m: v, n: v, dtype, trans: true }),
      vjp({ mode: 'linear-map', m: v, n: v, dtype }),
      vjp({ mode: 'linear-layer', batch: 64, inFeatures: s * 2, outFeatures: s * 2, dtype }),
    )
  }
  list.push(launch({ launchesPerSample: 100 }))
  return list
}

interface Figures {
  backend: string
  device: string
  timing: string
  coldNs: number | null
  medianNs: number
  samples: number
  relativeNoise: number
  flopPerSecond: number | null
  bytesPerSecond: number | null
  verified: string
  hostMedianNs?: number
}

async function cpuBackend(): Promise<{ backend?: Backend; reason?: string }> {
  if (!withCpu) return { reason: 'skipped (--no-cpu)' }
  try {
    const native = await import('@gpubench/native')
    const p = await native.cpuBackend.probe()
    return p.available ? { backend: native.cpuBackend } : { reason: p.reason }
  } catch (error) {
    return { reason: `the native package failed to load: ${error instanceof Error ? error.message : String(error)}` }
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] ?? Number.NaN
}

async function figures(backend: Backend, w: Workload): Promise<Figures | string> {
  const supported = backend.supports(w)
  if (supported !== true) return `unsupported: ${supported}`
  const runnable = await backend.prepare(w)
  try {
    // Collect the host clock of every run() call, warm-up included (the runnable keeps only its latest call's).
    const hostNs: number[] = []
    const timed: Runnable = {
      target: runnable.target,
      device: runnable.device,
      timing: runnable.timing,
      notes: runnable.notes,
      cold: () => runnable.cold(),
      async run(n: number) {
        const durations = await runnable.run(n)
        const host = (runnable as { hostDurationsNs?: number[] }).hostDurationsNs
        if (host) hostNs.push(...host)
        return durations
      },
      verify: () => runnable.verify(),
      dispose: () => runnable.dispose(),
    }
    const m: Measurement = await measure(timed, RULE)
    const report = await runnable.verify()
    const seconds = m.stats.medianNs / 1e9
    const flops = flopsOf(w)
    const bytes = bytesOf(w)
    return {
      backend: backend.kind,
      device: runnable.device.id,
      timing: runnable.timing,
      coldNs: m.coldNs,
      medianNs: m.stats.medianNs,
      samples: m.stats.n,
      relativeNoise: m.relativeNoise,
      flopPerSecond: flops > 0 ? flops / seconds : null,
      bytesPerSecond: bytes > 0 ? bytes / seconds : null,
      verified: report.ok
        ? `ok (max scaled error ${report.maxScaledError.toExponential(1)})`
        : `FAILED: ${report.failure}`,
      ...(hostNs.length > 0 && { hostMedianNs: median(hostNs) }),
    }
  } finally {
    await runnable.dispose()
  }
}

function rate(f: Figures): string {
  return f.flopPerSecond !== null ? formatFlops(f.flopPerSecond) : formatDuration(f.medianNs)
}

const probe = await webgpuBackend.probe()
if (!probe.available) {
  console.log(`webgpu unavailable: ${probe.reason}`)
  await shutdownWebgpu()
  process.exit(1)
}
const cpu = await cpuBackend()
const rows: Array<{ workload: string; webgpu: Figures | string; cpu: Figures | string | null }> = []
if (!asJson) {
  console.log(`WebGPU device: ${probe.device.id} (${probe.device.name}), software: ${probe.device.software}`)
  console.log(`CPU comparison: ${cpu.backend ? 'native cpu backend' : `none (${cpu.reason})`}`)
  console.log(`GEMM kernel: ${gemmKernel}; stopping rule: ${JSON.stringify(RULE)}\n`)
}
for (const w of workloads()) {
  const label = describeWorkload(w)
  if (only !== undefined && !label.includes(only)) continue
  let gpu: Figures | string
  try {
    gpu = await figures(webgpuBackend, w)
  } catch (error) {
    gpu = `error: ${error instanceof Error ? error.message : String(error)}`
  }
  let base: Figures | string | null = null
  if (cpu.backend) {
    try {
      base = await figures(cpu.backend, w)
    } catch (error) {
      base = `error: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  rows.push({ workload: label, webgpu: gpu, cpu: base })
  if (asJson) continue
  if (typeof gpu === 'string') {
    console.log(`${label.padEnd(32)} webgpu ${gpu}`)
    continue
  }
  const extra =
    gpu.bytesPerSecond !== null && gpu.flopPerSecond !== null ? `  ${formatBandwidth(gpu.bytesPerSecond)}` : ''
  const cold = gpu.coldNs === null ? 'n/a' : formatDuration(gpu.coldNs)
  const host = gpu.hostMedianNs !== undefined ? `  host ${formatDuration(gpu.hostMedianNs)}` : ''
  let versus = ''
  if (typeof base === 'string') versus = `  | cpu ${base}`
  else if (base) {
    const ratio = base.medianNs / gpu.medianNs
    versus = `  | cpu ${formatDuration(base.medianNs)} ${rate(base)}  webgpu/cpu speed ${ratio.toFixed(3)}x`
  }
  console.log(
    `${label.padEnd(32)} ${formatDuration(gpu.medianNs).padStart(9)} ${rate(gpu).padStart(13)}${extra}  cold ${cold}${host}  n=${gpu.samples} ±${(gpu.relativeNoise * 100).toFixed(1)}%  ${gpu.verified}${versus}`,
  )
}
if (asJson) console.log(JSON.stringify({ device: probe.device, rule: RULE, rows }, null, 2))
await shutdownWebgpu()
