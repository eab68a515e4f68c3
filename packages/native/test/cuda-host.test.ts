// The CUDA part's host-side decisions, checked without a GPU through the addon's `cudaHost`
// (each binding calls the function the backend uses). Skipped, with the reason, where the addon
// was built without CUDA.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import type { NativeCudaHost } from '../src/addon-types.ts'
import { loadAddon } from '../src/index.ts'

const load = await loadAddon()
const host: NativeCudaHost | undefined = load.ok ? load.addon.cudaHost : undefined
const skipReason = !load.ok ? load.reason : 'the addon was built without its CUDA part'
if (!host) console.log(`cuda-host tests skipped: ${skipReason}`)

/** SM counts: H100/H200 SXM, H100 PCIe, A100, H20, a small MIG slice, one SM. */
const SM_COUNTS = [132, 114, 108, 78, 16, 1]
/** The suites' GEMV and linear-map VJP shapes (quick and paper presets). */
const SHAPES = [
  { m: 256, n: 256 },
  { m: 1024, n: 1024 },
  { m: 2000, n: 2000 },
  { m: 4096, n: 1024 },
  { m: 4096, n: 4096 },
  { m: 8192, n: 8192 },
  { m: 16384, n: 4096 },
  { m: 16384, n: 16384 },
]

describe.skipIf(!host)(`CUDA host logic (${host ? 'through the addon' : `skipped: ${skipReason}`})`, () => {
  const h = host as NativeCudaHost

  describe('transposed GEMV (Aᵀ·x, also every linear-map VJP) splits rows over enough blocks', () => {
    for (const sm of SM_COUNTS) {
      test.each(SHAPES)(`${sm} SMs: %o`, ({ m, n }) => {
        const g = h.gemvColsGeometry(m, n, sm)
        expect(g.colBlocks * g.colsPerBlock).toBeGreaterThanOrEqual(n)
        // The splits cover every row, none is empty, and the grid's y fits CUDA's limit.
        expect(g.rowSplits * g.rowsPerSplit).toBeGreaterThanOrEqual(m)
        expect((g.rowSplits - 1) * g.rowsPerSplit).toBeLessThan(m)
        expect(g.rowSplits).toBeLessThanOrEqual(65535)
        // At least four blocks per SM wherever the rows allow splits of 64 rows or more.
        const blocks = g.colBlocks * g.rowSplits
        const possible = g.colBlocks * Math.max(1, Math.floor(m / 64))
        expect(blocks).toBeGreaterThanOrEqual(Math.min(4 * sm, possible))
        expect(g.workspaceFloats).toBe(g.rowSplits > 1 ? g.rowSplits * n : 0)
      })
    }

    test('the paper shapes on an H100 run on every SM, where one block per 256 columns gave 8-64 blocks', () => {
      for (const { m, n } of [
        { m: 16384, n: 4096 },
        { m: 2000, n: 2000 },
        { m: 8192, n: 8192 },
      ]) {
        const g = h.gemvColsGeometry(m, n, 132)
        expect(g.colBlocks * g.rowSplits).toBeGreaterThanOrEqual(8 * 132)
      }
    })

    test('a split is never shorter than 64 rows, and a short matrix is not split', () => {
      expect(h.gemvColsGeometry(100, 32, 132).rowSplits).toBe(1)
      expect(h.gemvColsGeometry(100, 32, 132).workspaceFloats).toBe(0)
      const g = h.gemvColsGeometry(1 << 20, 32, 132)
      expect(g.rowsPerSplit).toBeGreaterThanOrEqual(64)
    })
  })

  describe('row GEMV (A·x): a warp per row, enough blocks per SM', () => {
    for (const sm of SM_COUNTS) {
      test.each(SHAPES)(`${sm} SMs: %o`, ({ m }) => {
        const g = h.gemvRowsGeometry(m, sm)
        expect([1, 2, 4, 8]).toContain(g.warpsPerBlock)
        expect(g.blocks * g.warpsPerBlock).toBeGreaterThanOrEqual(m)
        expect((g.blocks - 1) * g.warpsPerBlock).toBeLessThan(m)
        expect(g.blocks).toBeGreaterThanOrEqual(Math.min(m, 4 * sm))
      })
    }
  })

  describe('GEMM grid stays within CUDA limits; the kernels loop over the rest', () => {
    test('a batch beyond 65535', () => {
      const g = h.gemmGrid(4, 4, 70000, 64, 64)
      expect(g).toEqual({ x: 1, y: 1, z: 65535, rowTiles: 1 })
    })
    test('a very tall m', () => {
      const m = 65535 * 64 + 1
      const g = h.gemmGrid(m, 8, 1, 64, 64)
      expect(g.y).toBe(65535)
      expect(g.rowTiles).toBe(65536)
      expect(g.z).toBe(1)
    })
    test('ordinary shapes are unchanged', () => {
      expect(h.gemmGrid(2000, 2000, 8, 64, 64)).toEqual({ x: 32, y: 32, z: 8, rowTiles: 32 })
      expect(h.gemmGrid(4096, 1024, 1, 32, 32)).toEqual({ x: 32, y: 128, z: 1, rowTiles: 128 })
    })
  })

  describe('timing plan', () => {
    test('a 2 µs kernel is timed 50 runs per event pair, and labelled cache-resident when it fits the L2', () => {
      const p = h.planTiming(2000, 8e6, 50e6, true)
      expect(p.runsPerSample).toBe(50)
      expect(p.flushL2).toBe(false)
      expect(p.cache).toMatch(
        /^cache-resident: 50 back-to-back runs per sample, working set 8\.0 MB fits the 50\.0 MB L2/,
      )
    })
    test('short runs over a working set larger than the L2 say so', () => {
      const p = h.planTiming(40_000, 200e6, 50e6, true)
      expect(p.runsPerSample).toBe(3)
      expect(p.cache).toMatch(/exceeds the 50\.0 MB L2/)
    })
    test('runs of 100 µs or more are timed one per pair, with the L2 flushed before each', () => {
      const p = h.planTiming(250_000, 8e6, 50e6, true)
      expect(p).toMatchObject({ runsPerSample: 1, flushL2: true })
      expect(p.cache).toMatch(/^L2 flushed before each sample, outside the timed span/)
      const noFlush = h.planTiming(250_000, 8e6, 50e6, false)
      expect(noFlush.flushL2).toBe(false)
      expect(noFlush.cache).toMatch(/cache-resident/)
    })
    test('runs per sample are capped, and an unknown estimate gives one', () => {
      expect(h.planTiming(1, 1e3, 50e6, true).runsPerSample).toBe(1000)
      expect(h.planTiming(0, 1e3, 50e6, true).runsPerSample).toBe(1)
    })
    test('warm-up before the first samples and after a second without runs', () => {
      expect(h.needsWarmup(-1, 0)).toBe(true)
      expect(h.needsWarmup(5e9, 5e9 + 0.5e9)).toBe(false)
      expect(h.needsWarmup(5e9, 5e9 + 1.5e9)).toBe(true)
    })
  })

  describe('cuBLAS search order', () => {
    test('the runtime’s own major first, the toolkit’s lib64 before the loader path, no duplicates', () => {
      const files = h.cublasCandidates({ CUDA_HOME: '/opt/cuda-x', CUDA_PATH: '/opt/cuda-x' }, 13)
      expect(files.slice(0, 3)).toEqual([
        '/opt/cuda-x/lib64/libcublas.so.13',
        '/usr/local/cuda/lib64/libcublas.so.13',
        'libcublas.so.13',
      ])
      const own = files.indexOf('libcublas.so.13')
      const other = files.indexOf('libcublas.so.12')
      expect(own).toBeGreaterThanOrEqual(0)
      expect(other).toBeGreaterThan(own)
      expect(files.indexOf('/opt/cuda-x/lib64/libcublas.so.12')).toBeGreaterThan(own)
      expect(files.at(-1)).toBe('libcublas.so')
      expect(new Set(files).size).toBe(files.length)
    })
    test('a 12.x runtime tries .so.12 first; GPUBENCH_CUBLAS comes before everything', () => {
      const files = h.cublasCandidates({ GPUBENCH_CUBLAS: '/x/libcublas.so.99', CUDA_PATH: '/c' }, 12)
      expect(files.slice(0, 4)).toEqual([
        '/x/libcublas.so.99',
        '/c/lib64/libcublas.so.12',
        '/usr/local/cuda/lib64/libcublas.so.12',
        'libcublas.so.12',
      ])
      expect(files.indexOf('libcublas.so.13')).toBeGreaterThan(files.indexOf('libcublas.so.12'))
    })
    test('a Python wheel’s copy is found through PYTHONPATH, in its major’s group', () => {
      const site = mkdtempSync(join(tmpdir(), 'gpubench-cublas-'))
      mkdirSync(join(site, 'nvidia', 'cublas', 'lib'), { recursive: true })
      const wheel = join(site, 'nvidia', 'cublas', 'lib', 'libcublas.so.12')
      writeFileSync(wheel, '')
      const files = h.cublasCandidates({ PYTHONPATH: site }, 13)
      expect(files.indexOf(wheel)).toBeGreaterThan(files.indexOf('libcublas.so.12'))
      expect(files.indexOf(wheel)).toBeLessThan(files.indexOf('/usr/local/cuda/lib64/libcublas.so'))
    })
    test('a library whose cublasCreate fails is passed over for the next, and the failure kept', () => {
      const choice = h.chooseCublas(['/a/libcublas.so.13', '/b/libcublas.so.13', 'libcublas.so.12'], {
        '/a/libcublas.so.13': 'cublasCreate failed with status 3',
      })
      expect(choice).toEqual({ index: 1, failures: ['/a/libcublas.so.13: cublasCreate failed with status 3'] })
      const none = h.chooseCublas(['x', 'y'], { x: 'missing', y: 'lacks a needed symbol' })
      expect(none.index).toBe(-1)
      expect(none.failures).toHaveLength(2)
    })
  })

  describe('energy windowing', () => {
    /** n run() calls of 10 ms with a counter that moves 50 mJ every fifth call (its coarse steps). */
    const calls = (n: number, executions: number) =>
      Array.from({ length: n }, (_, i) => [i % 5 === 4 ? 50 : 0, executions, 10e6] as const)

    test('nothing is reported while the runs span less than a second', () => {
      const w = h.energyWindow(calls(50, 100), 'run')
      expect(w.joulesPerExecution).toBeNull()
      expect(w.note).toMatch(/span 500 ms; the counter needs a window of at least 1000 ms/)
    })
    test('over at least a second, the sum over every call divided by every execution', () => {
      const w = h.energyWindow(calls(150, 100), 'run')
      // 30 steps of 50 mJ over 150 x 100 runs.
      expect(w.joulesPerExecution).toBeCloseTo(1.5 / 15000, 12)
      expect(w.note).toMatch(/^energy: 0\.0001 J per run, summed over 150 run\(\) calls/)
    })
    test('launch energy is per launch: executions count launches', () => {
      const w = h.energyWindow(calls(150, 100 * 100), 'launch')
      expect(w.joulesPerExecution).toBeCloseTo(1.5 / 1.5e6, 14)
      expect(w.note).toMatch(/J per launch/)
    })
    test('a failed reading or a counter that never moved gives none', () => {
      expect(h.energyWindow([...calls(150, 1), [-1, 1, 10e6]], 'run').joulesPerExecution).toBeNull()
      const still = h.energyWindow(
        Array.from({ length: 150 }, () => [0, 1, 10e6] as const),
        'run',
      )
      expect(still.joulesPerExecution).toBeNull()
      expect(still.note).toMatch(/did not move/)
    })
  })

  describe('driver', () => {
    test('the runtime 13.x needs R580, 12.x R525', () => {
      expect(h.minimumDriverBranch(13000)).toBe(580)
      expect(h.minimumDriverBranch(12080)).toBe(525)
      expect(h.minimumDriverBranch(99000)).toBe(0)
    })
    test('the release is read from /proc/driver/nvidia/version', () => {
      expect(
        h.driverReleaseFromProcText(
          'NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:49 UTC 2025\nGCC version:  gcc 12\n',
        ),
      ).toBe('580.65.06')
      expect(
        h.driverReleaseFromProcText(
          'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  (dvs-builder@U16)\n',
        ),
      ).toBe('570.86.15')
      expect(h.driverReleaseFromProcText('no driver here')).toBe('')
    })
    test('the reason for an insufficient driver names the release needed and the one installed', () => {
      const words =
        'CUDA driver version is insufficient for CUDA runtime version (cudaGetDeviceCount: cudaErrorInsufficientDriver)'
      expect(h.insufficientDriverReason(words, 13000, '550.54.15')).toBe(
        `${words}: the addon's CUDA 13.0 runtime needs an NVIDIA driver of release 580 or newer (R580+); installed: 550.54.15`,
      )
      expect(h.insufficientDriverReason(words, 13000, '')).toMatch(/R580\+\); no NVIDIA driver found/)
    })
  })
})
