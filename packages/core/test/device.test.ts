import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import si from 'systeminformation'
import { describe, expect, it } from 'vitest'
import {
  collectHostInfo,
  cpuDeviceDescription,
  cpuDeviceId,
  deviceId,
  gpuIdParts,
  type HostInfo,
  type HostInfoSource,
  hostCpuIdParts,
  hostInfo,
  isSafeDeviceId,
  jsRuntimeIdPart,
  MAX_DEVICE_ID_LENGTH,
} from '../src/device.ts'
import { rng } from '../src/measure/random.ts'

const epyc: HostInfo = {
  cpuModel: 'EPYC 7B13',
  cpuVendor: 'AMD',
  cores: 2,
  memoryBytes: 25_276_063_744,
  os: 'Debian GNU/Linux 12',
  arch: 'x64',
  gpus: [],
}

// core's seeded generator (mulberry32), so a failing case can be replayed.
const prng = rng

describe('deviceId', () => {
  it('slugifies and joins parts into lowercase letters, digits and single dashes', () => {
    expect(deviceId(['cuda', 'NVIDIA H100 80GB HBM3'])).toBe('cuda-nvidia-h100-80gb-hbm3')
    expect(deviceId(['webgpu', 'Vulkan', 'llvmpipe'])).toBe('webgpu-vulkan-llvmpipe')
    expect(deviceId(['webgpu', 'llvmpipe (LLVM 19.1.7, 256 bits)'])).toBe('webgpu-llvmpipe-llvm-19-1-7-256-bits')
    expect(deviceId(['  Intel(R) Core(TM)  ', '', '--i7--'])).toBe('intel-core-i7')
    expect(deviceId(['Café™ Über', 'Ⅻ'])).toBe('cafe-uber-xii')
  })

  it('strips path syntax and file-name-hostile characters', () => {
    expect(deviceId(['../../etc/passwd'])).toBe('etc-passwd')
    expect(deviceId(['C:\\Windows\\System32'])).toBe('c-windows-system32')
    expect(deviceId(['a<b>c:d"e|f?g*h\u0000i'])).toBe('a-b-c-d-e-f-g-h-i')
    expect(deviceId(['name. '])).toBe('name')
  })

  it('refuses parts that leave nothing to name the device', () => {
    expect(() => deviceId([])).toThrow(/no letter or digit/)
    expect(() => deviceId(['', ' ', '---'])).toThrow(/no letter or digit/)
    expect(() => deviceId(['.'])).toThrow(/no letter or digit/)
    expect(() => deviceId(['..'])).toThrow(/no letter or digit/)
    expect(() => deviceId(['日本語'])).toThrow(/no letter or digit/)
  })

  it('refuses parts that are not strings, naming the part', () => {
    expect(() => deviceId(['cpu', 42 as unknown as string])).toThrow(/part 1 must be a string, got number/)
    expect(() => deviceId('cpu' as unknown as string[])).toThrow(/expected an array/)
  })

  it('never returns a reserved Windows device name', () => {
    for (const name of ['CON', 'prn', 'Aux', 'NUL', 'com1', 'COM9', 'com0', 'LPT1', 'lpt9']) {
      const id = deviceId([name])
      expect(id).toBe(`${name.toLowerCase()}-device`)
      expect(isSafeDeviceId(id)).toBe(true)
    }
    // Only the whole name is reserved.
    expect(deviceId(['con', 'x'])).toBe('con-x')
    expect(deviceId(['com10'])).toBe('com10')
  })

  it('cuts long ids to 100 characters, ending in a hash of the whole so long names stay distinct', () => {
    const long = `${'very long adapter name '.repeat(10)}`
    const a = deviceId([long, 'variant a'])
    const b = deviceId([long, 'variant b'])
    expect(a.length).toBeLessThanOrEqual(MAX_DEVICE_ID_LENGTH)
    expect(b.length).toBeLessThanOrEqual(MAX_DEVICE_ID_LENGTH)
    expect(a).not.toBe(b)
    expect(a).toMatch(/-[0-9a-f]{8}$/)
    expect(deviceId([long, 'variant a'])).toBe(a)
    expect(isSafeDeviceId(a)).toBe(true)
    // An id of exactly 100 characters is kept as it is.
    expect(deviceId(['a'.repeat(100)])).toBe('a'.repeat(100))
    expect(deviceId(['a'.repeat(101)])).toMatch(/^a{91}-[0-9a-f]{8}$/)
  })

  it('yields only safe, idempotent ids for arbitrary input (seeded fuzz, 5000 cases)', () => {
    const alphabet = [
      ...'abcXYZ019',
      ...'/\\.: *?"<>|-_~',
      '\u0000',
      '\u0301',
      'é',
      'ß',
      '™',
      '®',
      'Ω',
      '😀',
      '..',
      'CON',
      'nul',
      'lpt1',
      ' ',
      '\t',
      '\n',
    ]
    const random = prng(20261122)
    let produced = 0
    for (let i = 0; i < 5000; i++) {
      const parts: string[] = []
      const partCount = Math.floor(random() * 4)
      for (let p = 0; p < partCount; p++) {
        let part = ''
        const length = Math.floor(random() * 60)
        for (let c = 0; c < length; c++) part += alphabet[Math.floor(random() * alphabet.length)]
        parts.push(part)
      }
      let id: string
      try {
        id = deviceId(parts)
      } catch (error) {
        expect((error as Error).message).toMatch(/no letter or digit/)
        continue
      }
      produced++
      expect(isSafeDeviceId(id), `${JSON.stringify(parts)} -> ${id}`).toBe(true)
      expect(id).not.toMatch(/^\.{1,2}$/)
      expect(path.basename(`${id}.json`)).toBe(`${id}.json`)
      expect(deviceId([id])).toBe(id)
    }
    expect(produced).toBeGreaterThan(3000)
  })
})

