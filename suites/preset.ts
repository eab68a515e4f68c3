/**
 * What the suites run: the paper's sizes (`paper`) or sizes that finish on a software adapter and
 * two CPU cores (`quick`), and how each benchmark is measured (the adaptive rule, or the paper's
 * fixed method: 10 warm-up launches, 100 launches, mean reported beside the median).
 *
 * Chosen by environment, read once per worker:
 * - `GPUBENCH_PRESET=paper|quick`. Default: `paper` when a hardware GPU is in reach (a CUDA or
 *   Metal device, or a WebGPU adapter that is not a software rasteriser), else `quick`, so that
 *   `pnpm bench` on a machine without a GPU stays within a few minutes.
 * - `GPUBENCH_METHOD=adaptive|paper`. Default `adaptive`.
 *
 * The preset (and the paper method, when chosen) is part of every benchmark's name
 * (`matmul/quick/...`), so each keeps its own baseline entries and a change of preset never reads
 * as a regression.
 */
import { PAPER_METHOD, type StoppingRule } from '@gpubench/core'

export const PRESETS = ['quick', 'paper'] as const
export type Preset = (typeof PRESETS)[number]
export const METHODS = ['adaptive', 'paper'] as const
export type Method = (typeof METHODS)[number]

function fromEnv<T extends string>(variable: string, allowed: readonly T[]): T | undefined {
  const value = process.env[variable]
  if (value === undefined || value === '') return undefined
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${variable}=${JSON.stringify(value)} is not one of ${allowed.join(', ')}`)
  }
  return value as T
}

/** A hardware GPU in reach: probed through the same backend objects the plugin uses (probes are cached). */
async function hardwareGpuInReach(): Promise<boolean> {
  const probes: Array<Promise<boolean>> = []
  probes.push(
    import('@gpubench/native').then(
      async ({ cudaBackend, metalBackend }) =>
        (await cudaBackend.probe()).available || (await metalBackend.probe()).available,
      () => false,
    ),
  )
  probes.push(
    import('@gpubench/webgpu').then(
      async ({ webgpuBackend }) => {
        const probe = await webgpuBackend.probe()
        return probe.available && probe.device.software !== true
      },
      () => false,
    ),
  )
  return (await Promise.all(probes)).some(Boolean)
}

export const preset: Preset = fromEnv('GPUBENCH_PRESET', PRESETS) ?? ((await hardwareGpuInReach()) ? 'paper' : 'quick')
export const method: Method = fromEnv('GPUBENCH_METHOD', METHODS) ?? 'adaptive'

/**
 * The stopping rule of every suite benchmark. `quick` caps each benchmark at 4 s of wall time
 * (the default cap is 15 s) so the whole run stays short on two cores; a kernel of a few ms still
 * yields hundreds of samples, enough for the verdict to resolve a 10% slowdown.
 */
export const rule: Partial<StoppingRule> =
  method === 'paper' ? PAPER_METHOD : preset === 'quick' ? { minTimeNs: 0.3e9, maxTimeNs: 4e9 } : {}

/** The benchmark name: suite, preset, and a label of the shape. */
export function benchName(suite: string, label: string): string {
  return `${suite}/${preset}/${label}${method === 'paper' ? ' (paper method)' : ''}`
}
