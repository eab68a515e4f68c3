/**
 * Peak rates of a CUDA device for roofline fractions, from what the probe reports.
 *
 * - f32: SMs x FP32 lanes per SM x 2 x the maximum SM clock (the published figures use that clock).
 * - f16 tensor cores, dense, f32 accumulation: V100 and A100-class parts by SMs x FLOP per cycle x
 *   maximum clock, which matches their published figures. Hopper parts are rated at a clock below
 *   the maximum the runtime reports (H100 SXM: 989 TFLOP/s at 1830 MHz, not 1980 MHz) and differ by
 *   product (H20's tensor rate is a fraction of H100's), so sm_90 uses a table of published figures
 *   by product name, and an sm_90 product not in it gets no f16 peak, with the reason.
 * - memory: 2 (double data rate) x memory clock x bus width.
 * The clock each figure assumes and where it comes from are returned, for the device's details.
 */

export interface CudaPeakFacts {
  readonly name: string
  /** "9.0" */
  readonly computeCapability: string
  readonly smCount: number
  /** The maximum SM clock the runtime reports. */
  readonly clockKHz: number
  readonly memoryClockKHz: number
  readonly memoryBusWidthBits: number
}

export interface CudaPeaks {
  readonly f32FlopPerSecond?: number
  readonly f16FlopPerSecond?: number
  readonly bytesPerSecond?: number
  /** The SM clock the f16 figure assumes (kHz), when it is one clock. */
  readonly f16ClockKHz?: number
  /** Where the f16 figure comes from, or why there is none. */
  readonly f16Source: string
}

/** A published dense f16 tensor-core rate (f32 accumulation) of one Hopper product. */
export interface HopperProduct {
  readonly label: string
  /** Matched against the lower-cased device name. */
  readonly pattern: RegExp
  readonly flopPerSecond: number
  /** The SM count the figure is for; a device reporting fewer SMs (a MIG slice) is scaled down. */
  readonly smCount: number
  /** The SM clock the figure implies (flopPerSecond / (smCount x 4096 FLOP per cycle per SM)), when the part runs at the full per-SM rate. */
  readonly clockKHz?: number
}

/** Published datasheet figures, without sparsity. The first matching entry wins, so specific names come first. */
export const HOPPER_F16_PRODUCTS: readonly HopperProduct[] = [
  { label: 'H100 PCIe', pattern: /\bh100 pcie\b/, flopPerSecond: 756e12, smCount: 114, clockKHz: 1_620_000 },
  { label: 'H800 PCIe', pattern: /\bh800 pcie\b/, flopPerSecond: 756e12, smCount: 114, clockKHz: 1_620_000 },
  { label: 'GH200', pattern: /\bgh200\b/, flopPerSecond: 989.4e12, smCount: 132, clockKHz: 1_830_000 },
  { label: 'H200 SXM', pattern: /\bh200(?! nvl)\b/, flopPerSecond: 989.4e12, smCount: 132, clockKHz: 1_830_000 },
  {
    label: 'H100 SXM5',
    pattern: /\bh100 (?:80gb hbm3|sxm)/,
    flopPerSecond: 989.4e12,
    smCount: 132,
    clockKHz: 1_830_000,
  },
  { label: 'H800 SXM', pattern: /\bh800(?! pcie)\b/, flopPerSecond: 989.4e12, smCount: 132, clockKHz: 1_830_000 },
  // H20: a reduced tensor rate per SM, so no one clock explains the figure.
  { label: 'H20', pattern: /\bh20\b/, flopPerSecond: 148e12, smCount: 78 },
]

/** FP32 lanes per SM by compute capability (0 when unknown). */
function f32LanesPerSm(major: number, minor: number): number {
  if (major === 7 || (major === 8 && minor === 0)) return 64
  if (major >= 8) return 128
  return 0
}

/** Dense f16 tensor FLOP per cycle per SM (f32 accumulation) where one figure and the maximum clock hold for every part. */
function tensorFlopPerCycle(major: number, minor: number): number {
  if (major === 7 && minor === 0) return 1024 // V100
  if (major === 8 && minor === 0) return 2048 // A100, A30
  return 0
}

function f16Peak(
  f: CudaPeakFacts,
  major: number,
  minor: number,
): Pick<CudaPeaks, 'f16FlopPerSecond' | 'f16ClockKHz' | 'f16Source'> {
  if (major === 9 && minor === 0) {
    const name = f.name.toLowerCase()
    const product = HOPPER_F16_PRODUCTS.find((p) => p.pattern.test(name))
    if (!product) return { f16Source: `no published f16 figure for '${f.name}' in the sm_90 table; none assumed` }
    const scale = f.smCount < product.smCount ? f.smCount / product.smCount : 1
    const tera = (product.flopPerSecond / 1e12).toFixed(1)
    return {
      f16FlopPerSecond: product.flopPerSecond * scale,
      ...(product.clockKHz ? { f16ClockKHz: product.clockKHz } : {}),
      f16Source:
        `table: ${product.label}, ${tera} TFLOP/s dense for ${product.smCount} SMs` +
        (product.clockKHz ? ` at ${product.clockKHz / 1000} MHz` : '') +
        (scale < 1 ? `, scaled to the ${f.smCount} SMs present` : ''),
    }
  }
  const perCycle = tensorFlopPerCycle(major, minor)
  if (perCycle === 0 || f.clockKHz <= 0)
    return { f16Source: `no f16 tensor figure for sm_${major}${minor} (rates differ by product); none assumed` }
  return {
    f16FlopPerSecond: f.smCount * perCycle * f.clockKHz * 1e3,
    f16ClockKHz: f.clockKHz,
    f16Source: `${f.smCount} SMs x ${perCycle} FLOP/cycle x the maximum clock`,
  }
}

export function cudaPeaks(f: CudaPeakFacts): CudaPeaks {
  const [major = 0, minor = 0] = f.computeCapability.split('.').map(Number)
  const f32 = f.smCount * f32LanesPerSm(major, minor) * 2 * f.clockKHz * 1e3
  const bytes = (2 * f.memoryClockKHz * 1e3 * f.memoryBusWidthBits) / 8
  return {
    ...(f32 > 0 ? { f32FlopPerSecond: f32 } : {}),
    ...(bytes > 0 ? { bytesPerSecond: bytes } : {}),
    ...f16Peak(f, major, minor),
  }
}