describe('isSafeDeviceId', () => {
  it('accepts what deviceId makes', () => {
    expect(isSafeDeviceId('cpu-amd-epyc-2c')).toBe(true)
    expect(isSafeDeviceId('a')).toBe(true)
    expect(isSafeDeviceId('a'.repeat(100))).toBe(true)
  })

  it('refuses path syntax, unsafe characters, reserved names, bad dashes and excess length', () => {
    const bad = [
      '',
      '.',
      '..',
      'a/b',
      'a\\b',
      '../a',
      'a.json',
      'a b',
      'a ',
      'a.',
      'A',
      'Cpu-x',
      '-a',
      'a-',
      'a--b',
      'con',
      'nul',
      'com1',
      'lpt9',
      'a'.repeat(101),
      'é',
      'a\u0000',
    ]
    for (const id of bad) expect(isSafeDeviceId(id), JSON.stringify(id)).toBe(false)
    expect(isSafeDeviceId(undefined as unknown as string)).toBe(false)
    expect(isSafeDeviceId(42 as unknown as string)).toBe(false)
  })
})

describe('cpuDeviceId', () => {
  it('names the backend, vendor, model and core count', () => {
    expect(cpuDeviceId(epyc, 'cpu')).toBe('cpu-amd-epyc-7b13-2c')
    expect(cpuDeviceId(epyc, 'host', 'node24')).toBe('host-node24-amd-epyc-7b13-2c')
    expect(cpuDeviceId(epyc, 'host', 'node20')).toBe('host-node20-amd-epyc-7b13-2c')
    expect(cpuDeviceId(epyc, 'host')).toBe(`host-${jsRuntimeIdPart()}-amd-epyc-7b13-2c`)
  })

  it('drops the nominal clock, trademark marks, "CPU", "Processor", "N-Core" and a repeated vendor', () => {
    const intel = { ...epyc, cpuVendor: 'Intel', cpuModel: 'Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz', cores: 12 }
    expect(cpuDeviceId(intel, 'cpu')).toBe('cpu-intel-core-i7-8700-12c')
    const ryzen = { ...epyc, cpuModel: 'AMD Ryzen 9 5950X 16-Core Processor', cores: 32 }
    expect(cpuDeviceId(ryzen, 'cpu')).toBe('cpu-amd-ryzen-9-5950x-32c')
    const laptop = { ...epyc, cpuModel: 'Ryzen 7 5800H with Radeon Graphics', cores: 16 }
    expect(cpuDeviceId(laptop, 'cpu')).toBe('cpu-amd-ryzen-7-5800h-16c')
    const apple = { ...epyc, cpuVendor: 'Apple', cpuModel: 'M2 Pro', cores: 12, arch: 'arm64' }
    expect(cpuDeviceId(apple, 'cpu')).toBe('cpu-apple-m2-pro-12c')
    expect(cpuDeviceId({ ...epyc, cpuModel: 'EPYC', cpuVendor: 'AMD' }, 'cpu')).toBe('cpu-amd-epyc-2c')
  })

  it('adds the CPUID family and model numbers to a generic brand, and only to one', () => {
    // "Intel Xeon Processor" and "AMD EPYC Processor" are what cloud VMs show for many generations.
    const xeon = { ...epyc, cpuVendor: 'Intel', cpuModel: 'Xeon® Processor', cpuFamily: '6', cpuModelNumber: '143' }
    expect(cpuDeviceId(xeon, 'cpu')).toBe('cpu-intel-xeon-f6-m143-2c')
    expect(cpuDeviceId({ ...xeon, cpuModelNumber: '207' }, 'cpu')).toBe('cpu-intel-xeon-f6-m207-2c')
    expect(cpuDeviceId({ ...epyc, cpuModel: 'EPYC', cpuFamily: '25', cpuModelNumber: '1' }, 'cpu')).toBe(
      'cpu-amd-epyc-f25-m1-2c',
    )
    // A brand that names the model keeps its id: the numbers would only repeat it.
    expect(cpuDeviceId({ ...epyc, cpuFamily: '25', cpuModelNumber: '1' }, 'cpu')).toBe('cpu-amd-epyc-7b13-2c')
    // Unknown numbers: the generic id, as before.
    expect(cpuDeviceId({ ...xeon, cpuFamily: undefined }, 'cpu')).toBe('cpu-intel-xeon-2c')
    expect(hostCpuIdParts(xeon)).toEqual(['Intel', 'xeon', 'f6-m143', '2c'])
  })

  it('depends on nothing but vendor, model and cores', () => {
    const other = {
      ...epyc,
      memoryBytes: 1,
      os: 'another OS',
      gpus: [{ vendor: 'NVIDIA', model: 'H100', driver: '580.1', memoryBytes: 8e10 }],
    }
    expect(cpuDeviceId(other, 'cpu')).toBe(cpuDeviceId(epyc, 'cpu'))
  })

  it('still makes a safe id when vendor or model are unknown', () => {
    expect(cpuDeviceId({ ...epyc, cpuVendor: '', cpuModel: '' }, 'cpu')).toBe('cpu-2c')
  })

  it('refuses a bad backend or core count', () => {
    expect(() => cpuDeviceId(epyc, 'cuda' as 'cpu')).toThrow(/backend must be 'cpu' or 'host', got "cuda"/)
    expect(() => cpuDeviceId({ ...epyc, cores: 0 }, 'cpu')).toThrow(/info.cores must be a positive integer, got 0/)
    expect(() => cpuDeviceId({ ...epyc, cores: 1.5 }, 'cpu')).toThrow(/info.cores/)
  })

  it('describes the host CPU as a device', () => {
    const description = cpuDeviceDescription(epyc, 'host', 'node24')
    expect(description).toEqual({
      id: 'host-node24-amd-epyc-7b13-2c',
      backend: 'host',
      name: 'AMD EPYC 7B13 (2 cores)',
      vendor: 'AMD',
      architecture: 'x64',
      details: { cores: 2, memoryBytes: 25_276_063_744, os: 'Debian GNU/Linux 12' },
    })
    const numbered = { ...epyc, cpuFamily: '25', cpuModelNumber: '1' }
    expect(cpuDeviceDescription(numbered, 'cpu').details).toMatchObject({ cpuFamily: '25', cpuModelNumber: '1' })
  })
})

