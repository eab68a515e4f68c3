/**
 * Random variates drawn from a seeded uniform source (`rng` below), so that every
 * bootstrap and every simulation can be replayed from its seed. Sources are plain closures
 * created per use; nothing is shared between two sources, so interleaving them cannot change
 * either's sequence.
 */

/** A seeded source of uniform values in [0, 1). */
export type Uniform = () => number

/** Seeded variates of several laws drawn from one uniform source. */
export interface Variates {
  readonly uniform: Uniform
  /** A standard normal variate. */
  normal(): number
  /** A Gamma(shape, 1) variate, shape > 0. */
  gamma(shape: number): number
  /** A Beta(a, b) variate, a > 0 and b > 0. */
  beta(a: number, b: number): number
}

/**
 * Variates from a uniform source. Normals come from the Box-Muller transform, both of each pair
 * used; Gamma variates from Marsaglia and Tsang's squeeze method (acceptance above 95% for shape
 * >= 1; shapes below 1 are boosted by one and corrected with a power of a uniform); Beta as the
 * ratio of two Gamma variates. Expected cost O(1) per variate for every shape.
 */
export function variates(uniform: Uniform): Variates {
  let spare = Number.NaN
  const normal = (): number => {
    if (!Number.isNaN(spare)) {
      const value = spare
      spare = Number.NaN
      return value
    }
    const radius = Math.sqrt(-2 * Math.log(1 - uniform())) // 1 - u is in (0, 1]: the log is finite
    const angle = 2 * Math.PI * uniform()
    spare = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }
  const gamma = (shape: number): number => {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma: shape must be positive, got ${shape}`)
    if (shape < 1) return gamma(shape + 1) * (1 - uniform()) ** (1 / shape)
    const d = shape - 1 / 3
    const c = 1 / Math.sqrt(9 * d)
    for (;;) {
      let x: number
      let v: number
      do {
        x = normal()
        v = 1 + c * x
      } while (v <= 0)
      v = v * v * v
      const u = 1 - uniform()
      const x2 = x * x
      if (u < 1 - 0.0331 * x2 * x2) return d * v
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v
    }
  }
  const beta = (a: number, b: number): number => {
    const x = gamma(a)
    return x / (x + gamma(b))
  }
  return { uniform, normal, gamma, beta }
}

/** mulberry32: a small, fast, seedable PRNG; good enough for test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
