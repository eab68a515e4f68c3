/**
 * Quantiles of the normal and Student's t distributions: the normal one to move a confidence
 * interval from one level to another (verdict.ts), the t one for the margin of error tinybench
 * reports (its `critical` field: the two-sided 95% critical value for n - 1 degrees of freedom).
 *
 * Normal CDF: Φ(z) = ½·(1 + erf(z/√2)), with erf from its series of positive terms
 * erf(x) = 2/√π · e^(-x²) · Σ 2ⁿ·x^(2n+1) / (2n+1)!!, accurate to rounding for the |z| < 9 met here.
 *
 * t CDF: from the regularised incomplete beta function, evaluated by its continued
 * fraction (modified Lentz); the quantile is found by bisection on the CDF to 1e-12, which is
 * plenty for a margin of error or a confidence level and cannot diverge (the normal quantile
 * likewise). Cost: about 60 CDF evaluations, each O(1)
 * amortised (the fraction converges in a few dozen terms for the arguments met here).
 */

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, nine terms; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  const z = x - 1
  let sum = c[0] as number
  for (let i = 1; i < c.length; i++) sum += (c[i] as number) / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

/** The regularised incomplete beta function I_x(a, b), x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x))
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a
  return 1 - (front * betaFraction(1 - x, b, a)) / b
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  d = 1 / (Math.abs(d) < tiny ? tiny : d)
  let result = d
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m
    // even step
    let step = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + step * d
    c = 1 + step / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    if (Math.abs(c) < tiny) c = tiny
    result *= d * c
    // odd step
    step = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + step * d
    c = 1 + step / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    if (Math.abs(c) < tiny) c = tiny
    const delta = d * c
    result *= delta
    if (Math.abs(delta - 1) < 1e-15) break
  }
  return result
}

/** P(T <= t) for Student's t with df > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** The p-quantile of Student's t with df > 0 degrees of freedom, p in (0, 1). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`)
  if (!(df > 0)) throw new RangeError(`studentTQuantile: df must be > 0, got ${df}`)
  if (p < 0.5) return -studentTQuantile(1 - p, df)
  let low = 0
  let high = 1
  while (studentTCdf(high, df) < p) high *= 2
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const mid = (low + high) / 2
    if (studentTCdf(mid, df) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}

/** erf(x), from a series of positive terms (no cancellation); |x| is capped at 6.5 where erf is 1 to double precision. */
export function erf(x: number): number {
  const ax = Math.min(Math.abs(x), 6.5)
  let term = ax
  let sum = ax
  for (let n = 1; n < 400 && term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1)
    sum += term
  }
  const value = Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum)
  return x < 0 ? -value : value
}

/** Φ(z), the standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2))
}

/** Φ⁻¹(p), the standard normal quantile, p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`)
  if (p < 0.5) return -normalQuantile(1 - p)
  let low = 0
  let high = 9
  for (let i = 0; i < 200 && high - low > 1e-13; i++) {
    const mid = (low + high) / 2
    if (normalCdf(mid) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}