/** A stand-in for systeminformation; each query can answer, fail, or hang. */
function fakeSource(overrides: Partial<HostInfoSource> = {}, volatile = 0): HostInfoSource {
  const cpu = {
    manufacturer: 'AMD',
    brand: 'EPYC 7B13',
    vendor: 'AuthenticAMD',
    cores: 2,
    family: '25',
    model: '1',
    speed: 2.45 + volatile, // clock speeds vary from call to call: never part of HostInfo
  }
  const mem = { total: 25_276_063_744, free: 1e9 + volatile * 1e6 }
  const osInfo = { distro: 'Debian GNU/Linux', release: '12', platform: 'linux', hostname: `host-${volatile}` }
  const graphics = {
    controllers: [
      { vendor: 'NVIDIA Corporation', model: 'NVIDIA H100 80GB HBM3', driverVersion: '580.65.06', vram: 81559 },
      { vendor: 'Intel', model: 'UHD Graphics 630', vram: 1024, vramDynamic: true },
      { vendor: '', model: '' },
    ],
  }
  return {
    cpu: async () => cpu,
    mem: async () => mem,
    osInfo: async () => osInfo,
    graphics: async () => graphics,
    ...overrides,
  }
}

describe('collectHostInfo', () => {
  it('reads CPU, memory, OS and GPUs (VRAM in bytes, shared memory ignored, nameless controllers dropped)', async () => {
    const info = await collectHostInfo(fakeSource())
    expect(info).toEqual({
      cpuModel: 'EPYC 7B13',
      cpuVendor: 'AMD',
      cpuFamily: '25',
      cpuModelNumber: '1',
      cores: 2,
      memoryBytes: 25_276_063_744,
      os: 'Debian GNU/Linux 12',
      arch: process.arch,
      gpus: [
        {
          vendor: 'NVIDIA Corporation',
          model: 'NVIDIA H100 80GB HBM3',
          driver: '580.65.06',
          memoryBytes: 81559 * 2 ** 20,
        },
        { vendor: 'Intel', model: 'UHD Graphics 630' },
      ],
    })
  })

  it('gives the same facts, hence the same id, whatever the volatile readings (clocks, free memory, hostname)', async () => {
    const a = await collectHostInfo(fakeSource({}, 0))
    const b = await collectHostInfo(fakeSource({}, 7))
    expect(b).toEqual(a)
    expect(cpuDeviceId(b, 'cpu')).toBe(cpuDeviceId(a, 'cpu'))
  })

  it('takes the family and model numbers from /proc/cpuinfo when systeminformation answers without them (no lscpu on PATH)', async () => {
    // What systeminformation answers when `lscpu` is not on PATH: the brand, no numbers.
    const withoutLscpu = fakeSource({
      cpu: async () => ({ manufacturer: 'AMD', brand: 'EPYC', vendor: '', cores: 2, family: '', model: '' }),
    })
    const info = await collectHostInfo(withoutLscpu)
    let cpuinfo = ''
    try {
      cpuinfo = readFileSync('/proc/cpuinfo', 'utf8').split(/\n\s*\n/)[0] ?? ''
    } catch {}
    const family = /^cpu family\s*:\s*([0-9]+)/m.exec(cpuinfo)?.[1]
    const model = /^model\s*:\s*([0-9]+)/m.exec(cpuinfo)?.[1]
    if (family !== undefined && model !== undefined) {
      expect(info).toMatchObject({ cpuModel: 'EPYC', cpuFamily: family, cpuModelNumber: model })
      // The same id as when systeminformation reads them itself.
      const withLscpu = await collectHostInfo(
        fakeSource({
          cpu: async () => ({ manufacturer: 'AMD', brand: 'EPYC', vendor: 'AuthenticAMD', cores: 2, family, model }),
        }),
      )
      expect(cpuDeviceId(info, 'cpu')).toBe(cpuDeviceId(withLscpu, 'cpu'))
      expect(cpuDeviceId(info, 'cpu')).toMatch(/^cpu-amd-epyc-f[0-9]+-m[0-9]+-2c$/)
    } else {
      // No /proc/cpuinfo numbers here (macOS, Arm Linux): nothing to add, and nothing invented.
      expect(info.cpuFamily).toBeUndefined()
      expect(info.cpuModelNumber).toBeUndefined()
    }
  })

  it('bounds a hanging graphics() query by its timeout and reports no GPUs', async () => {
    const started = performance.now()
    const info = await collectHostInfo(fakeSource({ graphics: () => new Promise(() => {}) }), {
      graphicsTimeoutMs: 50,
    })
    expect(info.gpus).toEqual([])
    expect(info.cpuModel).toBe('EPYC 7B13')
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('degrades to node:os when systeminformation fails, throws synchronously or hangs', async () => {
    const failing: HostInfoSource = {
      cpu: async () => {
        throw new Error('lscpu: not found')
      },
      mem: () => {
        throw new Error('synchronous failure')
      },
      osInfo: () => new Promise(() => {}),
      graphics: async () => {
        throw new Error('lspci: not found')
      },
    }
    const info = await collectHostInfo(failing, { timeoutMs: 50, graphicsTimeoutMs: 50 })
    expect(info.cores).toBe(os.availableParallelism())
    expect(info.memoryBytes).toBe(os.totalmem())
    expect(info.os).toBe(`${os.type()} ${os.release()}`)
    expect(info.gpus).toEqual([])
    expect(info.cpuModel.length + info.cpuVendor.length).toBeGreaterThan(0)
    expect(isSafeDeviceId(cpuDeviceId(info, 'cpu'))).toBe(true)
  })
})

describe('hostInfo (this machine)', () => {
  it('collects once per process and yields a safe id that is stable across collections', async () => {
    const first = hostInfo()
    expect(hostInfo()).toBe(first)
    const info = await first
    expect(info.cores).toBeGreaterThanOrEqual(1)
    expect(info.memoryBytes).toBeGreaterThan(0)
    expect(info.arch).toBe(process.arch)
    const id = cpuDeviceId(info, 'cpu')
    expect(isSafeDeviceId(id)).toBe(true)
    // A fresh collection (no cache) gives the same id: nothing volatile enters it.
    const again = await collectHostInfo(si)
    expect(cpuDeviceId(again, 'cpu')).toBe(id)
    // The node:os and /proc/cpuinfo fallback names this machine the same way where the two sources
    // agree on the brand (they read the same CPUID brand string on Linux).
    const unavailable = async (): Promise<never> => {
      throw new Error('unavailable')
    }
    const fallback = await collectHostInfo({
      cpu: unavailable,
      mem: unavailable,
      osInfo: unavailable,
      graphics: unavailable,
    })
    if (process.platform === 'linux' && fallback.cpuVendor === info.cpuVendor) {
      expect(fallback.cpuFamily).toBe(info.cpuFamily)
      expect(fallback.cpuModelNumber).toBe(info.cpuModelNumber)
    }
  }, 30_000)
})

describe('jsRuntimeIdPart', () => {
  it('names the runtime and its major version', () => {
    expect(jsRuntimeIdPart({ node: '24.9.0' })).toBe('node24')
    expect(jsRuntimeIdPart({ node: '20.20.2' })).toBe('node20')
    // Bun and Deno also report a Node version for compatibility: their own name wins.
    expect(jsRuntimeIdPart({ node: '24.3.0', bun: '1.2.19' })).toBe('bun1')
    expect(jsRuntimeIdPart({ node: '22.0.0', deno: '2.4.1' })).toBe('deno2')
    expect(jsRuntimeIdPart()).toBe(`node${process.versions.node.split('.')[0]}`)
  })

  it('refuses what it cannot read', () => {
    expect(() => jsRuntimeIdPart({})).toThrow(/unknown JavaScript runtime/)
    expect(() => jsRuntimeIdPart({ node: 'nightly' })).toThrow(/major version of node nightly/)
  })
})

describe('gpuIdParts', () => {
  const id = (vendor: string, name: string, pci?: { pciVendorId: number; pciDeviceId: number }) =>
    deviceId(['webgpu', 'vulkan', ...gpuIdParts({ vendor, name, ...pci })])

  it('keeps the model named in parentheses, without marks or versions', () => {
    expect(id('intel', 'Intel(R) UHD Graphics 620 (KBL GT2)')).toBe(
      'webgpu-vulkan-intel-intel-uhd-graphics-620-kbl-gt2',
    )
    expect(id('qualcomm', 'Adreno (TM) 740')).toBe('webgpu-vulkan-qualcomm-adreno-740')
    expect(id('amd', 'AMD Radeon Graphics (RADV GFX1103_R1)')).toBe(
      'webgpu-vulkan-amd-amd-radeon-graphics-radv-gfx1103-r1',
    )
    expect(id('nvidia', 'NVIDIA GeForce RTX 4090')).toBe('webgpu-vulkan-nvidia-nvidia-geforce-rtx-4090')
    // A driver version in parentheses changes with updates; the id does not.
    expect(id('nvidia', 'NVIDIA GeForce RTX 4090 (driver 550.54.14)')).toBe(id('nvidia', 'NVIDIA GeForce RTX 4090'))
  })

  it('gives distinct GPUs distinct ids, and the same GPU the same id', () => {
    const names: Array<[string, string]> = [
      ['intel', 'Intel(R) UHD Graphics 620 (KBL GT2)'],
      ['intel', 'Intel(R) Iris(R) Xe Graphics (TGL GT2)'],
      ['intel', 'Intel(R) Arc(tm) A770 Graphics (DG2)'],
      ['intel', 'Intel(R) Arc(tm) B580 Graphics (BMG G21)'],
      ['intel', 'Intel(R) UHD Graphics 630 (CFL GT2)'],
      ['qualcomm', 'Adreno (TM) 740'],
      ['qualcomm', 'Adreno (TM) 650'],
      ['amd', 'AMD Radeon Graphics (RADV RENOIR)'],
      ['amd', 'AMD Radeon Graphics (RADV GFX1103_R1)'],
      ['amd', 'AMD Radeon Graphics'],
      ['', 'グラフィックス'],
      ['', 'Графика'],
      ['', '图形处理器'],
      ['img', 'PowerVR Rogue GE8320'],
      ['img', 'PowerVR Rogue GE8322'],
    ]
    const ids = names.map(([vendor, name]) => id(vendor, name))
    expect(new Set(ids).size).toBe(names.length)
    for (const made of ids) expect(isSafeDeviceId(made)).toBe(true)
    expect(names.map(([vendor, name]) => id(vendor, name))).toEqual(ids)
  })

  it('adds the PCI ids, or else a hash of the full name, when the readable name is ambiguous', () => {
    // No digit: "Radeon Graphics" names a product line of many chips.
    expect(id('amd', 'AMD Radeon Graphics (RADV RENOIR)')).toMatch(
      /^webgpu-vulkan-amd-amd-radeon-graphics-radv-renoir-h[0-9a-f]{8}$/,
    )
    expect(id('amd', 'AMD Radeon Graphics', { pciVendorId: 0x1002, pciDeviceId: 0x1636 })).toBe(
      'webgpu-vulkan-amd-amd-radeon-graphics-pci-1002-1636',
    )
    // No ASCII letter: the readable part is empty; names that differ only where the slug
    // cannot spell them differ in the hash.
    expect(id('', 'グラフィックス')).toMatch(/^webgpu-vulkan-h[0-9a-f]{8}$/)
    expect(id('', 'GPU Графика 1')).not.toBe(id('', 'GPU Графикб 1'))
    expect(id('', 'GPU Графика 1')).toMatch(/^webgpu-vulkan-gpu-1-h[0-9a-f]{8}$/)
    // Out-of-range PCI ids are not used.
    expect(id('', 'グラフィックス', { pciVendorId: 0, pciDeviceId: 0x10000 })).toMatch(/-h[0-9a-f]{8}$/)
    expect(() => gpuIdParts({ vendor: '', name: '' })).toThrow(/neither a name nor a vendor/)
  })
})
